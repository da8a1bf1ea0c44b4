/**
 * Reformer LSH attention (Kitaev et al. 2020, "Reformer: The Efficient Transformer", §2):
 * angular LSH h(x) = argmax([xR; -xR]) with a seeded random rotation R [d, buckets/2] per head,
 * queries and keys sorted by (bucket, position), cut into chunks of c, and each query chunk
 * attends to its own and the previous key chunk, only to keys of its own bucket. One hash round.
 * With sharedQK = 1 keys are the unit-normalised queries and attending to oneself is discouraged
 * with -1e5 as in the paper; with sharedQK = 0 the layer's own keys are hashed with the same R.
 * The map is the bucket co-membership (1 where query and key share a bucket).
 */
import type { GraphBuilder } from '../onnx/graphBuilder';
import { NEG, finish, qkvGraph, scores, slice, wantMap } from './graphParts';
import { gaussian, subSeed } from './rng';
import type { VariantInputs, VariantSpec } from './types';
import * as F from '../efficiency/formulas';
import { materialised } from './costModel';

function hash(g: GraphBuilder, t: string, rot: string | null, len: number, h: number): string {
  if (!rot) return g.i64('bucket0', new Array(h * len).fill(0), [h, len]);
  const xr = g.node('MatMul', [t, rot]);
  return g.node('ArgMax', [g.node('Concat', [xr, g.node('Neg', [xr])], { attrs: { axis: -1 } })], {
    attrs: { axis: -1, keepdims: 0 },
  });
}

/** Sorts by bucket then position: returns the permutation [h, len] (int64) and sorted buckets. */
function sortByBucket(g: GraphBuilder, bucket: string, len: number): { perm: string; sortedBucket: string } {
  const pos = g.f32('pos', [len], Float32Array.from({ length: len }, (_, i) => i));
  const key = g.node('Add', [g.node('Mul', [g.node('Cast', [bucket], { attrs: { to: 1 } }), g.scalar('len', len)]), pos]);
  const [, perm] = g.nodeN('TopK', [key, g.i64('k', [len])], { outputs: 2, attrs: { axis: -1, largest: 0, sorted: 1 } });
  return { perm, sortedBucket: g.node('GatherElements', [bucket, perm], { attrs: { axis: -1 } }) };
}

function gatherRows(g: GraphBuilder, t: string, perm: string, dims: number[]): string {
  const idx = g.node('Expand', [g.node('Unsqueeze', [perm, g.i64('ax', [-1])]), g.i64('shape', dims)]);
  return g.node('GatherElements', [t, idx], { attrs: { axis: 1 } });
}

