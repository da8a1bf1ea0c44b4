/**
 * Encoder-decoder capture: a GraphBuilder graph with an encoder self-attention layer, a causal
 * decoder self-attention layer and a cross-attention layer (decoder queries, softmax over encoder
 * keys), fed input_ids and decoder_input_ids. The engine's maps equal a plain-TypeScript
 * forward pass of the same weights; the CLI writes the cross layer as cross_0.npy [heads,
 * target, source].
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpy } from '../../server/capture/npy';
import { openOnnxModel } from '../../server/capture/onnxModel';
import type { LayerMap } from '../../server/capture/types';
import { captureToFolder, requestFromFlags } from '../../server/cli/captureRun';
import { GraphBuilder } from '../../server/onnx/graphBuilder';
import { torchStyleGraph } from '../helpers/attentionGraphs';
import { checkSegmentedCapture, maxDiff, segmentsOf, wholeGraphMaps } from '../helpers/segmentCheck';
import { checkBlockedCapture } from '../helpers/blockCheck';
import { headMat } from '../../webview/analysis/matrix';
import { headStats } from '../../webview/analysis/stats';
import { UserError } from '../../common/errors';

const V = 20;
const H = 2;
const DH = 3;
const D = H * DH;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}

type Mat = Float32Array;
interface Weights {
  embed: Mat;
  /** enc: encoder self, dec: decoder self, x: cross; each q, k, v, o of [D, D]. */
  w: Record<'enc' | 'dec' | 'x', Record<'q' | 'k' | 'v' | 'o', Mat>>;
}

function weights(): Weights {
  const r = rng(5);
  const m = (n: number, s: number) => Float32Array.from({ length: n }, () => r() * s);
  const block = () => ({ q: m(D * D, 0.9), k: m(D * D, 0.9), v: m(D * D, 0.5), o: m(D * D, 0.5) });
  return { embed: m(V * D, 1), w: { enc: block(), dec: block(), x: block() } };
}

function buildGraph(wt: Weights): Uint8Array {
  const g = new GraphBuilder('enc_dec', 17);
  const src = g.input('input_ids', 'int64', [1, 'source']);
  const tgt = g.input('decoder_input_ids', 'int64', [1, 'target']);
  const E = g.f32('embed', [V, D], wt.embed);
  const split = g.i64('split', [1, -1, H, DH]);
  const bh = g.i64('bh', [H, -1, DH]);
  const back = g.i64('back', [1, H, -1, DH]);
  const merged = g.i64('merged', [1, -1, D]);
  const sqrtD = g.scalar('sqrt_d', Math.sqrt(DH));
  const heads = (t: string) => g.node('Reshape', [g.node('Transpose', [g.node('Reshape', [t, split])], { attrs: { perm: [0, 2, 1, 3] } }), bh]);
  const W = (name: string, data: Mat) => g.f32(name, [D, D], data);
  const attend = (name: 'enc' | 'dec' | 'x', qIn: string, kvIn: string, mask?: string): string => {
    const w = wt.w[name];
    const q = heads(g.node('MatMul', [qIn, W(`${name}_q`, w.q)]));
    const k = heads(g.node('MatMul', [kvIn, W(`${name}_k`, w.k)]));
    const v = heads(g.node('MatMul', [kvIn, W(`${name}_v`, w.v)]));
    let scores = g.node('Div', [g.node('MatMul', [q, g.node('Transpose', [k], { attrs: { perm: [0, 2, 1] } })]), sqrtD]);
    if (mask) scores = g.node('Add', [scores, mask]);
    const p = g.node('Softmax', [scores], { attrs: { axis: 2 } });
    const ctx = g.node('Reshape', [g.node('Transpose', [g.node('Reshape', [g.node('MatMul', [p, v]), back])], { attrs: { perm: [0, 2, 1, 3] } }), merged]);
    return g.node('Add', [qIn, g.node('MatMul', [ctx, W(`${name}_o`, w.o)])]);
  };
  const x = attend('enc', g.node('Gather', [E, src], { attrs: { axis: 0 } }), g.node('Gather', [E, src], { attrs: { axis: 0 } }));
  // Causal mask over the target: -1e9 where key index > query index.
  const m = g.node('Gather', [g.node('Shape', [tgt]), g.i64('axis1', [1], [])], { attrs: { axis: 0 } });
  const r = g.node('Range', [g.i64('zero', [0], []), m, g.i64('one', [1], [])]);
  const future = g.node('Greater', [g.node('Unsqueeze', [r, g.i64('ax0', [0])]), g.node('Unsqueeze', [r, g.i64('ax1', [1])])]);
  const mask = g.node('Where', [future, g.scalar('neg', -1e9), g.scalar('zf', 0)]);
  const yIn = g.node('Gather', [E, tgt], { attrs: { axis: 0 } });
  const y = attend('dec', yIn, yIn, mask);
  const out = attend('x', y, x);
  g.node('Identity', [out], { outputs: ['hidden'] });
  g.output('hidden');
  return g.toBytes();
}

