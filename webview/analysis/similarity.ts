/**
 * Head redundancy (after Ni et al. 2023, "Finding the Pillars of Strength for Multi-Head
 * Attention"): heads whose maps on the same text are alike do the same job, and can be grouped.
 * Similarity between two heads' maps is either the cosine of the flattened maps or
 * 1 - the mean over query rows of the Jensen-Shannon divergence (base 2, so in [0, 1]) of the
 * two rows; groups come from average-linkage agglomerative clustering on 1 - similarity,
 * merged until `groups` clusters remain or no pair is closer than 1 - `minSimilarity`.
 */
import type { Mat } from './matrix';

export type SimilarityMetric = 'cosine' | 'js';

export function cosineSimilarity(a: Mat, b: Mat): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.data.length; i++) {
    dot += a.data[i] * b.data[i];
    na += a.data[i] * a.data[i];
    nb += b.data[i] * b.data[i];
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

function kl2(p: number, m: number): number {
  return p > 0 ? p * Math.log2(p / m) : 0;
}

/** 1 - mean JS divergence of matching rows; rows empty in both maps are left out. */
export function jsSimilarity(a: Mat, b: Mat): number {
  let sum = 0;
  let rows = 0;
  for (let r = 0; r < a.rows; r++) {
    let sa = 0;
    let sb = 0;
    for (let c = 0; c < a.cols; c++) {
      sa += a.data[r * a.cols + c];
      sb += b.data[r * a.cols + c];
    }
    if (!(sa > 0) && !(sb > 0)) continue;
    let js = 0;
    for (let c = 0; c < a.cols; c++) {
      const p = sa > 0 ? a.data[r * a.cols + c] / sa : 0;
      const q = sb > 0 ? b.data[r * a.cols + c] / sb : 0;
      const m = (p + q) / 2;
      js += 0.5 * kl2(p, m) + 0.5 * kl2(q, m);
    }
    sum += Math.min(1, Math.max(0, js));
    rows++;
  }
  return rows > 0 ? 1 - sum / rows : 0;
}

/** Symmetric [n, n] similarity of n same-shaped maps. */
export function similarityMatrix(maps: Mat[], metric: SimilarityMetric): Float64Array {
  const n = maps.length;
  const out = new Float64Array(n * n);
  const f = metric === 'cosine' ? cosineSimilarity : jsSimilarity;
  for (let i = 0; i < n; i++) {
    out[i * n + i] = 1;
    for (let j = i + 1; j < n; j++) {
      if (maps[i].rows !== maps[j].rows || maps[i].cols !== maps[j].cols) throw new Error('similarity: maps differ in shape');
      out[i * n + j] = out[j * n + i] = f(maps[i], maps[j]);
    }
  }
  return out;
}

/**
 * Average-linkage agglomerative clustering of n items from a similarity matrix. Stops at
 * `groups` clusters, or earlier when the closest pair of clusters is less similar (on average)
 * than `minSimilarity`. Clusters come back largest first, members in index order.
 */
export function clusterBySimilarity(sim: Float64Array, n: number, opts: { groups?: number; minSimilarity?: number }): number[][] {
  let clusters = Array.from({ length: n }, (_, i) => [i]);
  const target = Math.max(1, opts.groups ?? 1);
  const floor = opts.minSimilarity ?? -Infinity;
  const link = (a: number[], b: number[]) => {
    let s = 0;
    for (const i of a) for (const j of b) s += sim[i * n + j];
    return s / (a.length * b.length);
  };
  while (clusters.length > target) {
    let best = -Infinity;
    let bi = -1;
    let bj = -1;
    for (let i = 0; i < clusters.length; i++) for (let j = i + 1; j < clusters.length; j++) {
      const s = link(clusters[i], clusters[j]);
      if (s > best) [best, bi, bj] = [s, i, j];
    }
    if (best < floor) break;
    const merged = [...clusters[bi], ...clusters[bj]].sort((a, b) => a - b);
    clusters = clusters.filter((_, k) => k !== bi && k !== bj);
    clusters.push(merged);
  }
  return clusters.sort((a, b) => b.length - a.length || a[0] - b[0]);
}

/** Work (pair x cell visits) the similarity view allows before it compares fewer query rows. */
export const SIMILARITY_BUDGET = 4e7;

/**
 * Query rows to compare on: all of them when heads^2 / 2 pairs x rows x cols fits the budget,
 * otherwise evenly spaced rows (so many heads on a long text still answer in about a second).
 */
export function comparedRows(rows: number, cols: number, heads: number, budget = SIMILARITY_BUDGET): number[] {
  const pairs = Math.max(1, (heads * (heads - 1)) / 2);
  const keep = Math.max(1, Math.min(rows, Math.floor(budget / (pairs * Math.max(1, cols)))));
  return Array.from({ length: keep }, (_, i) => Math.floor((i * rows) / keep));
}

/** The given rows of a map (a view for the similarity of long maps). */
export function pickRows(m: Mat, rows: number[]): Mat {
  const data = new Float64Array(rows.length * m.cols);
  rows.forEach((r, i) => data.set(m.data.subarray(r * m.cols, (r + 1) * m.cols), i * m.cols));
  return { rows: rows.length, cols: m.cols, data };
}