export const reformerLsh: VariantSpec = {
  id: 'reformer-lsh',
  paper: 'Kitaev et al. 2020, Reformer: The Efficient Transformer',
  summary: 'Angular LSH buckets, sort, chunked attention within a bucket (own + previous chunk)',
  exact: false,
  sparse: true,
  defaults: { buckets: 8, chunk: 64, sharedQK: 0, map: 1 },
  aliases: [{ id: 'lsh', note: 'one id for the run and the estimate' }],
  cost: {
    name: 'LSH attention (Reformer)', source: 'Kitaev et al. 2020 (chunks of 64, 4 hash rounds)',
    defaults: () => ({ chunk: 64, rounds: 4 }),
    layer: (c, p) => {
      const keys = F.lshKeysPerQuery(c.m, p.chunk, p.rounds);
      const base = materialised(c, keys, c.kvHeads, c.m);
      const hashed = c.decode ? 1 : c.m;
      const hash = F.lshHashFlops(c.m, c.headDim, p.chunk, p.rounds) * (hashed / c.m);
      return { ...base, otherFlops: c.heads * hash, cacheElements: 2 * c.kvHeads * c.headDim * c.m };
    },
  },
  build(x: VariantInputs, params) {
    const { heads: h, n, m, d } = x;
    const buckets = Math.max(1, Math.floor(params.buckets ?? 8));
    if (buckets > 1 && buckets % 2) throw new Error(`reformer-lsh: buckets must be 1 or even, got ${buckets}`);
    const shared = (params.sharedQK ?? 0) !== 0 && n === m;
    const c = Math.max(1, Math.floor(params.chunk ?? 64));
    const qkv = qkvGraph('reformer_lsh', x);
    const { g } = qkv;
    let k = qkv.k;
    if (shared) {
      const norm = g.node('ReduceL2', [qkv.q, g.i64('axes', [-1])], { attrs: { keepdims: 1 } });
      k = g.node('Div', [qkv.q, g.node('Max', [norm, g.scalar('eps', 1e-8)])]);
    }
    const rot = buckets > 1
      ? g.f32('rotation', [h, d, buckets / 2], gaussian(h * d * (buckets / 2), subSeed(x.seed, 61)))
      : null;
    const qb = hash(g, qkv.q, rot, n, h);
    const kb = hash(g, k, rot, m, h);
    const qs = sortByBucket(g, qb, n);
    const ks = sortByBucket(g, kb, m);
    const nc = Math.ceil(Math.max(n, m) / c);
    const L = nc * c;
    const f = (t: string) => g.node('Cast', [t], { attrs: { to: 1 } });
    // Queries: pad to nc chunks. Keys: one chunk of padding in front (the "previous" of chunk 0).
    const padQ = (t: string, rank: number) => (L > n ? g.node('Pad', [t, g.i64('pads', padsFor(rank, L - n, 0))]) : t);
    const q4 = g.node('Reshape', [padQ(gatherRows(g, qkv.q, qs.perm, [h, n, d]), 3), g.i64('shape', [h, nc, c, d])]);
    const qPos = g.node('Reshape', [padQ(f(qs.perm), 2), g.i64('shape', [h, nc, c, 1])]);
    const qBk = g.node('Reshape', [padQ(f(qs.sortedBucket), 2), g.i64('shape', [h, nc, c, 1])]);
    const window = g.i64('window', Array.from({ length: nc * 2 * c }, (_, i) => Math.floor(i / (2 * c)) * c + (i % (2 * c))), [nc, 2 * c]);
    const padK = (t: string, rank: number, value: number) =>
      g.node('Pad', [t, g.i64('pads', padsFor(rank, L - m, c)), g.scalar('padv', value)]);
    const keyWin = (t: string, rank: number, value: number) => g.node('Gather', [padK(t, rank, value), window], { attrs: { axis: 1 } });
    const kw = keyWin(gatherRows(g, k, ks.perm, [h, m, d]), 3, 0);
    const vw = keyWin(gatherRows(g, qkv.v, ks.perm, [h, m, d]), 3, 0);
    const kPos = g.node('Unsqueeze', [keyWin(f(ks.perm), 2, -1), g.i64('ax', [2])]);
    const kBk = g.node('Unsqueeze', [keyWin(f(ks.sortedBucket), 2, -1), g.i64('ax', [2])]);
    let allow = g.node('And', [g.node('Equal', [qBk, kBk]), g.node('GreaterOrEqual', [kPos, g.scalar('zero', 0)])]);
    if (x.causal) allow = g.node('And', [allow, g.node('LessOrEqual', [kPos, g.node('Add', [qPos, g.scalar('shift', m - n)])])]);
    let s = g.node('Where', [allow, scores(g, q4, kw, 1 / Math.sqrt(d), 4), g.scalar('neg', NEG)]);
    if (shared) s = g.node('Where', [g.node('Equal', [kPos, qPos]), g.scalar('self', -1e5), s]);
    const any = f(g.node('ReduceMax', [f(allow), g.i64('axes', [-1])], { attrs: { keepdims: 1 } }));
    const p = g.node('Mul', [g.node('Softmax', [s], { attrs: { axis: -1 } }), any]);
    const oSorted = slice(g, g.node('Reshape', [g.node('MatMul', [p, vw]), g.i64('shape', [h, L, d])]), 1, 0, n);
    const idx = g.node('Expand', [g.node('Unsqueeze', [qs.perm, g.i64('ax', [-1])]), g.i64('shape', [h, n, d])]);
    const zeros = g.node('Mul', [qkv.q, g.scalar('zero', 0)]);
    const out = g.node('ScatterElements', [zeros, idx, oSorted], { attrs: { axis: 1 } });
    let map: string | undefined;
    if (wantMap(params)) {
      const same = g.node('Equal', [g.node('Unsqueeze', [qb, g.i64('ax', [-1])]), g.node('Unsqueeze', [kb, g.i64('ax', [-2])])]);
      map = f(same);
      if (x.causal) {
        const rows = g.f32('rows', [n, 1], Float32Array.from({ length: n }, (_, i) => i + m - n));
        const cols = g.f32('cols', [1, m], Float32Array.from({ length: m }, (_, j) => j));
        map = g.node('Mul', [map, f(g.node('LessOrEqual', [cols, rows]))]);
      }
    }
    return finish(qkv, out, map, [
      `${buckets} bucket(s), chunks of ${c}, 1 hash round, rotations seeded (seed ${x.seed}), ${shared ? 'shared QK (k = q/|q|)' : 'layer keys hashed with the same rotations'}`,
      'queries with no same-bucket key in their two chunks output 0',
    ], 'LSH bucket co-membership (1 = query and key share a bucket)');
  },
  flops: (n, m, d, h, p) => {
    const c = p.chunk ?? 64;
    const b = p.buckets ?? 8;
    return h * ((n + m) * d * b + 2 * (n + m) * Math.log2(n + m) + 4 * n * 2 * c * d + 6 * n * 2 * c);
  },
  memoryBytes: (n, m, d, h, p) => {
    const c = p.chunk ?? 64;
    return 4 * h * (2 * n * 2 * c + 4 * (n + m) * d + n * m * ((p.map ?? 1) ? 1 : 0));
  },
};

/** Pads for axis 1 of a rank-2 or rank-3 tensor: `before` at the start, `after` at the end. */
function padsFor(rank: number, after: number, before: number): number[] {
  const begin = new Array(rank).fill(0);
  const end = new Array(rank).fill(0);
  begin[1] = before;
  end[1] = after;
  return [...begin, ...end];
}