// ---- independent reference: plain loops over [tokens, D] row-major matrices ----

function matmul(a: Mat, rows: number, b: Mat): Mat {
  const out = new Float32Array(rows * D);
  for (let i = 0; i < rows; i++) for (let j = 0; j < D; j++) {
    let s = 0;
    for (let k = 0; k < D; k++) s += a[i * D + k] * b[k * D + j];
    out[i * D + j] = s;
  }
  return out;
}

/** Returns the probabilities [H, nq, nk] and the residual output. */
function attendRef(w: Record<'q' | 'k' | 'v' | 'o', Mat>, qIn: Mat, nq: number, kvIn: Mat, nk: number, causal: boolean): { p: Float64Array; out: Mat } {
  const q = matmul(qIn, nq, w.q);
  const k = matmul(kvIn, nk, w.k);
  const v = matmul(kvIn, nk, w.v);
  const p = new Float64Array(H * nq * nk);
  const ctx = new Float32Array(nq * D);
  for (let h = 0; h < H; h++) for (let i = 0; i < nq; i++) {
    const s: number[] = [];
    for (let j = 0; j < nk; j++) {
      let dot = 0;
      for (let d = 0; d < DH; d++) dot += q[i * D + h * DH + d] * k[j * D + h * DH + d];
      s.push(causal && j > i ? -Infinity : dot / Math.sqrt(DH));
    }
    const mx = Math.max(...s);
    const e = s.map((x) => Math.exp(x - mx));
    const z = e.reduce((a, b) => a + b, 0);
    for (let j = 0; j < nk; j++) {
      p[(h * nq + i) * nk + j] = e[j] / z;
      for (let d = 0; d < DH; d++) ctx[i * D + h * DH + d] += (e[j] / z) * v[j * D + h * DH + d];
    }
  }
  const o = matmul(ctx, nq, w.o);
  return { p, out: qIn.map((x, i) => x + o[i]) };
}

function reference(wt: Weights, src: number[], tgt: number[]): Float64Array[] {
  const emb = (ids: number[]) => {
    const out = new Float32Array(ids.length * D);
    ids.forEach((id, i) => out.set(wt.embed.subarray(id * D, id * D + D), i * D));
    return out;
  };
  const n = src.length;
  const m = tgt.length;
  const enc = attendRef(wt.w.enc, emb(src), n, emb(src), n, false);
  const dec = attendRef(wt.w.dec, emb(tgt), m, emb(tgt), m, true);
  const cross = attendRef(wt.w.x, dec.out, m, enc.out, n, false);
  return [enc.p, dec.p, cross.p];
}

