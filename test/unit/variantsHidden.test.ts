/**
 * Hidden-state capture for the variants that read the token sequence (Mega, MoA, SwitchHead,
 * Lin et al.): the activation entering a layer's query projection, checked against values
 * computed here from the known weights (tiny-gpt's hand-set features, the test graphs' weights,
 * the Hugging Face reference forward pass), and Q against hidden @ Wq (+ bias).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import { readOnnxModel } from '../../server/onnx/modelFile';
import { compareVariants, extendInputs } from '../../server/variants/mechanismsRun';
import { openQkvSource, type CapturedLayer } from '../../server/variants/qkvCapture';
import { hfStyleGraph, referenceProbabilities, torchStyleGraph, type TinyTransformer } from '../helpers/attentionGraphs';
import { bertFixture, gpt2Fixture, llamaFixture } from '../helpers/hfFixtures';
import { bertReference, gpt2Reference, llamaReference } from '../helpers/hfReference';
import { maxDiff } from '../helpers/segmentCheck';
import { writeHfFolder, type Tensors } from '../helpers/writeCheckpoint';

const TINY = join(__dirname, '..', '..', 'samples', 'tiny-gpt');

async function captureLayer(path: string, layer: number, ids: number[]): Promise<CapturedLayer> {
  const src = await openQkvSource(path, layer, 'cpu');
  try {
    return await src.capture(ids);
  } finally {
    await src.dispose();
  }
}

/** Captured queries [heads, n, d] against factor · (hidden [n, D] @ W[:, cols] + b), W [D, width]. */
function queryGap(c: CapturedLayer, w: ArrayLike<number>, width: number, bias?: ArrayLike<number>): number {
  const { q, heads, n, d, hidden, dModel } = c.inputs;
  const D = dModel!;
  const factor = c.scale * Math.sqrt(d);
  let worst = 0;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < n; i++) {
      for (let e = 0; e < d; e++) {
        let s = bias ? bias[h * d + e] : 0;
        for (let j = 0; j < D; j++) s += hidden![i * D + j] * w[j * width + h * d + e];
        worst = Math.max(worst, Math.abs(q[(h * n + i) * d + e] - factor * s));
      }
    }
  }
  return worst;
}

function initializer(model: onnx.IModelProto, name: string): Float32Array {
  const t = model.graph!.initializer!.find((i) => i.name === name)!;
  if (t.floatData && t.floatData.length) return Float32Array.from(t.floatData);
  const raw = t.rawData!;
  return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
}

/** The residual stream entering layer 1 of a torch-style graph, from its weights and the reference probabilities. */
function torchLayer1Input(m: TinyTransformer, ids: number[]): Float64Array {
  const { dModel: D, embed, layers } = m.weights;
  const n = ids.length;
  const x = Float64Array.from({ length: n * D }, (_, k) => embed[ids[Math.floor(k / D)] * D + (k % D)]);
  const mm = (a: Float64Array, W: Float32Array) => Float64Array.from({ length: n * D }, (_, k) => {
    let s = 0;
    for (let j = 0; j < D; j++) s += a[Math.floor(k / D) * D + j] * W[j * D + (k % D)];
    return s;
  });
  const v = mm(x, layers[0].wv);
  const p = referenceProbabilities(m, ids)[0];
  const { heads: H, headDim: d } = m.weights;
  const ctx = new Float64Array(n * D);
  for (let h = 0; h < H; h++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let e = 0; e < d; e++) ctx[i * D + h * d + e] += p[(h * n + i) * n + j] * v[j * D + h * d + e];
  const out = mm(ctx, layers[0].wo);
  return x.map((xv, k) => xv + out[k]);
}

