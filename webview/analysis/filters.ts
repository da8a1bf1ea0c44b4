/**
 * Filters of the analysis heatmaps. On a map: cells under a weight threshold, or outside the
 * top-k keys of their row, are hidden (NaN: Plotly leaves them blank, which is not the same as a
 * drawn zero). On the layer x head grid of a statistic: heads under a threshold, or outside the
 * k highest, are hidden, so the heads that do something stand out.
 */
import type { Mat } from './matrix';

/** Keeps cells >= threshold and among the top k of their row (k <= 0: no top-k filter). */
export function filterMap(m: Mat, threshold: number, topK: number): Mat {
  const data = Float64Array.from(m.data);
  for (let r = 0; r < m.rows; r++) {
    const row = data.subarray(r * m.cols, (r + 1) * m.cols);
    let kth = -Infinity;
    if (topK > 0 && topK < m.cols) kth = Array.from(row).sort((a, b) => b - a)[topK - 1];
    for (let c = 0; c < m.cols; c++) {
      // Ties at the k-th value are all kept: dropping one of equal weights would be arbitrary.
      if (row[c] < threshold || row[c] < kth) row[c] = NaN;
    }
  }
  return { rows: m.rows, cols: m.cols, data };
}

/** Which entries of a list of head values pass: >= threshold and among the k highest (k <= 0: all). */
export function filterHeads(values: number[], threshold: number, topK: number): boolean[] {
  let kth = -Infinity;
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => b - a);
  if (topK > 0 && topK < finite.length) kth = finite[topK - 1];
  return values.map((v) => Number.isFinite(v) && v >= threshold && v >= kth);
}
