/**
 * Full-resolution maps of the last few captures, kept in the runtime so the panel can ask for
 * tiles of one head after the grid received pooled maps. Bounded by count and by bytes: the
 * oldest captures go first, and the newest is always kept whole. A capture given a memory
 * budget holds layers in memory only while they fit it; the rest are spilled to temp files
 * (server/lsp/mapSpill.ts) that tiles read by offset, so a 4096-token capture holds no full map.
 */
import type { LayerMap, RecomputedRows, RowsRecompute } from '../capture/types';
import { SpilledMap } from './mapSpill';
import { isIndex } from './validate';
import { UserError } from '../../common/errors';

/** A tile is one screenful of cells; larger asks are a client bug or a hostile webview. */
export const MAX_TILE_CELLS = 4096 * 4096;

export interface StoredCapture {
  captureId: string;
  modelId: string;
  layers: Map<number, LayerMap | SpilledMap>;
  /** Bytes held in memory. */
  bytes: number;
  /** Bytes spilled to temp files. */
  diskBytes: number;
  /** Bound on this capture's in-memory bytes; undefined: the store's own bound only. */
  budgetBytes?: number;
  /**
   * Set when the engine can recompute a layer from the capture's kept boundaries: layers past
   * the budget are then neither held nor spilled, and a tile of one re-runs its segment.
   */
  recompute?: (layer: number) => Promise<LayerMap>;
  /**
   * Recomputes only the rows a tile covers where the layer's whole map would pass the capture's
   * memory budget (server/capture/blockedLayers.ts); preferred to `recompute` when set.
   */
  recomputeRows?: RowsRecompute;
  /** Layers past the budget left to recompute. */
  recomputable: Set<number>;
  /** The last recomputed layer, so the tiles of one zoom re-run its segment once. */
  recent?: LayerMap;
  /** The last recomputed rows (a whole layer, or one head's rows of a blocked one). */
  recentRows?: RecomputedRows;
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
    private readonly maxDiskBytes = 32 * 1024 ** 3,
  ) {}

  begin(captureId: string, modelId: string, budgetBytes?: number): StoredCapture {
    // An id used again (a client that reuses ids) replaces the old capture: its spill files go
    // now instead of leaking until the process ends.
    this.drop(captureId);
    const c: StoredCapture = { captureId, modelId, layers: new Map(), bytes: 0, diskBytes: 0, budgetBytes, recomputable: new Set() };
    this.captures.set(captureId, c);
    this.evict(captureId);
    return c;
  }

  /**
   * `recomputable`: the engine hands over a recompute function when the capture ends
   * (setRecompute), so a layer past the budget is dropped instead of spilled.
   */
  add(captureId: string, map: LayerMap, recomputable = false): void {
    const c = this.captures.get(captureId);
    if (!c) return;
    release(c.layers.get(map.index));
    const size = map.data.byteLength;
    if (recomputable && c.budgetBytes !== undefined && c.bytes + size > c.budgetBytes) {
      c.layers.delete(map.index);
      c.recomputable.add(map.index);
    } else if (c.budgetBytes !== undefined && c.bytes + size > c.budgetBytes) {
      c.layers.set(map.index, new SpilledMap(map.data, map.heads, map.queries, map.keys));
      c.diskBytes += size;
    } else {
      c.layers.set(map.index, map);
      c.bytes += size;
    }
    this.evict(captureId);
  }

  /** Whether layer `index` of a capture lives in a temp file. */
  isSpilled(captureId: string, index: number): boolean {
    return this.captures.get(captureId)?.layers.get(index) instanceof SpilledMap;
  }

  drop(captureId: string): void {
    const c = this.captures.get(captureId);
    if (c) forget(c);
    this.captures.delete(captureId);
  }

  has(captureId: string): boolean {
    return this.captures.has(captureId);
  }

  ids(): string[] {
    return [...this.captures.keys()];
  }

  dropModel(modelId: string): void {
    for (const [id, c] of this.captures) if (c.modelId === modelId) this.drop(id);
  }

  /** Deletes every spill file (runtime shutdown). */
  dispose(): void {
    for (const id of [...this.captures.keys()]) this.drop(id);
  }

  private evict(keep: string): void {
    let total = 0;
    let disk = 0;
    for (const c of this.captures.values()) {
      total += c.bytes;
      disk += c.diskBytes;
    }
    // Map iteration is insertion order, so the first entries are the oldest captures.
    for (const [id, c] of this.captures) {
      if (this.captures.size <= this.maxCaptures && total <= this.maxBytes && disk <= this.maxDiskBytes) break;
      if (id === keep) continue;
      this.drop(id);
      total -= c.bytes;
      disk -= c.diskBytes;
    }
  }

  /** A layer of which no full map reached the runtime (maps 'none'): tiles recompute it. */
  addRecomputable(captureId: string, index: number): void {
    const c = this.captures.get(captureId);
    if (!c) return;
    release(c.layers.get(index));
    c.layers.delete(index);
    c.recomputable.add(index);
  }

  setRecompute(
    captureId: string,
    recompute: ((layer: number) => Promise<LayerMap>) | undefined,
    recomputeRows?: RowsRecompute,
  ): void {
    const c = this.captures.get(captureId);
    if (!c) return;
    c.recompute = recompute;
    c.recomputeRows = recomputeRows;
  }

  /** A tile of a held or spilled layer, or of one recomputed from the capture's boundaries. */
  async tileOrRecompute(captureId: string, layer: number, head: number, q0: number, q1: number, k0: number, k1: number): Promise<Tile> {
    const c = this.captures.get(captureId);
    if (!c || !c.recomputable.has(layer)) return this.tile(captureId, layer, head, q0, q1, k0, k1);
    if (!c.recompute) throw new UserError(`layer ${layer} of capture ${captureId} is still being captured; ask for the tile when the capture ends`);
    if (c.recomputeRows) {
      // Refused before any work: a tile larger than a screenful is a client bug.
      if ((q1 - q0) * (k1 - k0) > MAX_TILE_CELLS) throw new UserError(`tile of ${q1 - q0} x ${k1 - k0} cells is larger than ${MAX_TILE_CELLS}; ask for a smaller rectangle`);
      if (!covers(c.recentRows, layer, head, q0, q1, k0, k1)) {
        c.recentRows = undefined;
        c.recentRows = await c.recomputeRows(layer, head, q0, q1, k0, k1);
      }
      return sliceRows(c.recentRows!, head, q0, q1, k0, k1);
    }
    if (c.recent?.index !== layer) {
      c.recent = undefined;
      c.recent = await c.recompute(layer);
    }
    return sliceTile(c.recent, head, q0, q1, k0, k1, layer);
  }

  tile(captureId: string, layer: number, head: number, q0: number, q1: number, k0: number, k1: number): Tile {
    const c = this.captures.get(captureId);
    if (!c) throw new UserError(`capture ${captureId} is no longer held by the runtime (only the last ${this.maxCaptures} are kept); run the inspection again`);
    const map = c.layers.get(layer);
    if (!map) throw new UserError(`capture ${captureId} has no layer ${layer}`);
    return sliceTile(map, head, q0, q1, k0, k1, layer);
  }
}

