/**
 * The GPT-2-small-shaped benchmark model, built small (1-2 layers, 64 positions): the shapes
 * of GPT-2 small, weights ~N(0, 0.02) from the seed, causal probabilities only when asked for.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { makeGpt2SmallShaped } from '../../samples/scripts/make-bench-model';

/** A copy: decoded rawData may be a view into a larger, unaligned buffer. */
const floats = (t: onnx.ITensorProto) => new Float32Array(Uint8Array.from(t.rawData!).buffer);

/** Layer 0's probabilities from the published GPT-2 equations, in plain TypeScript. */
function gpt2Layer0(model: onnx.IModelProto, ids: number[]): Float32Array {
  const w = new Map(model.graph!.initializer!.map((t) => [t.name!, floats(t)]));
  const [D, H, dh, n] = [768, 12, 64, ids.length];
  const wte = w.get('transformer.wte.weight')!;
  const wpe = w.get('transformer.wpe.weight')!;
  const cAttn = w.get('transformer.h.0.attn.c_attn.weight')!;
  const qkv = new Float64Array(n * 3 * D);
  for (let t = 0; t < n; t++) {
    const x = Array.from({ length: D }, (_, i) => wte[ids[t] * D + i] + wpe[t * D + i]);
    const mean = x.reduce((a, b) => a + b, 0) / D;
    const variance = x.reduce((a, b) => a + (b - mean) ** 2, 0) / D;
    const ln = x.map((v) => (v - mean) / Math.sqrt(variance + 1e-5)); // gamma 1, beta 0
    for (let o = 0; o < 3 * D; o++) {
      let acc = 0;
      for (let i = 0; i < D; i++) acc += ln[i] * cAttn[i * 3 * D + o];
      qkv[t * 3 * D + o] = acc; // bias 0
    }
  }
  const probs = new Float32Array(H * n * n);
  for (let h = 0; h < H; h++) {
    for (let q = 0; q < n; q++) {
      const scores = [];
      for (let k = 0; k <= q; k++) {
        let dot = 0;
        for (let e = 0; e < dh; e++) dot += qkv[q * 3 * D + h * dh + e] * qkv[k * 3 * D + D + h * dh + e];
        scores.push(dot / Math.sqrt(dh));
      }
      const max = Math.max(...scores);
      const exps = scores.map((s) => Math.exp(s - max));
      const z = exps.reduce((a, b) => a + b, 0);
      exps.forEach((e, k) => (probs[(h * n + q) * n + k] = e / z));
    }
  }
  return probs;
}

describe('GPT-2-small-shaped benchmark model', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'bench-model-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('has GPT-2 small shapes and seeded ~N(0, 0.02) weights', async () => {
    const file = await makeGpt2SmallShaped(dir, { layers: 1, maxPositions: 64, vocab: 100, seed: 3 });
    const model = onnx.ModelProto.decode(readFileSync(file));
    const inits = new Map(model.graph!.initializer!.map((t) => [t.name!, t]));
    assert.deepEqual(inits.get('transformer.h.0.attn.c_attn.weight')!.dims!.map(Number), [768, 2304]);
    assert.deepEqual(inits.get('transformer.h.0.mlp.c_fc.weight')!.dims!.map(Number), [768, 3072]);
    assert.deepEqual(inits.get('transformer.wpe.weight')!.dims!.map(Number), [64, 768]);
    assert.deepEqual(model.graph!.output!.map((o) => o.name), ['logits']);
    const w = floats(inits.get('transformer.h.0.mlp.c_fc.weight')!);
    let sum = 0;
    let sq = 0;
    let beyond2sd = 0;
    for (const x of w) {
      sum += x;
      sq += x * x;
      if (Math.abs(x) > 0.04) beyond2sd++;
    }
    const mean = sum / w.length;
    const sd = Math.sqrt(sq / w.length - mean * mean);
    assert.ok(Math.abs(mean) < 1e-4, `mean ${mean}`);
    assert.ok(Math.abs(sd - 0.02) < 2e-4, `sd ${sd}`);
    // A normal has 4.55 % beyond two standard deviations; the four-uniform sum has ~3.9 %.
    assert.ok(Math.abs(beyond2sd / w.length - 0.045) < 0.01, `tail ${beyond2sd / w.length}`);

    const again = await makeGpt2SmallShaped(join(dir, 'again'), { layers: 1, maxPositions: 64, vocab: 100, seed: 3 });
    assert.ok(readFileSync(again).equals(readFileSync(file)), 'same seed, same bytes');
    const other = await makeGpt2SmallShaped(dir, { layers: 1, maxPositions: 64, vocab: 100, seed: 4 });
    assert.ok(!readFileSync(other).equals(readFileSync(file)), 'another seed, other weights');
  });

  it('exposes causal probabilities [1, 12, n, n] when asked', async () => {
    const file = await makeGpt2SmallShaped(dir, { layers: 2, maxPositions: 64, vocab: 100, exposeProbabilities: true });
    const session = await ort.InferenceSession.create(file);
    try {
      assert.equal(session.outputNames.length, 3);
      const n = 20;
      const ids = Array.from({ length: n }, (_, i) => (i * 13) % 100);
      const out = await session.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, n]) });
      assert.deepEqual(out.logits.dims, [1, n, 100]);
      for (const name of session.outputNames.slice(1)) {
        const t = out[name];
        assert.deepEqual(t.dims, [1, 12, n, n]);
        const p = t.data as Float32Array;
        for (let r = 0; r < 12 * n; r++) {
          const q = r % n;
          let s = 0;
          for (let k = 0; k < n; k++) {
            if (k > q) assert.equal(p[r * n + k], 0);
            s += p[r * n + k];
          }
          assert.ok(Math.abs(s - 1) < 1e-5);
        }
      }
      const expected = gpt2Layer0(onnx.ModelProto.decode(readFileSync(file)), ids);
      const got = out[session.outputNames[1]].data as Float32Array;
      let worst = 0;
      expected.forEach((e, i) => (worst = Math.max(worst, Math.abs(e - got[i]))));
      assert.ok(worst < 1e-4, `layer 0 differs from the GPT-2 equations by ${worst}`);
    } finally {
      await session.release();
    }
  });
});