describe('hidden states for the variants that need them', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ai-hidden-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('tiny-gpt layer 0: the hand-set residual stream (constant, is-first, p, parity, Fourier, token one-hot), and Q = hidden @ Wq', async () => {
    const ids = [2, 10, 11, 12, 10, 11, 40];
    const c = await captureLayer(TINY, 0, ids);
    const D = c.inputs.dModel!;
    const V = (D - 34) / 2;
    assert.equal(D, 270);
    const want = new Float64Array(ids.length * D);
    ids.forEach((tok, p) => {
      const r = want.subarray(p * D, (p + 1) * D);
      r[0] = 1;
      r[1] = p === 0 ? 1 : 0;
      r[2] = p;
      r[3] = p % 2 === 0 ? 1 : -1;
      for (let k = 1; k <= 15; k++) {
        r[3 + k] = Math.cos((2 * Math.PI * k * p) / 32);
        r[18 + k] = Math.sin((2 * Math.PI * k * p) / 32);
      }
      r[34 + tok] = 1; // token one-hot; the previous-token block [34 + V, 34 + 2V) stays zero before layer 0
    });
    assert.ok(V > 100);
    assert.ok(maxDiff(c.inputs.hidden!, want) < 1e-5);
    const model = readOnnxModel(join(TINY, 'model.onnx')).model;
    const gap = queryGap(c, initializer(model, 'layers.0.attn.q_proj.weight'), c.inputs.heads * c.inputs.d);
    assert.ok(gap < 1e-3, `max |Δq| ${gap}`); // q entries reach ~30·√119, so this is ~1e-6 relative
    assert.ok(c.notes.some((s) => /hidden states \[7, 270\] taken from .*q_proj\/MatMul/.test(s)), c.notes.join('\n'));
  });

  it('torch-style graph layer 1 (residual after layer 0) and HF-style layer 0 (token + position + type embeddings)', async () => {
    const ids = [5, 1, 30, 7, 7, 12];
    const torch = torchStyleGraph({ seed: 11 });
    writeFileSync(join(dir, 'torch.onnx'), torch.bytes);
    const t = await captureLayer(join(dir, 'torch.onnx'), 1, ids);
    assert.equal(t.inputs.dModel, 8);
    assert.ok(maxDiff(t.inputs.hidden!, torchLayer1Input(torch, ids)) < 1e-5);
    assert.ok(queryGap(t, torch.weights.layers[1].wq, 8) < 1e-5);

    const hf = hfStyleGraph({ seed: 12 });
    writeFileSync(join(dir, 'hf.onnx'), hf.bytes);
    const h = await captureLayer(join(dir, 'hf.onnx'), 0, ids);
    const { embed, positions, tokenTypes } = hf.weights;
    const want = Float64Array.from({ length: ids.length * 8 }, (_, k) => {
      const [i, j] = [Math.floor(k / 8), k % 8];
      return embed[ids[i] * 8 + j] + positions![i * 8 + j] + tokenTypes![j];
    });
    assert.ok(maxDiff(h.inputs.hidden!, want) < 1e-5);
    assert.ok(queryGap(h, hf.weights.layers[0].wq, 8) < 1e-5);
  });

  it('Hugging Face gpt2 (fused c_attn, post-ln_1), bert (post-LN blocks) and llama (RoPE, grouped-query) layer 1 match the reference forward pass', async () => {
    const ids = [3, 17, 5, 0, 22, 9, 31, 5];
    const asW = (t: Tensors) => (name: string) => Float32Array.from(t[name].data);
    const g = gpt2Fixture();
    writeHfFolder(join(dir, 'gpt2'), g.config, g.tensors);
    const gc = await captureLayer(join(dir, 'gpt2'), 1, ids);
    const gref = gpt2Reference(g.config, asW(g.tensors), ids);
    assert.equal(gc.inputs.dModel, 16);
    assert.ok(maxDiff(gc.inputs.hidden!, gref.hidden[1]) < 1e-5, `gpt2 max |Δh| ${maxDiff(gc.inputs.hidden!, gref.hidden[1])}`);
    // Conv1D c_attn is [in, 3·out]; Q is its first third, with the first third of the bias.
    assert.ok(queryGap(gc, g.tensors['h.1.attn.c_attn.weight'].data, 48, g.tensors['h.1.attn.c_attn.bias'].data) < 1e-5);

    const b = bertFixture('bert');
    writeHfFolder(join(dir, 'bert'), b.config, b.tensors);
    const bc = await captureLayer(join(dir, 'bert'), 1, ids);
    const bref = bertReference(b.config, asW(b.tensors), ids);
    assert.ok(maxDiff(bc.inputs.hidden!, bref.hidden[1]) < 1e-5, `bert max |Δh| ${maxDiff(bc.inputs.hidden!, bref.hidden[1])}`);

    const l = llamaFixture({ heads: 4, kvHeads: 2 });
    writeHfFolder(join(dir, 'llama'), l.config, l.tensors);
    const lc = await captureLayer(join(dir, 'llama'), 1, ids);
    const lref = llamaReference(l.config, asW(l.tensors), ids);
    assert.ok(maxDiff(lc.inputs.hidden!, lref.hidden[1]) < 1e-5, `llama max |Δh| ${maxDiff(lc.inputs.hidden!, lref.hidden[1])}`);
  });

  it('mega and moa read the captured hidden states; without a constant projection they fall back and say so', async () => {
    const ids = [2, 10, 11, 12, 10, 11];
    const c = await captureLayer(TINY, 1, ids);
    const x = { ...c.inputs, seed: 7 };
    const { results } = await compareVariants(['mega', 'moa'], x, { executionProvider: 'cpu', repeats: 1 });
    for (const r of results) {
      assert.equal(r.error, undefined, `${r.id}: ${r.error}`);
      assert.ok(r.notes.some((s) => /the hidden states entering the layer/.test(s)), `${r.id}: ${r.notes.join('\n')}`);
      assert.ok(!r.notes.some((s) => /no hidden states captured/.test(s)), `${r.id}: ${r.notes.join('\n')}`);
    }

    // Layer 1's query weight made at run time (Abs of the initializer): no projection to walk back to.
    const torch = torchStyleGraph({ seed: 11 });
    const model = onnx.ModelProto.decode(torch.bytes);
    const mm = model.graph!.node!.find((n) => n.opType === 'MatMul' && n.input![1] === 'l1_wq')!;
    mm.input![1] = 'l1_wq_abs';
    model.graph!.node!.unshift(onnx.NodeProto.create({ opType: 'Abs', input: ['l1_wq'], output: ['l1_wq_abs'], name: 'abs_wq' }));
    writeFileSync(join(dir, 'opaque.onnx'), onnx.ModelProto.encode(model).finish());
    const o = await captureLayer(join(dir, 'opaque.onnx'), 1, ids);
    assert.equal(o.inputs.hidden, undefined);
    assert.ok(o.notes.some((s) => /^no hidden states: no projection with a constant weight/.test(s)), o.notes.join('\n'));
    const fb = await compareVariants(['mega'], { ...o.inputs, seed: 7 }, { executionProvider: 'cpu', repeats: 1 });
    assert.ok(fb.results[0].notes.some((s) => /no hidden states captured/.test(s)), fb.results[0].notes.join('\n'));
  });

  it('extendInputs carries hidden states the way it extends Q/K/V: rows tiled, or Gaussians of their RMS', async () => {
    const c = await captureLayer(TINY, 0, [2, 10, 11]);
    const x = { ...c.inputs, seed: 3 };
    const D = x.dModel!;
    const long = extendInputs(x, 8, 'repeat');
    assert.equal(long.dModel, D);
    assert.equal(long.hidden!.length, 8 * D);
    for (const i of [0, 3, 7]) assert.deepEqual(Array.from(long.hidden!.subarray(i * D, (i + 1) * D)), Array.from(x.hidden!.subarray((i % 3) * D, (i % 3 + 1) * D)));
    // Row 4 of the tiled queries is row 1 of the original, head by head, as for the hidden states.
    assert.deepEqual(Array.from(long.q.subarray(4 * x.d, 5 * x.d)), Array.from(x.q.subarray(x.d, 2 * x.d)));
    const rnd = extendInputs(x, 8, 'random');
    assert.equal(rnd.hidden!.length, 8 * D);
    const rms = (a: Float32Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
    assert.ok(Math.abs(rms(rnd.hidden!) / rms(x.hidden!) - 1) < 0.1);
    assert.deepEqual(Array.from(extendInputs(x, 8, 'random').hidden!), Array.from(rnd.hidden!));
    assert.equal(extendInputs({ ...x, hidden: undefined, dModel: undefined }, 8, 'repeat').hidden, undefined);
  });
});
