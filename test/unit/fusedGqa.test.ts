/**
 * com.microsoft GroupQueryAttention (Llama / Mistral / Qwen style exports from onnxruntime-genai):
 * the expanded graph must compute what onnxruntime's own CPU kernel computes (output and present
 * key/value), and the captured probabilities must equal softmax(rope(q) rope(k)^T / sqrt(d))
 * with grouped KV heads and a causal / local-window mask, computed here in plain TypeScript.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { buildFeeds, planFeeds } from '../../server/capture/onnxFeeds';
import { openModel } from '../../server/capture/openModel';
import type { LayerMap } from '../../server/capture/types';
import { expandFusedAttention } from '../../server/onnx/fusedAttention';
import { GraphBuilder, type AttrValue } from '../../server/onnx/graphBuilder';
import { checkSegmentedCapture, wholeGraphMaps } from '../helpers/segmentCheck';
import { checkBlockedCapture } from '../helpers/blockCheck';
import { UserError } from '../../common/errors';

const E = 16; // model width
const H = 4;
const KVH = 2;
// onnxruntime's CPU kernel needs head_size % 16 == 0 with do_rotary ("head_size shall be a multiple of 16").
const d = 16;
const V = 20;
const MAX_POS = 16;
const ids = [3, 0, 15, 7, 7, 9, 19];
const PAST_NAMES: [string, string] = ['past_key_values.0.key', 'past_key_values.0.value'];

interface Config { label: string; rotary?: 'halves' | 'interleaved'; window?: number; softcap?: number; packed?: boolean; pastNames?: [string, string] }

interface Built { bytes: Uint8Array; model: onnx.IModelProto; embed: Float32Array; wq: Float32Array; wk: Float32Array; cos: Float32Array; sin: Float32Array }

function seeded(seed: number): () => number {
  let a = seed;
  return () => ((a = (a * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
}

/** Row-major [rows, cols] x [cols, n] in float64. */
function matmul(a: ArrayLike<number>, b: ArrayLike<number>, rows: number, cols: number, n: number): Float64Array {
  const out = new Float64Array(rows * n);
  for (let i = 0; i < rows; i++) for (let c = 0; c < n; c++) {
    let s = 0;
    for (let r = 0; r < cols; r++) s += a[i * cols + r] * b[r * n + c];
    out[i * n + c] = s;
  }
  return out;
}

function build(c: Config, seed: number): Built {
  const next = seeded(seed);
  const rand = (n: number, s = 0.7): Float32Array => Float32Array.from({ length: n }, () => next() * s);
  const embed = rand(V * E, 1);
  const wq = rand(E * H * d);
  const wk = rand(E * KVH * d);
  const wv = rand(E * KVH * d);
  const wo = rand(H * d * E);
  // Standard RoPE tables: angle p * 10000^(-2i/d) for i < d/2.
  const cos = new Float32Array(MAX_POS * (d / 2));
  const sin = new Float32Array(MAX_POS * (d / 2));
  for (let p = 0; p < MAX_POS; p++) for (let i = 0; i < d / 2; i++) {
    cos[p * (d / 2) + i] = Math.cos(p * 10000 ** (-2 * i / d));
    sin[p * (d / 2) + i] = Math.sin(p * 10000 ** (-2 * i / d));
  }
  const g = new GraphBuilder('gqa', 17);
  g.useDomain('com.microsoft', 1);
  const input = g.input('input_ids', 'int64', [1, 'n']);
  g.input('attention_mask', 'int64', [1, 'n']);
  const [pkName, pvName] = c.pastNames ?? PAST_NAMES;
  const pk = g.input(pkName, 'float32', [1, KVH, 'past', d]);
  const pv = g.input(pvName, 'float32', [1, KVH, 'past', d]);
  const seqlens = g.input('seqlens_k', 'int32', [1]);
  const total = g.input('total_sequence_length', 'int32', []);
  const x = g.node('Gather', [g.f32('embed', [V, E], embed), input]);
  const q = g.node('MatMul', [x, g.f32('wq', [E, H * d], wq)]);
  const k = g.node('MatMul', [x, g.f32('wk', [E, KVH * d], wk)]);
  const v = g.node('MatMul', [x, g.f32('wv', [E, KVH * d], wv)]);
  const qkv = c.packed ? [g.node('Concat', [q, k, v], { attrs: { axis: -1 } }), '', ''] : [q, k, v];
  const rope = c.rotary ? [g.f32('cos_cache', [MAX_POS, d / 2], cos), g.f32('sin_cache', [MAX_POS, d / 2], sin)] : [];
  const attrs: Record<string, AttrValue> = { num_heads: H, kv_num_heads: KVH };
  if (c.rotary) Object.assign(attrs, { do_rotary: 1, rotary_interleaved: c.rotary === 'interleaved' ? 1 : 0 });
  if (c.window !== undefined) attrs.local_window_size = c.window;
  if (c.softcap) attrs.softcap = { float: c.softcap };
  g.node('GroupQueryAttention', [...qkv, pk, pv, seqlens, total, ...rope], {
    domain: 'com.microsoft', attrs, name: 'gqa0', outputs: ['attn', 'present.0.key', 'present.0.value'],
  });
  g.node('Add', [x, g.node('MatMul', ['attn', g.f32('wo', [H * d, E], wo)])], { outputs: ['hidden'] });
  g.output('hidden');
  g.output('present.0.key');
  g.output('present.0.value');
  return { bytes: g.toBytes(), model: g.toModel(), embed, wq, wk, cos, sin };
}