describe('encoder-decoder capture (decoder_input_ids, cross-attention)', function () {
  this.timeout(60000);
  const dir = mkdtempSync(join(tmpdir(), 'attn-encdec-'));
  const file = join(dir, 'enc-dec.onnx');
  const wt = weights();
  const SRC = [3, 7, 1, 12, 5];
  const TGT = [9, 2, 15];
  before(() => writeFileSync(file, buildGraph(wt)));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('captures encoder self, decoder self and cross layers, equal to the reference', async () => {
    const model = await openOnnxModel(file, { executionProvider: 'cpu' });
    try {
      assert.deepEqual(model.info.layers.map((l) => [l.kind, l.heads]), [['self', H], ['self', H], ['cross', H]]);
      const maps: LayerMap[] = [];
      let started: unknown;
      const res = await model.capture({ ids: SRC, targetIds: TGT }, { onLayer: (m) => void maps.push(m), onTokens: (t, i, target) => (started = { t, i, target }) });
      assert.deepEqual(started, { t: SRC.map(String), i: SRC, target: { tokens: TGT.map(String), ids: TGT } });
      assert.deepEqual(res.targetIds, TGT);
      assert.deepEqual(maps.map((m) => [m.kind, m.heads, m.queries, m.keys]), [['self', H, 5, 5], ['self', H, 3, 3], ['cross', H, 3, 5]]);
      const ref = reference(wt, SRC, TGT);
      maps.forEach((m, i) => assert.ok(maxDiff(m.data, ref[i]) < 1e-5, `layer ${i} differs by ${maxDiff(m.data, ref[i])}`));
      // The cross rows are distributions over the source (keys), not over the target.
      for (let r = 0; r < H * 3; r++) assert.ok(Math.abs(maps[2].data.subarray(r * 5, r * 5 + 5).reduce((a, b) => a + b, 0) - 1) < 1e-5);
      // Decoder self-attention is causal: target 0 sees only itself.
      assert.ok(Math.abs(maps[1].data[0] - 1) < 1e-6);

      // Segments (encoder self, decoder self, cross), each run once: equal to one whole-graph run.
      await checkSegmentedCapture(model, { ids: SRC, targetIds: TGT }, await wholeGraphMaps(file, SRC, TGT));

      const same = await model.capture({ ids: SRC });
      assert.deepEqual(same.targetIds, SRC, 'without a target, the decoder reads the source ids');
      await assert.rejects(model.capture({ ids: SRC, targetIds: [V] }), /token id 20 is outside the vocabulary \(20 ids\)/);
      await assert.rejects(model.capture({ ids: SRC, targetText: 'hello' }), /no tokenizer\.json beside the model/);
    } finally {
      await model.dispose();
    }
  });

  it('by query blocks: each layer blocked by its own queries (source 10, target 7) equals the whole capture, and the CLI writes each .npy with its layer\'s shape', async () => {
    const src = [3, 7, 1, 12, 5, 2, 9, 4, 13, 6];
    const tgt = [9, 2, 15, 4, 1, 7, 3];
    const model = await openOnnxModel(file, { executionProvider: 'cpu' });
    let budget: number;
    let whole: LayerMap[];
    try {
      // Encoder self [10, 10], decoder self [7, 7] (it was laid out as [10, 10] before the open
      // probe told which input each site follows), cross [7, 10]; blocks of 3 rows of 10 keys.
      const checked = await checkBlockedCapture(model, { ids: src, targetIds: tgt }, 3);
      budget = checked.budget;
      whole = checked.whole.maps;
      assert.deepEqual(whole.map((m) => [m.queries, m.keys]), [[10, 10], [7, 7], [7, 10]]);
      const ref = reference(wt, src, tgt);
      checked.blocked.maps.forEach((m, i) => assert.ok(maxDiff(m.data, ref[i]) < 1e-5, `layer ${i} against the reference`));
    } finally {
      await model.dispose();
    }
    const out = join(dir, 'blocked-out');
    const o = await captureToFolder({ model: file, input: { ids: src, targetIds: tgt }, out, executionProvider: 'cpu', memoryBudgetBytes: budget });
    await o.model.dispose();
    assert.ok(segmentsOf(o.model).blockRuns.every((r) => r > 1), 'every layer ran by blocks');
    ['layer_0.npy', 'layer_1.npy', 'cross_0.npy'].forEach((name, i) => {
      const { shape, data } = readNpy(join(out, name));
      assert.deepEqual(shape, [H, whole[i].queries, whole[i].keys], name);
      assert.ok(maxDiff(data, whole[i].data) < 1e-6, name);
    });
  });

  it('refuses a target for a model without a decoder, in one line', async () => {
    const plain = join(dir, 'plain.onnx');
    writeFileSync(plain, torchStyleGraph({ layers: 1 }).bytes);
    const model = await openOnnxModel(plain, { executionProvider: 'cpu' });
    try {
      await assert.rejects(model.capture({ ids: [1, 2], targetIds: [1] }), (e: Error) => e instanceof UserError && /has no decoder_input_ids input/.test(e.message) && !e.message.includes('\n'));
      assert.equal((await model.capture({ ids: [1, 2] })).targetIds, undefined);
    } finally {
      await model.dispose();
    }
  });

  it('CLI: --target-ids writes cross_0.npy [heads, target, source] and the target in tokens.json', async () => {
    const out = join(dir, 'out');
    const req = requestFromFlags({ model: file, ids: SRC.join(','), 'target-ids': TGT.join(','), out, ep: 'cpu' }, 'capture');
    const o = await captureToFolder(req);
    await o.model.dispose();
    assert.deepEqual(o.files, ['layer_0.npy', 'layer_1.npy', 'cross_0.npy']);
    const cross = readNpy(join(out, 'cross_0.npy'));
    assert.deepEqual(cross.shape, [H, 3, 5]);
    assert.ok(maxDiff(cross.data, reference(wt, SRC, TGT)[2]) < 1e-5);
    assert.deepEqual(readNpy(join(out, 'layer_1.npy')).shape, [H, 3, 3]);
    const tokens = JSON.parse(readFileSync(join(out, 'tokens.json'), 'utf8'));
    assert.deepEqual([tokens.ids, tokens.targetIds], [SRC, TGT]);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    assert.deepEqual([summary.crossAttentionLayers, summary.selfAttentionLayers, summary.tokens, summary.targetTokens], [1, 2, 5, 3]);
    assert.ok(summary.peakRssBytes > 0);
    assert.ok(!existsSync(join(out, 'layer_2.npy')));
    // stats.json: one object per layer in graph order, the cross layer's from its [target, source] map.
    const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8')) as { layers: Record<string, number[]>[] };
    assert.equal(stats.layers.length, 3);
    for (let h = 0; h < H; h++) {
      const host = headStats(headMat(cross.data, h, 3, 5), 3);
      for (const key of ['entropy', 'distance', 'first', 'previous', 'self'] as const) {
        assert.ok(Math.abs(stats.layers[2][key][h] - host[key]) <= 1e-6 * Math.max(1, Math.abs(host[key])), `cross head ${h} ${key}`);
      }
    }
    assert.throws(() => requestFromFlags({ model: file, ids: '1', 'target-ids': '1', 'target-text': 'a', out }, 'capture'), /at most one of --target-text, --target-ids/);
    assert.throws(() => requestFromFlags({ model: file, ids: '1', 'target-ids': 'x', out }, 'capture'), /--target-ids needs comma-separated/);
  });
});
