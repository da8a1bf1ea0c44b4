/**
 * Decoded attention maps as the panel holds them. A layer message carries [heads, rows, cols]
 * where rows/cols are the token counts divided by the pool factor (rounded up: the last block
 * may be partial), so every consumer reads cells through these helpers.
 */
import { decodeFloat32 } from '../protocol/encoding';
import type { HeadStatsParams } from '../protocol/runtime';
import type { HostToWebview } from '../protocol/webview';

/** Most heatmap cells a side: Plotly stays responsive up to a few tens of thousands. */
export const MAX_CELLS = 160;

export interface LayerMaps {
  layer: number;
  heads: number;
  queries: number;
  keys: number;
  pool: number;
  rows: number;
  cols: number;
  data: Float32Array;
  /** The runtime's statistics of the full-resolution map (exact even when pooled). */
  stats?: HeadStatsParams;
  /** [heads, keys]: the mean over query rows of each key's column, from the runtime (exact). */
  keyMass?: Float32Array;
  /** [rows, cols] with pool > 1: mean over heads and block cells of the full map, from the runtime (exact). */
  blockMeans?: Float32Array;
}

/** The maps of a `layer` message (protocol/webview.ts). */
export function decodeLayer(msg: Pick<Extract<HostToWebview, { type: 'layer' }>, 'layer' | 'heads' | 'queries' | 'keys' | 'pool' | 'data' | 'stats' | 'keyMass' | 'blockMeans'>): LayerMaps {
  const pool = Math.max(1, Math.floor(msg.pool));
  const rows = Math.ceil(msg.queries / pool);
  const cols = Math.ceil(msg.keys / pool);
  const data = decodeFloat32(msg.data);
  if (data.length !== msg.heads * rows * cols) {
    throw new Error(
      `layer ${msg.layer}: ${data.length} values, expected ${msg.heads} x ${rows} x ${cols} (pool ${pool})`,
    );
  }
  const keyMass = optional(msg.keyMass, msg.heads * msg.keys, `layer ${msg.layer}: key mass`);
  const blockMeans = pool > 1 ? optional(msg.blockMeans, rows * cols, `layer ${msg.layer}: block means`) : undefined;
  return {
    layer: msg.layer, heads: msg.heads, queries: msg.queries, keys: msg.keys, pool, rows, cols, data,
    ...(msg.stats ? { stats: msg.stats } : {}), ...(keyMass ? { keyMass } : {}), ...(blockMeans ? { blockMeans } : {}),
  };
}

/** An optional float32 array of the layer message, of the length its shape says. */
function optional(base64: string | undefined, length: number, what: string): Float32Array | undefined {
  if (base64 === undefined) return undefined;
  const data = decodeFloat32(base64);
  if (data.length !== length) throw new Error(`${what}: ${data.length} values, expected ${length}`);
  return data;
}

/** The weight at cell (row, col) of one head, in pooled units. */
export function cell(m: LayerMaps, head: number, row: number, col: number): number {
  return m.data[(head * m.rows + row) * m.cols + col];
}

/** The map of one head as a view (no copy), [rows, cols]. */
export function headView(m: LayerMaps, head: number): Float32Array {
  const n = m.rows * m.cols;
  return m.data.subarray(head * n, (head + 1) * n);
}

/**
 * Block maximum of a [rows, cols] map down to [outRows, outCols]: the max keeps a sharp head
 * (one key per query) visible after downsampling, where a mean would wash it out.
 */
export function blockMax(
  src: Float32Array,
  rows: number,
  cols: number,
  r0: number,
  r1: number,
  c0: number,
  c1: number,
  outRows: number,
  outCols: number,
): Float32Array {
  const out = new Float32Array(outRows * outCols);
  const h = r1 - r0;
  const w = c1 - c0;
  for (let i = 0; i < outRows; i++) {
    const ra = r0 + Math.floor((i * h) / outRows);
    const rb = Math.max(ra + 1, r0 + Math.floor(((i + 1) * h) / outRows));
    for (let j = 0; j < outCols; j++) {
      const ca = c0 + Math.floor((j * w) / outCols);
      const cb = Math.max(ca + 1, c0 + Math.floor(((j + 1) * w) / outCols));
      let m = 0;
      for (let r = ra; r < rb && r < rows; r++) {
        const base = r * cols;
        for (let c = ca; c < cb && c < cols; c++) if (src[base + c] > m) m = src[base + c];
      }
      out[i * outCols + j] = m;
    }
  }
  return out;
}
