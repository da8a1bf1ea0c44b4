/**
 * Block pooling of attention maps for the memory budget: when full-resolution maps would
 * exceed what the client asked to be sent, the grid receives b x b block maxima (so a sharp head
 * stays visible), and block means (so mass is not overstated) when the client asks for them;
 * single heads come back at full resolution as tiles.
 */

export interface Pooled {
  pool: number;
  rows: number;
  cols: number;
  /** [heads, rows, cols] block maxima. */
  max: Float32Array;
  /** [heads, rows, cols] block means over the cells inside the map (edge blocks are smaller). */
  mean: Float32Array;
}

/** Bytes sent for one layer at pool factor b: full maps at b = 1, max (+ mean) above it. */
export function layerBytes(heads: number, queries: number, keys: number, b: number, withMeans = true): number {
  if (b <= 1) return heads * queries * keys * 4;
  return (withMeans ? 2 : 1) * heads * Math.ceil(queries / b) * Math.ceil(keys / b) * 4;
}

/**
 * The smallest pool factor whose layer fits budgetBytes. Starts at ceil(sqrt(full / budget))
 * (what the area ratio asks for) and steps up for the edge rounding (and the doubled max+mean
 * when means are sent). A map that cannot fit even as one cell per side gets the coarsest pool.
 */
export function choosePool(heads: number, queries: number, keys: number, budgetBytes: number | undefined, withMeans = true): number {
  if (budgetBytes === undefined || !(budgetBytes > 0)) return 1;
  const full = layerBytes(heads, queries, keys, 1);
  if (full <= budgetBytes) return 1;
  const largest = Math.max(queries, keys);
  let b = Math.max(2, Math.ceil(Math.sqrt(full / budgetBytes)));
  while (b < largest && layerBytes(heads, queries, keys, b, withMeans) > budgetBytes) b++;
  return Math.min(b, largest);
}

export function poolMaps(data: Float32Array, heads: number, queries: number, keys: number, b: number): Pooled {
  if (data.length !== heads * queries * keys) {
    throw new Error(`map of ${data.length} values is not ${heads} x ${queries} x ${keys}`);
  }
  const rows = Math.ceil(queries / b);
  const cols = Math.ceil(keys / b);
  const max = new Float32Array(heads * rows * cols).fill(-Infinity);
  const sum = new Float64Array(heads * rows * cols);
  for (let h = 0; h < heads; h++) {
    for (let q = 0; q < queries; q++) {
      const src = (h * queries + q) * keys;
      const dst = (h * rows + Math.floor(q / b)) * cols;
      for (let k = 0; k < keys; k++) {
        const v = data[src + k];
        const cell = dst + Math.floor(k / b);
        if (v > max[cell]) max[cell] = v;
        sum[cell] += v;
      }
    }
  }
  const mean = new Float32Array(sum.length);
  for (let r = 0; r < rows; r++) {
    const h1 = Math.min(queries, (r + 1) * b) - r * b;
    for (let c = 0; c < cols; c++) {
      const count = h1 * (Math.min(keys, (c + 1) * b) - c * b);
      for (let h = 0; h < heads; h++) {
        const cell = (h * rows + r) * cols + c;
        mean[cell] = sum[cell] / count;
      }
    }
  }
  return { pool: b, rows, cols, max, mean };
}
