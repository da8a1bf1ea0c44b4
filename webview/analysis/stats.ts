/**
 * Per-head statistics of one attention map, each the mean over query rows of a per-row figure
 * (rows with no mass, e.g. after hiding special tokens, are left out):
 * - entropy: -sum_k a ln a, in nats (ln(i + 1) for a uniform causal row i; 0 for a one-hot row);
 * - distance: sum_k a |q - k|, in token positions, how far back (or ahead) the head looks;
 * - first: mass on the first key; previous: mass on key q - 1 (rows q >= 1); self: on key q;
 * - sparsity: share of the row's mass in its top-k keys (1 = all mass in k keys).
 * Positions are those of the matrix handed in: with special tokens hidden, "first" is the first
 * kept token and "previous" the previous kept one.
 */
import type { Mat } from './matrix';

export type StatKey = 'entropy' | 'distance' | 'first' | 'previous' | 'self' | 'sparsity';

export interface StatInfo {
  key: StatKey;
  label: string;
  description: string;
  /** Values lie in [0, 1] (shares of mass); otherwise the scale runs from 0 to the largest. */
  unit: boolean;
}

export const STATS: StatInfo[] = [
  { key: 'entropy', label: 'Entropy', description: 'mean row entropy in nats (low: focused, high: spread)', unit: false },
  { key: 'distance', label: 'Distance', description: 'mean attention distance |query - key| in tokens', unit: false },
  { key: 'first', label: 'First', description: 'mean mass on the first token (attention sink)', unit: true },
  { key: 'previous', label: 'Previous', description: 'mean mass on the previous token', unit: true },
  { key: 'self', label: 'Self', description: 'mean mass on the query token itself', unit: true },
  { key: 'sparsity', label: 'Top-k mass', description: 'mean share of mass in the top-k keys of a row', unit: true },
];

export type HeadStats = Record<StatKey, number>;

export interface HeadStatsRow extends HeadStats {
  layer: number;
  head: number;
}

export function headStats(m: Mat, topK: number): HeadStats {
  const sums: HeadStats = { entropy: 0, distance: 0, first: 0, previous: 0, self: 0, sparsity: 0 };
  let rows = 0;
  let prevRows = 0;
  let selfRows = 0;
  const k = Math.max(1, Math.floor(topK));
  const row = new Float64Array(m.cols);
  const top = new Float64Array(k);
  for (let q = 0; q < m.rows; q++) {
    let mass = 0;
    for (let c = 0; c < m.cols; c++) mass += m.data[q * m.cols + c];
    if (!(mass > 0)) continue;
    rows++;
    let h = 0;
    let d = 0;
    for (let c = 0; c < m.cols; c++) {
      const a = m.data[q * m.cols + c];
      row[c] = a;
      if (a > 0) h -= a * Math.log(a);
      d += a * Math.abs(q - c);
    }
    sums.entropy += h;
    sums.distance += d;
    sums.first += row[0];
    if (q >= 1 && q - 1 < m.cols) {
      sums.previous += row[q - 1];
      prevRows++;
    }
    if (q < m.cols) {
      sums.self += row[q];
      selfRows++;
    }
    sums.sparsity += topSum(row, k, top) / mass;
  }
  const mean = (s: number, n: number) => (n > 0 ? s / n : NaN);
  return {
    entropy: mean(sums.entropy, rows),
    distance: mean(sums.distance, rows),
    first: mean(sums.first, rows),
    previous: mean(sums.previous, prevRows),
    self: mean(sums.self, selfRows),
    sparsity: mean(sums.sparsity, rows),
  };
}

/** Sum of the k largest values, by insertion into a k-slot list (O(n k), no sort of the row). */
function topSum(row: Float64Array, k: number, top: Float64Array): number {
  top.fill(-Infinity);
  for (const a of row) {
    if (a <= top[k - 1]) continue;
    let i = k - 1;
    while (i > 0 && top[i - 1] < a) {
      top[i] = top[i - 1];
      i--;
    }
    top[i] = a;
  }
  let s = 0;
  for (const v of top) if (v > -Infinity) s += v;
  return s;
}