/** softmax(rope(q) rope(k)^T / sqrt(d) [softcapped] + mask) per query head, [H, n, n]. */
function reference(b: Built, c: Config): Float64Array {
  const n = ids.length;
  const x = new Float64Array(n * E);
  ids.forEach((id, i) => x.set(b.embed.subarray(id * E, (id + 1) * E), i * E));
  const q = matmul(x, b.wq, n, E, H * d);
  const k = matmul(x, b.wk, n, E, KVH * d);
  const rope = (m: Float64Array, heads: number): void => {
    if (!c.rotary) return;
    for (let p = 0; p < n; p++) for (let h = 0; h < heads; h++) {
      const base = p * heads * d + h * d;
      const src = m.slice(base, base + d);
      for (let i = 0; i < d / 2; i++) {
        const [ia, ib] = c.rotary === 'interleaved' ? [2 * i, 2 * i + 1] : [i, i + d / 2];
        const co = b.cos[p * (d / 2) + i];
        const si = b.sin[p * (d / 2) + i];
        m[base + ia] = src[ia] * co - src[ib] * si;
        m[base + ib] = src[ib] * co + src[ia] * si;
      }
    }
  };
  rope(q, H);
  rope(k, KVH);
  const p = new Float64Array(H * n * n);
  for (let h = 0; h < H; h++) for (let i = 0; i < n; i++) {
    const kh = Math.floor(h / (H / KVH));
    const row = Array.from({ length: n }, (_, j) => {
      if (j > i || (c.window !== undefined && j <= i - c.window)) return -Infinity;
      let s = 0;
      for (let t = 0; t < d; t++) s += q[i * H * d + h * d + t] * k[j * KVH * d + kh * d + t];
      s /= Math.sqrt(d);
      return c.softcap ? c.softcap * Math.tanh(s / c.softcap) : s;
    });
    const max = Math.max(...row);
    const e = row.map((s) => Math.exp(s - max));
    const sum = e.reduce((a, v) => a + v, 0);
    e.forEach((v, j) => (p[h * n * n + i * n + j] = v / sum));
  }
  return p;
}

function feeds(c: Config): Record<string, ort.Tensor> {
  const n = ids.length;
  const [pkName, pvName] = c.pastNames ?? PAST_NAMES;
  return {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, n]),
    attention_mask: new ort.Tensor('int64', BigInt64Array.from(ids.map(() => 1n)), [1, n]),
    [pkName]: new ort.Tensor('float32', new Float32Array(0), [1, KVH, 0, d]),
    [pvName]: new ort.Tensor('float32', new Float32Array(0), [1, KVH, 0, d]),
    seqlens_k: new ort.Tensor('int32', Int32Array.of(n - 1), [1]),
    total_sequence_length: new ort.Tensor('int32', Int32Array.of(n), []),
  };
}

