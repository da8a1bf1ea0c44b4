/**
 * com.microsoft Attention / MultiHeadAttention (onnxruntime's optimized transformer graphs):
 * the expanded graph must compute what onnxruntime's own fused kernel computes (same hidden
 * states), and its probabilities must match softmax(q k^T / sqrt(d)) computed here, whole and
 * by query blocks.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { openModel } from '../../server/capture/openModel';
import type { LayerMap } from '../../server/capture/types';
import { expandFusedAttention } from '../../server/onnx/fusedAttention';
import { GraphBuilder } from '../../server/onnx/graphBuilder';
import { checkSegmentedCapture, wholeGraphMaps } from '../helpers/segmentCheck';
import { checkBlockedCapture } from '../helpers/blockCheck';

const D = 8;
const H = 2;
const d = D / H;
const V = 16;

function seeded(seed: number): () => number {
  let a = seed;
  return () => ((a = (a * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
}

interface Fused { bytes: Uint8Array; model: onnx.IModelProto; embed: Float32Array; wq: Float32Array; wk: Float32Array; bias: Float32Array }

/** One fused layer on embeddings: op 'Attention' (packed [D, 3D] weights) or 'MultiHeadAttention'. */
function fusedGraph(op: 'Attention' | 'MultiHeadAttention', causal: boolean): Fused {
  const next = seeded(op.length + (causal ? 1 : 0));
  const rand = (n: number, s = 0.6): Float32Array => Float32Array.from({ length: n }, () => next() * s);
  const embed = rand(V * D, 1);
  const wq = rand(D * D);
  const wk = rand(D * D);
  const wv = rand(D * D);
  const bias = rand(3 * D, 0.3);
  const g = new GraphBuilder(`ms_${op}`, 14);
  g.useDomain('com.microsoft', 1);
  const ids = g.input('input_ids', 'int64', [1, 'n']);
  const mask = g.input('attention_mask', 'int64', [1, 'n']);
  const x = g.node('Gather', [g.f32('embed', [V, D], embed), ids]);
  const attrs = { num_heads: H, ...(causal ? { unidirectional: 1 } : {}) };
  let y: string;
  if (op === 'Attention') {
    const packed = new Float32Array(D * 3 * D);
    for (let r = 0; r < D; r++) for (let c = 0; c < D; c++) {
      packed[r * 3 * D + c] = wq[r * D + c];
      packed[r * 3 * D + D + c] = wk[r * D + c];
      packed[r * 3 * D + 2 * D + c] = wv[r * D + c];
    }
    const maskIndex = g.node('Cast', [mask], { attrs: { to: onnx.TensorProto.DataType.INT32 } });
    y = g.node('Attention', [x, g.f32('qkv_w', [D, 3 * D], packed), g.f32('qkv_b', [3 * D], bias), maskIndex], { domain: 'com.microsoft', attrs });
  } else {
    const proj = (w: Float32Array, name: string): string => g.node('MatMul', [x, g.f32(name, [D, D], w)]);
    const kpm = g.node('Cast', [mask], { attrs: { to: onnx.TensorProto.DataType.INT32 } });
    y = g.node('MultiHeadAttention', [proj(wq, 'wq'), proj(wk, 'wk'), proj(wv, 'wv'), g.f32('qkv_b', [3 * D], bias), kpm], { domain: 'com.microsoft', attrs });
  }
  g.node('Add', [x, y], { outputs: ['hidden'] });
  g.output('hidden');
  return { bytes: g.toBytes(), model: g.toModel(), embed, wq, wk, bias };
}

function referenceProbs(f: Fused, ids: number[], causal: boolean): Float64Array {
  const n = ids.length;
  const proj = (w: Float32Array, off: number): Float64Array => {
    const out = new Float64Array(n * D);
    for (let i = 0; i < n; i++) for (let c = 0; c < D; c++) {
      let s = f.bias[off + c];
      for (let r = 0; r < D; r++) s += f.embed[ids[i] * D + r] * w[r * D + c];
      out[i * D + c] = s;
    }
    return out;
  };
  const q = proj(f.wq, 0);
  const k = proj(f.wk, D);
  const p = new Float64Array(H * n * n);
  for (let h = 0; h < H; h++) for (let i = 0; i < n; i++) {
    const row = Array.from({ length: n }, (_, j) => {
      if (causal && j > i) return -Infinity;
      let s = 0;
      for (let c = 0; c < d; c++) s += q[i * D + h * d + c] * k[j * D + h * d + c];
      return s / Math.sqrt(d);
    });
    const max = Math.max(...row);
    const e = row.map((s) => Math.exp(s - max));
    const sum = e.reduce((a, b) => a + b, 0);
    e.forEach((v, j) => (p[h * n * n + i * n + j] = v / sum));
  }
  return p;
}

describe('com.microsoft fused attention', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ai-fused-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const [op, causal] of [['Attention', true], ['Attention', false], ['MultiHeadAttention', false], ['MultiHeadAttention', true]] as const) {
    it(`${op}${causal ? ' (unidirectional)' : ''}: expanded graph equals the fused kernel, probabilities equal the reference`, async () => {
      const f = fusedGraph(op, causal);
      const ids = [3, 0, 15, 7, 7, 9];
      const feeds = {
        input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
        attention_mask: new ort.Tensor('int64', BigInt64Array.from(ids.map(() => 1n)), [1, ids.length]),
      };
      const fused = await ort.InferenceSession.create(f.bytes);
      const expanded = await ort.InferenceSession.create(onnx.ModelProto.encode(expandFusedAttention(f.model, 'm.onnx')).finish());
      const a = (await fused.run(feeds)).hidden.data as Float32Array;
      const b = (await expanded.run(feeds)).hidden.data as Float32Array;
      await fused.release();
      await expanded.release();
      a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-4, `hidden ${i}: fused ${v} vs expanded ${b[i]}`));

      const file = join(dir, `${op}-${causal}.onnx`);
      writeFileSync(file, f.bytes);
      const m = await openModel(file, { executionProvider: 'cpu' });
      const maps: LayerMap[] = [];
      await m.capture({ ids }, { onLayer: (x) => void maps.push(x) });
      // After the rewrite the model runs as segments too: the same map as one whole-graph run.
      await checkSegmentedCapture(m, { ids }, await wholeGraphMaps(file, ids));
      // By query blocks (rows 0-3, 4-5): the unidirectional mask must follow each block's rows.
      await checkBlockedCapture(m, { ids }, 4);
      await m.dispose();
      assert.equal(maps.length, 1);
      assert.deepEqual([maps[0].heads, maps[0].queries, maps[0].keys], [H, ids.length, ids.length]);
      const ref = referenceProbs(f, ids, causal);
      maps[0].data.forEach((v, i) => assert.ok(Math.abs(v - ref[i]) < 1e-5, `p ${i}: ${v} vs ${ref[i]}`));
    });
  }
});
