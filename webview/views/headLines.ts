/**
 * The pure part of the head view and the model view: which lines to draw for a head, between
 * which rows, in which colour and at which opacity. No DOM, so the figures are unit-tested.
 *
 * Long inputs are drawn as token blocks ("pooled lines"): a block-to-block line carries the mass
 * the block's queries give the key block, averaged over the block's queries, so a block row
 * still sums to 1 like a token row does. A capture that the runtime already pooled (block
 * maxima, to fit the send budget) is pooled further by maximum, and the legend says which.
 */

/** Head colours: Tableau 10 (BertViz uses d3's category10), readable on light and dark. */
export const HEAD_COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

export function headColor(head: number): string {
  return HEAD_COLORS[head % HEAD_COLORS.length];
}

/** Line opacity: weight lifted by a floor so a diffuse head (every weight ~1/n) stays visible. */
export function lineOpacity(weight: number, floor: number): number {
  const w = Math.min(1, Math.max(0, weight));
  return floor + (1 - floor) * w;
}

export interface PooledMap {
  /** [rows, cols] row-major. */
  data: Float32Array;
  rows: number;
  cols: number;
  /** Tokens per block on each side (1: one row per token). */
  block: number;
  /** 'mass': block rows sum to 1 (mean over queries of summed weights); 'max': block maxima. */
  mode: 'mass' | 'max';
}

/**
 * Pools a [rows, cols] map into blocks of `block` cells a side. `mode` 'mass' averages the
 * summed weights over the block's rows; 'max' keeps the largest cell.
 */
export function poolMap(map: ArrayLike<number>, rows: number, cols: number, block: number, mode: 'mass' | 'max'): PooledMap {
  const b = Math.max(1, Math.floor(block));
  const pr = Math.ceil(rows / b);
  const pc = Math.ceil(cols / b);
  const out = new Float32Array(pr * pc);
  if (b === 1) {
    for (let i = 0; i < rows * cols; i++) out[i] = map[i];
    return { data: out, rows, cols, block: 1, mode };
  }
  for (let r = 0; r < rows; r++) {
    const R = Math.floor(r / b);
    for (let c = 0; c < cols; c++) {
      const C = Math.floor(c / b);
      const w = map[r * cols + c];
      if (mode === 'max') {
        if (w > out[R * pc + C]) out[R * pc + C] = w;
      } else out[R * pc + C] += w;
    }
  }
  if (mode === 'mass') {
    for (let R = 0; R < pr; R++) {
      const n = Math.min(rows, (R + 1) * b) - R * b;
      for (let C = 0; C < pc; C++) out[R * pc + C] /= n;
    }
  }
  return { data: out, rows: pr, cols: pc, block: b, mode };
}

/** Smallest block so that neither side has more than `maxRows` rows. */
export function blockFor(n: number, maxRows: number): number {
  return Math.max(1, Math.ceil(n / Math.max(1, maxRows)));
}

export interface HeadLine {
  head: number;
  /** Row indices in the pooled map (token indices when block = 1). */
  query: number;
  key: number;
  weight: number;
}

/**
 * Lines of one head: for each query row, its keys with weight >= `minWeight`, at most `perRow`
 * of them (largest first, ties by lower key).
 */
export function headLines(p: PooledMap, head: number, minWeight: number, perRow: number): HeadLine[] {
  const out: HeadLine[] = [];
  const k = Math.max(1, Math.floor(perRow));
  for (let q = 0; q < p.rows; q++) {
    const row: HeadLine[] = [];
    for (let c = 0; c < p.cols; c++) {
      const w = p.data[q * p.cols + c];
      if (w >= minWeight && w > 0) row.push({ head, query: q, key: c, weight: w });
    }
    if (row.length > k) {
      row.sort((a, b) => b.weight - a.weight || a.key - b.key);
      row.length = k;
    }
    out.push(...row);
  }
  return out;
}

/** A row label: the token, or a block's range and first token. */
export function rowLabel(tokens: string[], row: number, block: number, n: number): string {
  if (block === 1) return tokens[row] ?? `#${row}`;
  const a = row * block;
  const b = Math.min(n, a + block) - 1;
  return `#${a}–#${b} ${tokens[a] ?? ''}`;
}
