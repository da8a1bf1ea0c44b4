/**
 * `internals` and `ablate` against independent computations: for Hugging Face GPT-2, BERT and
 * grouped-query Llama folders (built as ONNX by the runtime) and for real torch.onnx.export
 * graphs, softmax(q·kᵀ·scale + mask) from q.npy/k.npy/internals.json equals the map a capture
 * writes; value_norms.npy equals ‖α·v·W_O[h]‖ computed in float64 from the safetensors
 * weights (test/helpers/hfReference.ts); the mixing ratio equals its float64 definition; each
 * head's ablation KL (or relative L2 for encoders) equals the reference pass with that head zeroed.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readNpy } from '../../server/capture/npy';
import { openModel } from '../../server/capture/openModel';
import type { LayerMap } from '../../server/capture/types';
import { run as ablateCli } from '../../server/cli/ablate';
import { run as internalsCli } from '../../server/cli/internals';
import { bertFixture, gpt2Fixture, llamaFixture, type HfConfig } from '../helpers/hfFixtures';
import { bertReference, gpt2Reference, llamaReference, type RefOptions, type RefOutput } from '../helpers/hfReference';
import { maxDiff } from '../helpers/segmentCheck';
import { checkpointsFolder, writeHfFolder, type Tensors } from '../helpers/writeCheckpoint';

const checkpoints = checkpointsFolder('head-internals-');

const quiet = async <T>(f: () => Promise<T>): Promise<T> => {
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    return await f();
  } finally {
    process.stdout.write = write;
  }
};

async function capturedMaps(model: string, ids: number[]): Promise<LayerMap[]> {
  const m = await openModel(model, { executionProvider: 'cpu' });
  try {
    const maps: LayerMap[] = [];
    await m.capture({ ids }, { onLayer: (x) => void maps.push(x) });
    return maps;
  } finally {
    await m.dispose();
  }
}

interface Internals {
  q: Float32Array;
  k: Float32Array;
  norms?: Float32Array;
  meta: { layer: number; heads: number; dHead: number; scale: number; causal: boolean; window?: number; mixingRatio?: number[] };
}

async function internals(model: string, ids: number[], layer: number): Promise<Internals> {
  const out = join(checkpoints.path, `int-${Math.random().toString(36).slice(2)}`);
  await quiet(() => internalsCli(['--model', model, '--ids', ids.join(','), '--layer', String(layer), '--out', out, '--ep', 'cpu']));
  const meta = JSON.parse(readFileSync(join(out, 'internals.json'), 'utf8'));
  const q = readNpy(join(out, 'q.npy'));
  const k = readNpy(join(out, 'k.npy'));
  assert.deepEqual(q.shape, [meta.heads, ids.length, meta.dHead]);
  assert.deepEqual(k.shape, q.shape);
  let norms: Float32Array | undefined;
  try {
    norms = readNpy(join(out, 'value_norms.npy')).data;
  } catch {
    norms = undefined;
  }
  return { q: q.data, k: k.data, norms, meta };
}

/** softmax(q·kᵀ·scale + mask) in float64, causal mask when the layer is causal. */
function mapFrom(x: Internals, n: number): Float64Array {
  const { heads, dHead: d, scale, causal, window } = x.meta;
  const out = new Float64Array(heads * n * n);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < n; i++) {
      const row = new Float64Array(n).fill(-Infinity);
      for (let j = 0; j < n; j++) {
        if ((causal && j > i) || (window !== undefined && j <= i - window)) continue;
        let s = 0;
        for (let c = 0; c < d; c++) s += x.q[(h * n + i) * d + c] * x.k[(h * n + j) * d + c];
        row[j] = s * scale;
      }
      const mx = Math.max(...row);
      let z = 0;
      for (let j = 0; j < n; j++) z += (row[j] = Math.exp(row[j] - mx));
      for (let j = 0; j < n; j++) out[(h * n + i) * n + j] = row[j] / z;
    }
  }
  return out;
}

interface HfCase {
  name: string;
  config: HfConfig;
  tensors: Tensors;
  reference: (c: HfConfig, w: (n: string) => Float32Array, ids: number[], o?: RefOptions) => RefOutput;
  /** f_h(v) = v · W_O[h] as a function of the layer, head, value slice and output index. */
  outWeight: (l: number) => { w: Float32Array; layout: 'outIn' | 'inOut' };
  heads: number;
  kvHeads: number;
  d: number;
  dModel: number;
  causal: boolean;
}

const ids = [3, 17, 5, 0, 22, 9, 31, 5, 12];