/** Whether recomputed rows hold rows q0..q1-1, keys k0..k1-1 of `head` of `layer`. */
function covers(r: RecomputedRows | undefined, layer: number, head: number, q0: number, q1: number, k0: number, k1: number): boolean {
  return (
    r !== undefined &&
    r.index === layer &&
    (r.head === undefined || r.head === head) &&
    q0 >= r.start &&
    q1 <= r.start + r.rows &&
    k0 >= r.firstKey &&
    k1 <= r.firstKey + r.keyCount
  );
}

/** A tile out of recomputed rows, its ranges checked against the whole layer's shape. */
function sliceRows(r: RecomputedRows, head: number, q0: number, q1: number, k0: number, k1: number): Tile {
  if (!isIndex(k0, 0, r.keys) || !isIndex(k1, k0 + 1, r.keys)) throw new UserError(`key range ${k0}..${k1} is outside 0..${r.keys} of layer ${r.index}`);
  const heads = r.head === undefined ? r.heads : 1;
  const view: LayerMap = { index: r.index, kind: r.kind, heads, queries: r.rows, keys: r.keyCount, data: r.data };
  return sliceTile(view, r.head === undefined ? head : 0, q0 - r.start, q1 - r.start, k0 - r.firstKey, k1 - r.firstKey, r.index);
}

function release(m: LayerMap | SpilledMap | undefined): void {
  if (m instanceof SpilledMap) m.release();
}

function forget(c: StoredCapture): void {
  for (const m of c.layers.values()) release(m);
  c.layers.clear();
}


/** Rows q0..q1-1 and columns k0..k1-1 of one head, C order (read by offset when spilled). */
export function sliceTile(map: LayerMap | SpilledMap, head: number, q0: number, q1: number, k0: number, k1: number, index = (map as LayerMap).index): Tile {
  if (!isIndex(head, 0, map.heads - 1)) throw new UserError(`head ${head} is outside layer ${index} (${map.heads} heads)`);
  if (!isIndex(q0, 0, map.queries) || !isIndex(q1, q0 + 1, map.queries)) {
    throw new UserError(`query range ${q0}..${q1} is outside 0..${map.queries} of layer ${index}`);
  }
  if (!isIndex(k0, 0, map.keys) || !isIndex(k1, k0 + 1, map.keys)) {
    throw new UserError(`key range ${k0}..${k1} is outside 0..${map.keys} of layer ${index}`);
  }
  const rows = q1 - q0;
  const cols = k1 - k0;
  if (rows * cols > MAX_TILE_CELLS) throw new UserError(`tile of ${rows} x ${cols} cells is larger than ${MAX_TILE_CELLS}; ask for a smaller rectangle`);
  if (map instanceof SpilledMap) return { rows, cols, data: map.read(head, q0, rows, k0, cols) };
  const data = new Float32Array(rows * cols);
  const base = head * map.queries * map.keys;
  for (let r = 0; r < rows; r++) {
    const start = base + (q0 + r) * map.keys + k0;
    data.set(map.data.subarray(start, start + cols), r * cols);
  }
  return { rows, cols, data };
}
