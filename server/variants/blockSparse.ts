/**
 * Block-sparse attention by gathering: each block of B queries attends to its own list of K key
 * positions (window, global and random blocks), masked per position. Longformer and BigBird are
 * both this with different lists. Memory is [h, n/B, B, K] instead of [h, n, m]; the dense map is
 * only scattered out when asked for.
 */
import type { GraphBuilder } from '../onnx/graphBuilder';
import { finish, patternMask, scores, slice } from './graphParts';
import type { QKV } from './graphParts';
import type { BuiltVariant, VariantInputs } from './types';

export interface KeyLists {
  /** Queries per block. */
  block: number;
  /** Keys gathered per block. */
  perBlock: number;
  /** [blocks * perBlock] key positions in [0, m) (masked entries may hold anything in range). */
  index: Int32Array;
  /** [blocks * block * perBlock] 1 where query (block, row) may attend key (block, slot). */
  allow: Uint8Array;
  /** Queries that attend to every key (global tokens), computed as exact rows. */
  fullRows: number[];
}

/** Whether query i (position i + m - n) may see key j under the causal rule. */
export function visible(x: VariantInputs, i: number, j: number): boolean {
  return !x.causal || j <= i + x.m - x.n;
}

function constantZeros(g: GraphBuilder, dims: number[]): string {
  return g.node('ConstantOfShape', [g.i64('zshape', dims)], {
    attrs: { value: { tensor: { dataType: 1, dims: [1], floatData: [0] } } },
  });
}

function i64Fill(dims: number[], at: (flat: number) => number): BigInt64Array {
  const size = dims.reduce((a, b) => a * b, 1);
  const out = new BigInt64Array(size);
  for (let i = 0; i < size; i++) out[i] = BigInt(at(i));
  return out;
}

/** Exact attention rows for the given queries: replaces them in out (and map). */
function replaceFullRows(
  qkv: QKV, x: VariantInputs, rows: number[], out: string, map: string | undefined,
): { out: string; map?: string } {
  const { g } = qkv;
  const { heads: h, d, m } = x;
  const r = rows.length;
  const qr = g.node('Gather', [qkv.q, g.i64('rows', rows)], { attrs: { axis: 1 } });
  let s = scores(g, qr, qkv.k, 1 / Math.sqrt(d));
  if (x.causal) {
    const allow = new Uint8Array(r * m);
    rows.forEach((i, a) => { for (let j = 0; j < m; j++) allow[a * m + j] = visible(x, i, j) ? 1 : 0; });
    s = g.node('Add', [s, patternMask(g, allow, [r, m])]);
  }
  const p = g.node('Softmax', [s], { attrs: { axis: -1 } });
  const o = g.node('MatMul', [p, qkv.v]);
  const idxD = g.initializer('rows_d', 'int64', [h, r, d], i64Fill([h, r, d], (f) => rows[Math.floor(f / d) % r]));
  const newOut = g.node('ScatterElements', [out, idxD, o], { attrs: { axis: 1 } });
  if (!map) return { out: newOut };
  const idxM = g.initializer('rows_m', 'int64', [h, r, m], i64Fill([h, r, m], (f) => rows[Math.floor(f / m) % r]));
  return { out: newOut, map: g.node('ScatterElements', [map, idxM, p], { attrs: { axis: 1 } }) };
}

export function blockSparseAttend(
  qkv: QKV, x: VariantInputs, lists: KeyLists, keepMap: boolean, notes: string[], mapMeaning?: string,
): BuiltVariant {
  const { g } = qkv;
  const { heads: h, n, m, d } = x;
  const { block: B, perBlock: K } = lists;
  const nb = Math.ceil(n / B);
  const N = nb * B;
  const qp = N > n ? g.node('Pad', [qkv.q, g.i64('pads', [0, 0, 0, 0, N - n, 0])]) : qkv.q;
  const q4 = g.node('Reshape', [qp, g.i64('shape', [h, nb, B, d])]);
  const idx = g.initializer('key_index', 'int64', [nb, K], BigInt64Array.from(lists.index, (v) => BigInt(v)));
  const kg = g.node('Gather', [qkv.k, idx], { attrs: { axis: 1 } });
  const vg = g.node('Gather', [qkv.v, idx], { attrs: { axis: 1 } });
  const s = g.node('Add', [scores(g, q4, kg, 1 / Math.sqrt(d), 4), patternMask(g, lists.allow, [nb, B, K])]);
  const p = g.node('Softmax', [s], { attrs: { axis: -1 } });
  const o = g.node('Reshape', [g.node('MatMul', [p, vg]), g.i64('shape', [h, N, d])]);
  let out = N > n ? slice(g, o, 1, 0, n) : o;
  let map: string | undefined;
  if (keepMap) {
    // Duplicated or padded slots carry probability 0, so summing scatters is safe.
    const full = i64Fill([h, nb, B, K], (f) => lists.index[Math.floor(f / (B * K)) % nb * K + (f % K)]);
    const scat = g.node('ScatterElements', [constantZeros(g, [h, nb, B, m]), g.initializer('map_index', 'int64', [h, nb, B, K], full), p], {
      attrs: { axis: 3, reduction: 'add' },
    });
    map = g.node('Reshape', [scat, g.i64('shape', [h, N, m])]);
    if (N > n) map = slice(g, map, 1, 0, n);
  }
  if (lists.fullRows.length) ({ out, map } = replaceFullRows(qkv, x, lists.fullRows, out, map));
  return finish(qkv, out, map, notes, mapMeaning);
}

