/**
 * The matrix type the analyses share: one attention map (or a derived one) as a dense row-major
 * [rows, cols] array of doubles. Float64 because rollout multiplies many rows together and the
 * statistics sum many small weights.
 */
export interface Mat {
  rows: number;
  cols: number;
  data: Float64Array;
}

export function mat(rows: number, cols: number, data?: ArrayLike<number>): Mat {
  const out = new Float64Array(rows * cols);
  if (data) {
    if (data.length !== rows * cols) throw new Error(`matrix: ${data.length} values for ${rows} x ${cols}`);
    out.set(data);
  }
  return { rows, cols, data: out };
}

/** Head `head` of a [heads, rows, cols] layer array, copied into a Mat. */
export function headMat(layer: ArrayLike<number>, head: number, rows: number, cols: number): Mat {
  const n = rows * cols;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = layer[head * n + i];
  return { rows, cols, data: out };
}

/** Each row divided by its sum; rows with no mass stay zero (nothing to spread). */
export function normaliseRows(m: Mat): Mat {
  const out = mat(m.rows, m.cols, m.data);
  for (let r = 0; r < m.rows; r++) {
    let s = 0;
    for (let c = 0; c < m.cols; c++) s += out.data[r * m.cols + c];
    if (s > 0) for (let c = 0; c < m.cols; c++) out.data[r * m.cols + c] /= s;
  }
  return out;
}

/** Mean (or max) over the heads of one layer: the layer's map as one picture. */
export function aggregateHeads(maps: Mat[], how: 'mean' | 'max'): Mat {
  if (maps.length === 0) throw new Error('aggregateHeads: no heads');
  const { rows, cols } = maps[0];
  const out = mat(rows, cols);
  for (const m of maps) {
    if (m.rows !== rows || m.cols !== cols) throw new Error('aggregateHeads: heads differ in shape');
    for (let i = 0; i < out.data.length; i++) {
      out.data[i] = how === 'mean' ? out.data[i] + m.data[i] / maps.length : Math.max(out.data[i], m.data[i]);
    }
  }
  return out;
}
