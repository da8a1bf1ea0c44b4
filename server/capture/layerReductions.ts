/**
 * One layer's reductions as the engine hands them to its callers, from the graph's outputs
 * (server/capture/reductions.ts) or, where a model cannot carry them (layer-by-layer
 * checkpoints, graphs below opset 11), computed here from the full map the same way.
 */
import type * as ort from 'onnxruntime-node';
import { poolMaps } from '../lsp/pooling';
import type { LayerMap } from './types';

export interface HeadStatistics {
  entropy: number[];
  distance: number[];
  first: number[];
  previous: number[];
  self: number[];
  /** Share of each row's mass in its top-k keys, mean over rows. */
  topk: number[];
}

export interface LayerReductions {
  index: number;
  kind: 'self' | 'cross';
  heads: number;
  queries: number;
  keys: number;
  /** Per head, means over query rows (docs/views.md); NaN where no row counts (previous of one row). */
  stats: HeadStatistics;
  topK: number;
  /** [heads, keys]: the mass each key receives, mean over queries. */
  columnMeans: Float32Array;
  /** Block maxima [heads, rows, cols] and the mean over heads and block [rows, cols], pool > 1 only. */
  pooled?: { pool: number; rows: number; cols: number; max: Float32Array; headMean: Float32Array };
}

const STAT_KEYS = ['entropy', 'distance', 'first', 'previous', 'self', 'topk'] as const;

/** Rows each statistic is a mean over (previous: rows q >= 1 with key q - 1; self: rows with key q). */
function rowCounts(queries: number, keys: number): number[] {
  const rows = queries;
  return [rows, rows, rows, Math.max(0, Math.min(queries, keys + 1) - 1), Math.min(queries, keys), rows];
}

function statsFromSums(sums: ArrayLike<number>, heads: number, queries: number, keys: number): HeadStatistics {
  const counts = rowCounts(queries, keys);
  const out = Object.fromEntries(STAT_KEYS.map((k) => [k, [] as number[]])) as unknown as HeadStatistics;
  for (let h = 0; h < heads; h++) {
    STAT_KEYS.forEach((key, j) => out[key].push(counts[j] > 0 ? sums[h * 6 + j] / counts[j] : NaN));
  }
  return out;
}

/** Cell counts of a pooled map's blocks (edge blocks are smaller). */
function blockCounts(queries: number, keys: number, pool: number): { rows: number; cols: number; count: (r: number, c: number) => number } {
  const rows = Math.ceil(queries / pool);
  const cols = Math.ceil(keys / pool);
  return { rows, cols, count: (r, c) => (Math.min(queries, (r + 1) * pool) - r * pool) * (Math.min(keys, (c + 1) * pool) - c * pool) };
}

/** From the reduced outputs of one site's segment. */
export function fromGraph(
  site: { index: number; kind: 'self' | 'cross' },
  shape: { heads: number; queries: number; keys: number },
  extra: Record<string, ort.Tensor>,
  topK: number,
  pool: number,
): LayerReductions {
  const { heads, queries, keys } = shape;
  const colsum = extra.colsum.data as Float32Array;
  const columnMeans = new Float32Array(colsum.length);
  for (let i = 0; i < colsum.length; i++) columnMeans[i] = colsum[i] / queries;
  const result: LayerReductions = {
    ...site, heads, queries, keys, topK, columnMeans,
    stats: statsFromSums(extra.stats.data as Float64Array, heads, queries, keys),
  };
  if (extra.pooled && pool > 1) {
    const { rows, cols, count } = blockCounts(queries, keys, pool);
    const sum = extra.headsum.data as Float32Array;
    const headMean = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) headMean[r * cols + c] = sum[r * cols + c] / (heads * count(r, c));
    result.pooled = { pool, rows, cols, max: extra.pooled.data as Float32Array, headMean };
  }
  return result;
}

/** The same figures from a full map on the host (float64 sums). */
export function fromMap(map: LayerMap, topK: number, pool: number): LayerReductions {
  const { heads, queries: Q, keys: K, data } = map;
  const sums = new Float64Array(heads * 6);
  const columns = new Float64Array(heads * K);
  const k = Math.max(1, Math.min(K, Math.floor(topK)));
  const row = new Float64Array(K);
  for (let h = 0; h < heads; h++) {
    for (let q = 0; q < Q; q++) {
      const base = (h * Q + q) * K;
      let mass = 0;
      let ent = 0;
      let dist = 0;
      for (let c = 0; c < K; c++) {
        const a = data[base + c];
        row[c] = a;
        mass += a;
        if (a > 0) ent -= a * Math.log(a);
        dist += a * Math.abs(q - c);
        columns[h * K + c] += a;
      }
      const s = h * 6;
      sums[s] += ent;
      sums[s + 1] += dist;
      sums[s + 2] += row[0];
      if (q >= 1 && q - 1 < K) sums[s + 3] += row[q - 1];
      if (q < K) sums[s + 4] += row[q];
      const top = Array.from(row).sort((a, b) => b - a).slice(0, k).reduce((a, b) => a + b, 0);
      sums[s + 5] += mass > 0 ? top / mass : 0;
    }
  }
  const columnMeans = new Float32Array(heads * K);
  for (let i = 0; i < columns.length; i++) columnMeans[i] = columns[i] / Q;
  const result: LayerReductions = {
    index: map.index, kind: map.kind, heads, queries: Q, keys: K, topK, columnMeans,
    stats: statsFromSums(sums, heads, Q, K),
  };
  if (pool > 1) {
    const p = poolMaps(data, heads, Q, K, pool);
    const headMean = new Float32Array(p.rows * p.cols);
    for (let h = 0; h < heads; h++) for (let i = 0; i < headMean.length; i++) headMean[i] += p.mean[h * headMean.length + i] / heads;
    result.pooled = { pool, rows: p.rows, cols: p.cols, max: p.max, headMean };
  }
  return result;
}

/** stats.json's per-layer object: one value per head for each statistic (NaN written as null). */
export function statsJson(r: LayerReductions): Record<string, (number | null)[]> {
  const clean = (xs: number[]) => xs.map((x) => (Number.isFinite(x) ? x : null));
  return { entropy: clean(r.stats.entropy), distance: clean(r.stats.distance), first: clean(r.stats.first), previous: clean(r.stats.previous), self: clean(r.stats.self) };
}
