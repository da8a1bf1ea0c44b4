/**
 * A − B of two attention maps of one head. Two texts of different lengths (or two tokenizers)
 * give maps of different sizes: the comparison covers the common prefix, the first
 * min(rows) queries and min(cols) keys, and says so. Pure, so it is unit-tested.
 */

export interface Matrix {
  rows: number;
  cols: number;
  data: Float32Array;
}

/** The top-left [rows, cols] of m (a copy; m itself when it already has that size). */
export function crop(m: Matrix, rows: number, cols: number): Matrix {
  if (rows === m.rows && cols === m.cols) return m;
  const data = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) data.set(m.data.subarray(r * m.cols, r * m.cols + cols), r * cols);
  return { rows, cols, data };
}

export interface MapDiff {
  a: Matrix;
  b: Matrix;
  diff: Matrix;
  /** True when either map was cut to the common prefix. */
  truncated: boolean;
  /** Largest |A − B|, the half-width of the diverging colour scale. */
  maxAbs: number;
}

export function diffOverCommonPrefix(a: Matrix, b: Matrix): MapDiff {
  const rows = Math.min(a.rows, b.rows);
  const cols = Math.min(a.cols, b.cols);
  const ca = crop(a, rows, cols);
  const cb = crop(b, rows, cols);
  const data = new Float32Array(rows * cols);
  let maxAbs = 0;
  for (let i = 0; i < data.length; i++) {
    data[i] = ca.data[i] - cb.data[i];
    maxAbs = Math.max(maxAbs, Math.abs(data[i]));
  }
  const truncated = rows !== a.rows || rows !== b.rows || cols !== a.cols || cols !== b.cols;
  return { a: ca, b: cb, diff: { rows, cols, data }, truncated, maxAbs };
}

/**
 * Downsampling of a signed map: each output cell keeps the entry of its block with the largest
 * magnitude, sign included, so a strong difference is not averaged away (blockMax's reasoning,
 * for signed values).
 */
export function blockSignedMax(m: Matrix, outRows: number, outCols: number): Float32Array {
  const out = new Float32Array(outRows * outCols);
  for (let i = 0; i < outRows; i++) {
    const r0 = Math.floor((i * m.rows) / outRows);
    const r1 = Math.max(r0 + 1, Math.floor(((i + 1) * m.rows) / outRows));
    for (let j = 0; j < outCols; j++) {
      const c0 = Math.floor((j * m.cols) / outCols);
      const c1 = Math.max(c0 + 1, Math.floor(((j + 1) * m.cols) / outCols));
      let best = 0;
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) if (Math.abs(m.data[r * m.cols + c]) > Math.abs(best)) best = m.data[r * m.cols + c];
      out[i * outCols + j] = best;
    }
  }
  return out;
}
