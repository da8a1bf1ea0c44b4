/**
 * FlashAttention forward pass (Dao et al. 2022, "FlashAttention: Fast and Memory-Efficient Exact
 * Attention with IO-Awareness", Algorithm 1): keys and values are visited tile by tile and the
 * softmax is kept as a running row max M and row sum L, rescaling the accumulator by
 * exp(M_old - M_new) whenever the max grows. The tile loop is unrolled into the ONNX graph, so
 * the largest live score block is [h, queryTile, keyTile] instead of [h, n, m]. Exact.
 */
import type { GraphBuilder } from '../onnx/graphBuilder';
import { after, causal, finish, qkvGraph, rowMax, rowSum, scores, slice, wantMap } from './graphParts';
import type { VariantInputs, VariantSpec } from './types';
import * as F from '../efficiency/formulas';
import { configuredKeys, materialised } from './costModel';

/** Scaled (and causally masked) scores of one tile; null when the tile is entirely masked. */
export function tileScores(
  g: GraphBuilder, q: string, k: string, x: VariantInputs, row0: number, rows: number, col0: number, cols: number, deps: string[] = [],
): string | null {
  if (x.causal && col0 > row0 + rows - 1 + (x.m - x.n)) return null;
  const kt = slice(g, k, 1, col0, col0 + cols);
  let s = scores(g, q, deps.length ? after(g, kt, ...deps) : kt, 1 / Math.sqrt(x.d));
  const needsMask = x.causal && col0 + cols - 1 > row0 + (x.m - x.n);
  if (needsMask) s = causal(g, s, x, row0, rows, col0, cols);
  return s;
}

export function flashBlock(g: GraphBuilder, q: string, k: string, v: string, x: VariantInputs, row0: number, rows: number, keyTile: number, keepMap: boolean) {
  let M = '';
  let L = '';
  let acc = '';
  const kept: string[] = [];
  let covered = 0;
  for (let c0 = 0; c0 < x.m; c0 += keyTile) {
    const cols = Math.min(keyTile, x.m - c0);
    const s = tileScores(g, q, k, x, row0, rows, c0, cols, acc ? [acc, L] : []);
    if (!s) break;
    covered = c0 + cols;
    if (keepMap) kept.push(s);
    const vt = slice(g, v, 1, c0, c0 + cols);
    const mt = rowMax(g, s);
    if (!M) {
      M = mt;
      const p = g.node('Exp', [g.node('Sub', [s, M])]);
      L = rowSum(g, p);
      acc = g.node('MatMul', [p, vt]);
      continue;
    }
    const mNew = g.node('Max', [M, mt]);
    const alpha = g.node('Exp', [g.node('Sub', [M, mNew])]);
    const p = g.node('Exp', [g.node('Sub', [s, mNew])]);
    L = g.node('Add', [g.node('Mul', [L, alpha]), rowSum(g, p)]);
    acc = g.node('Add', [g.node('Mul', [acc, alpha]), g.node('MatMul', [p, vt])]);
    M = mNew;
  }
  const out = g.node('Div', [acc, L]);
  let map: string | undefined;
  if (keepMap) {
    const s = kept.length === 1 ? kept[0] : g.node('Concat', kept, { attrs: { axis: -1 } });
    map = g.node('Div', [g.node('Exp', [g.node('Sub', [s, M])]), L]);
    if (covered < x.m) {
      map = g.node('Pad', [map, g.i64('pads', [0, 0, 0, 0, 0, x.m - covered])]);
    }
  }
  return { out, map };
}

export const flash: VariantSpec = {
  id: 'flash',
  paper: 'Dao et al. 2022, FlashAttention: Fast and Memory-Efficient Exact Attention with IO-Awareness',
  summary: 'Exact attention over key tiles with an online softmax (running max and sum rescaling)',
  exact: true,
  sparse: false,
  defaults: { keyTile: 512, queryTile: 0, map: 1 },
  cost: {
    name: 'FlashAttention', source: 'Dao et al. 2022, Theorem 2',
    defaults: () => ({}),
    layer: (c) => {
      const keys = configuredKeys(c);
      const base = materialised(c, keys, c.kvHeads);
      const d = c.headDim;
      const core = c.heads * F.flashAttentionHbmElements(c.n, keys, d, c.sramElements) - (c.heads - c.kvHeads) * 2 * keys * d;
      return { ...base, coreElements: core, matrixElements: c.heads * F.flashAttentionExtraElements(c.n) };
    },
  },
  build(x, params) {
    const keyTile = Math.max(1, Math.floor(params.keyTile ?? 512));
    const queryTile = Math.floor(params.queryTile ?? 0) || x.n;
    const qkv = qkvGraph('flash', x);
    const { g } = qkv;
    const outs: string[] = [];
    const maps: string[] = [];
    for (let r0 = 0; r0 < x.n; r0 += queryTile) {
      const rows = Math.min(queryTile, x.n - r0);
      const qs = rows === x.n ? qkv.q : slice(g, qkv.q, 1, r0, r0 + rows);
      const qt = outs.length ? after(g, qs, outs[outs.length - 1]) : qs;
      const b = flashBlock(g, qt, qkv.k, qkv.v, x, r0, rows, keyTile, wantMap(params));
      outs.push(b.out);
      if (b.map) maps.push(b.map);
    }
    const cat = (t: string[]) => (t.length === 1 ? t[0] : g.node('Concat', t, { attrs: { axis: 1 } }));
    return finish(qkv, cat(outs), maps.length ? cat(maps) : undefined, [
      `key tiles of ${keyTile}, query tiles of ${queryTile}; tile loop unrolled in the graph`,
      ...(wantMap(params) ? ['map rebuilt from kept tile scores with the final max and sum (costs n·m memory)'] : []),
    ]);
  },
  flops: (n, m, d, h) => h * (4 * n * m * d + 7 * n * m),
  memoryBytes: (n, m, d, h, p) => {
    const bq = p.queryTile || n;
    const bk = Math.min(p.keyTile || 512, m);
    // Unfused ONNX ops: scores, shifted scores and their exp of one tile are live together.
    return 4 * h * (3 * bq * bk + 2 * n * d + 2 * n);
  },
};