function hfCases(): HfCase[] {
  const g = gpt2Fixture();
  const b = bertFixture('bert');
  const l = llamaFixture({ heads: 4, kvHeads: 2 });
  return [
    { name: 'gpt2', ...g, reference: gpt2Reference, outWeight: (i) => ({ w: g.tensors[`h.${i}.attn.c_proj.weight`].data, layout: 'inOut' }), heads: 4, kvHeads: 4, d: 4, dModel: 16, causal: true },
    { name: 'bert', ...b, reference: bertReference, outWeight: (i) => ({ w: b.tensors[`encoder.layer.${i}.attention.output.dense.weight`].data, layout: 'outIn' }), heads: 2, kvHeads: 2, d: 8, dModel: 16, causal: false },
    { name: 'llama-gqa', ...l, reference: llamaReference, outWeight: (i) => ({ w: l.tensors[`model.layers.${i}.self_attn.o_proj.weight`].data, layout: 'outIn' }), heads: 4, kvHeads: 2, d: 4, dModel: 16, causal: true },
  ];
}

/** ‖v_h(x_k) · W_O[h]‖ in float64 from the reference's values and the stored weights: [heads, T]. */
function referenceValueNorms(c: HfCase, ref: RefOutput, l: number, T: number): Float64Array {
  const { heads, kvHeads, d, dModel } = c;
  const { w, layout } = c.outWeight(l);
  const out = new Float64Array(heads * T);
  for (let h = 0; h < heads; h++) {
    const kvh = Math.floor(h / (heads / kvHeads));
    for (let k = 0; k < T; k++) {
      let s = 0;
      for (let o = 0; o < dModel; o++) {
        let f = 0;
        for (let cc = 0; cc < d; cc++) {
          const wi = layout === 'outIn' ? w[o * heads * d + h * d + cc] : w[(h * d + cc) * dModel + o];
          f += ref.v[l][k * kvHeads * d + kvh * d + cc] * wi;
        }
        s += f * f;
      }
      out[h * T + k] = Math.sqrt(s);
    }
  }
  return out;
}

/** The mixing ratio's definition in float64 from the reference pass. */
function referenceMixing(c: HfCase, ref: RefOutput, l: number, T: number): Float64Array {
  const { heads, kvHeads, d, dModel } = c;
  const { w, layout } = c.outWeight(l);
  const out = new Float64Array(T);
  for (let i = 0; i < T; i++) {
    const mix = new Float64Array(dModel);
    const keep = Float64Array.from(ref.stream[l].subarray(i * dModel, (i + 1) * dModel));
    for (let h = 0; h < heads; h++) {
      const kvh = Math.floor(h / (heads / kvHeads));
      for (let j = 0; j < T; j++) {
        const a = ref.attn[l][(h * T + i) * T + j];
        for (let o = 0; o < dModel; o++) {
          let f = 0;
          for (let cc = 0; cc < d; cc++) f += ref.v[l][j * kvHeads * d + kvh * d + cc] * (layout === 'outIn' ? w[o * heads * d + h * d + cc] : w[(h * d + cc) * dModel + o]);
          (j === i ? keep : mix)[o] += a * f;
        }
      }
    }
    const na = Math.hypot(...mix);
    const nb = Math.hypot(...keep);
    out[i] = na / (na + nb);
  }
  return out;
}

function klLast(p: Float64Array, q: Float64Array, T: number): number {
  const V = p.length / T;
  const ls = (x: Float64Array) => {
    const r = x.subarray((T - 1) * V);
    const mx = Math.max(...r);
    const lz = mx + Math.log(r.reduce((a, b) => a + Math.exp(b - mx), 0));
    return Array.from(r, (v) => v - lz);
  };
  const lp = ls(p);
  const lq = ls(q);
  return lp.reduce((a, v, i) => a + Math.exp(v) * (v - lq[i]), 0);
}

function relL2(a: Float64Array, b: Float64Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (b[i] - a[i]) ** 2;
    den += a[i] ** 2;
  }
  return Math.sqrt(num / den);
}