const CONFIGS: Config[] = [
  { label: 'plain causal' },
  { label: 'rotary (halves), local window 3', rotary: 'halves', window: 3 },
  { label: 'rotary (interleaved), softcap 2', rotary: 'interleaved', softcap: 2 },
  // past_value_0 is fed as an empty cache only by the "float input named *past*" rule.
  { label: 'packed QKV, rotary, window 2', rotary: 'halves', window: 2, packed: true, pastNames: ['past_key_0', 'past_value_0'] },
];

describe('com.microsoft GroupQueryAttention', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ai-gqa-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  CONFIGS.forEach((c, ci) => {
    it(`${c.label}: expanded graph equals the fused kernel, captured maps equal the reference`, async () => {
      const b = build(c, 11 + ci);
      const fused = await ort.InferenceSession.create(b.bytes);
      const expanded = await ort.InferenceSession.create(onnx.ModelProto.encode(expandFusedAttention(b.model, 'm.onnx')).finish());
      const want = await fused.run(feeds(c));
      const got = await expanded.run(feeds(c));
      await fused.release();
      await expanded.release();
      for (const name of ['hidden', 'present.0.key', 'present.0.value']) {
        assert.deepEqual(got[name].dims, want[name].dims, name);
        const a = want[name].data as Float32Array;
        const e = got[name].data as Float32Array;
        a.forEach((v, i) => assert.ok(Math.abs(v - e[i]) < 1e-4, `${name} ${i}: fused ${v} vs expanded ${e[i]}`));
      }

      const file = join(dir, `gqa-${ci}.onnx`);
      writeFileSync(file, b.bytes);
      const m = await openModel(file, { executionProvider: 'cpu' });
      const maps: LayerMap[] = [];
      await m.capture({ ids }, { onLayer: (x) => void maps.push(x) });
      await checkSegmentedCapture(m, { ids }, await wholeGraphMaps(file, ids));
      // By query blocks of 3 rows (3, 3, 1): causal and window masks follow each block's rows.
      await checkBlockedCapture(m, { ids }, 3);
      await m.dispose();
      const n = ids.length;
      assert.equal(maps.length, 1);
      assert.deepEqual([maps[0].heads, maps[0].queries, maps[0].keys], [H, n, n]);
      const ref = reference(b, c);
      maps[0].data.forEach((v, i) => assert.ok(Math.abs(v - ref[i]) < 1e-5, `p ${i}: ${v} vs ${ref[i]}`));
      for (let r = 0; r < H * n; r++) {
        const sum = maps[0].data.slice(r * n, (r + 1) * n).reduce((a, v) => a + v, 0);
        assert.ok(Math.abs(sum - 1) < 1e-5, `row ${r} sums to ${sum}`);
      }
      if (c.window !== undefined) assert.equal(maps[0].data[(n - 1) * n], 0, 'the first key is outside the last query\'s window');
    });
  });

  it('feeds empty caches, seqlens_k = n - 1 and total_sequence_length = n', () => {
    const b = build({ label: 'x', pastNames: ['past_key_0', 'past_value_0'] }, 3);
    const f = buildFeeds(planFeeds(b.model, 'm.onnx'), ids, 'm.onnx');
    for (const name of ['past_key_0', 'past_value_0']) {
      assert.deepEqual([f[name].type, f[name].dims], ['float32', [1, KVH, 0, d]], name);
    }
    assert.deepEqual([f.seqlens_k.type, f.seqlens_k.dims, Array.from(f.seqlens_k.data as Int32Array)], ['int32', [1], [ids.length - 1]]);
    assert.deepEqual([f.total_sequence_length.type, f.total_sequence_length.dims, Array.from(f.total_sequence_length.data as Int32Array)], ['int32', [], [ids.length]]);
  });

  it('refuses an unsupported configuration (smooth_softmax) in one line naming the file and node', () => {
    const b = build({ label: 'x' }, 5);
    const gqa = b.model.graph!.node!.find((nd) => nd.opType === 'GroupQueryAttention')!;
    gqa.attribute!.push({ name: 'smooth_softmax', type: onnx.AttributeProto.AttributeType.INT, i: 1 });
    assert.throws(() => expandFusedAttention(b.model, 'llama.onnx'), (e: Error) =>
      e instanceof UserError && !e.message.includes('\n')
      && e.message.startsWith('llama.onnx: fused attention op com.microsoft.GroupQueryAttention (node gqa0) with smooth_softmax: not supported yet'));
  });
});
