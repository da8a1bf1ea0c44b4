/**
 * Full-resolution maps of the last few captures, kept in the runtime so the panel can ask for
 * tiles of one head after the grid received pooled maps. Bounded by count and by bytes: the
 * oldest captures go first, and the newest is always kept whole.
 */
import { UserError, type LayerMap } from '../capture/types';
import { isIndex } from './validate';

/** A tile is one screenful of cells; larger asks are a client bug or a hostile webview. */
export const MAX_TILE_CELLS = 4096 * 4096;

export interface StoredCapture {
  captureId: string;
  modelId: string;
  layers: Map<number, LayerMap>;
  bytes: number;
}

export interface Tile {
  rows: number;
  cols: number;
  data: Float32Array;
}

export class CaptureStore {
  private readonly captures = new Map<string, StoredCapture>();

  constructor(
    private readonly maxCaptures = 3,
    private readonly maxBytes = 2 * 1024 ** 3,
  ) {}

  begin(captureId: string, modelId: string): StoredCapture {
    const c: StoredCapture = { captureId, modelId, layers: new Map(), bytes: 0 };
    this.captures.set(captureId, c);
    this.evict(captureId);
    return c;
  }

  add(captureId: string, map: LayerMap): void {
    const c = this.captures.get(captureId);
    if (!c) return;
    c.layers.set(map.index, map);
    c.bytes += map.data.byteLength;
    this.evict(captureId);
  }

  drop(captureId: string): void {
    this.captures.delete(captureId);
  }

  has(captureId: string): boolean {
    return this.captures.has(captureId);
  }

  ids(): string[] {
    return [...this.captures.keys()];
  }

  dropModel(modelId: string): void {
    for (const [id, c] of this.captures) if (c.modelId === modelId) this.captures.delete(id);
  }

  private evict(keep: string): void {
    let total = 0;
    for (const c of this.captures.values()) total += c.bytes;
    // Map iteration is insertion order, so the first entries are the oldest captures.
    for (const [id, c] of this.captures) {
      if (this.captures.size <= this.maxCaptures && total <= this.maxBytes) break;
      if (id === keep) continue;
      this.captures.delete(id);
      total -= c.bytes;
    }
  }

  tile(captureId: string, layer: number, head: number, q0: number, q1: number, k0: number, k1: number): Tile {
    const c = this.captures.get(captureId);
    if (!c) throw new UserError(`capture ${captureId} is no longer held by the runtime (only the last ${this.maxCaptures} are kept); run the inspection again`);
    const map = c.layers.get(layer);
    if (!map) throw new UserError(`capture ${captureId} has no layer ${layer}`);
    return sliceTile(map, head, q0, q1, k0, k1);
  }
}


/** Rows q0..q1-1 and columns k0..k1-1 of one head, C order. */
export function sliceTile(map: LayerMap, head: number, q0: number, q1: number, k0: number, k1: number): Tile {
  if (!isIndex(head, 0, map.heads - 1)) throw new UserError(`head ${head} is outside layer ${map.index} (${map.heads} heads)`);
  if (!isIndex(q0, 0, map.queries) || !isIndex(q1, q0 + 1, map.queries)) {
    throw new UserError(`query range ${q0}..${q1} is outside 0..${map.queries} of layer ${map.index}`);
  }
  if (!isIndex(k0, 0, map.keys) || !isIndex(k1, k0 + 1, map.keys)) {
    throw new UserError(`key range ${k0}..${k1} is outside 0..${map.keys} of layer ${map.index}`);
  }
  const rows = q1 - q0;
  const cols = k1 - k0;
  if (rows * cols > MAX_TILE_CELLS) throw new UserError(`tile of ${rows} x ${cols} cells is larger than ${MAX_TILE_CELLS}; ask for a smaller rectangle`);
  const data = new Float32Array(rows * cols);
  const base = head * map.queries * map.keys;
  for (let r = 0; r < rows; r++) {
    const start = base + (q0 + r) * map.keys + k0;
    data.set(map.data.subarray(start, start + cols), r * cols);
  }
  return { rows, cols, data };
}