describe('head internals: queries, keys, value-weighted norms and ablation', () => {
  for (const c of hfCases()) {
    it(`${c.name}: softmax(q·kᵀ·scale + mask) equals the captured map; value norms and mixing ratio equal float64 from the weights`, async () => {
      const dir = join(checkpoints.path, c.name);
      writeHfFolder(dir, c.config, c.tensors, {});
      const maps = await capturedMaps(dir, ids);
      const ref = c.reference(c.config, (n) => c.tensors[n].data, ids);
      for (let l = 0; l < maps.length; l++) {
        const x = await internals(dir, ids, l);
        assert.equal(x.meta.heads, c.heads);
        assert.equal(x.meta.dHead, c.d);
        assert.equal(x.meta.causal, c.causal);
        assert.ok(Math.abs(x.meta.scale - 1 / Math.sqrt(c.d)) < 1e-7, `${c.name} layer ${l}: scale ${x.meta.scale}`);
        const diff = maxDiff(mapFrom(x, ids.length), maps[l].data);
        assert.ok(diff < 1e-5, `${c.name} layer ${l}: softmax(q·kᵀ·scale) differs from the captured map by ${diff}`);
        const norms = referenceValueNorms(c, ref, l, ids.length);
        const want = ref.attn[l].map((a, i) => a * norms[Math.floor(i / (ids.length * ids.length)) * ids.length + (i % ids.length)]);
        assert.ok(x.norms, `${c.name}: value_norms.npy written`);
        const vd = maxDiff(x.norms, want);
        assert.ok(vd < 1e-5, `${c.name} layer ${l}: value-weighted norms differ by ${vd}`);
        const mix = referenceMixing(c, ref, l, ids.length);
        assert.ok(x.meta.mixingRatio, `${c.name}: mixing ratio written`);
        const md = maxDiff(x.meta.mixingRatio, mix);
        assert.ok(md < 1e-5, `${c.name} layer ${l}: mixing ratio differs by ${md}`);
      }
    });

    it(`${c.name}: ablating each head matches the reference pass with that head zeroed`, async () => {
      const dir = join(checkpoints.path, `${c.name}-ablate`);
      writeHfFolder(dir, c.config, c.tensors, {});
      const out = join(dir, 'out');
      await quiet(() => ablateCli(['--model', dir, '--ids', ids.join(','), '--out', out, '--ep', 'cpu', '--rerun', 'from-layer']));
      const wholeOut = join(dir, 'whole');
      await quiet(() => ablateCli(['--model', dir, '--ids', ids.join(','), '--out', wholeOut, '--ep', 'cpu', '--rerun', 'whole']));
      const whole = JSON.parse(readFileSync(join(wholeOut, 'ablation.json'), 'utf8')) as { layers: number[][] };
      const res = JSON.parse(readFileSync(join(out, 'ablation.json'), 'utf8')) as { position: number; layers: number[][]; metric: string; notes: string[] };
      assert.equal(res.position, ids.length - 1);
      // Layers after the first ran from their stored residual stream: the values below check that path.
      assert.ok(res.notes.some((n) => /re-ran only the layers from the head's on/.test(n)), res.notes.join(' | '));
      assert.equal(res.metric, c.causal ? 'kl' : 'relL2');
      const w = (n: string) => c.tensors[n].data;
      const full = c.reference(c.config, w, ids);
      assert.equal(res.layers.length, full.attn.length);
      res.layers.forEach((row, l) => {
        assert.equal(row.length, c.heads);
        row.forEach((got, h) => {
          const abl = c.reference(c.config, w, ids, { ablate: { layer: l, head: h } });
          const want = c.causal ? klLast(full.logits, abl.logits, ids.length) : relL2(full.last, abl.last);
          assert.ok(want > 1e-4, `${c.name} layer ${l} head ${h}: the fixture head matters (${want})`);
          assert.ok(Math.abs(got - want) <= 1e-4 * want, `${c.name} layer ${l} head ${h}: ${got} vs reference ${want} (rel ${Math.abs(got - want) / want})`);
          assert.ok(Math.abs(whole.layers[l][h] - got) <= 1e-6 * want, `${c.name} layer ${l} head ${h}: whole-graph ${whole.layers[l][h]} vs from-layer ${got}`);
        });
      });
    });
  }

  it('mistral with a sliding window: internals.json names the window and the masked softmax equals the captured map', async () => {
    const { config, tensors } = llamaFixture({ modelType: 'mistral', heads: 4, kvHeads: 1, extra: { sliding_window: 3 } }, 4);
    const dir = join(checkpoints.path, 'mistral');
    writeHfFolder(dir, config, tensors, {});
    const maps = await capturedMaps(dir, ids);
    for (let l = 0; l < maps.length; l++) {
      const x = await internals(dir, ids, l);
      assert.equal(x.meta.window, 3);
      const diff = maxDiff(mapFrom(x, ids.length), maps[l].data);
      assert.ok(diff < 1e-5, `mistral layer ${l}: differs by ${diff}`);
    }
  });

  for (const name of ['gpt2-eager', 'bert-eager', 'llama-gqa-sdpa']) {
    it(`torch export ${name}: softmax(q·kᵀ·scale + mask) equals the captured map and PyTorch's`, async () => {
      const dir = join(__dirname, '..', 'fixtures', 'torch-exports', name);
      const { ids: tids } = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { ids: number[] };
      const maps = await capturedMaps(join(dir, 'model.onnx'), tids);
      for (let l = 0; l < 2; l++) {
        const x = await internals(join(dir, 'model.onnx'), tids, l);
        assert.equal(x.meta.heads, 4);
        const got = mapFrom(x, tids.length);
        const d1 = maxDiff(got, maps[l].data);
        const d2 = maxDiff(got, readNpy(join(dir, `torch_layer_${l}.npy`)).data);
        assert.ok(d1 < 1e-5 && d2 < 1e-5, `${name} layer ${l}: differs from the capture by ${d1}, from PyTorch by ${d2}`);
        assert.ok(x.norms && x.norms.every((v) => Number.isFinite(v) && v >= 0));
      }
    });
  }
});
