/**
 * Which layers of a capture run by query blocks and what happens to their rows, shared by the
 * ONNX and Hugging Face models: a layer whose [heads, n, n] tensors pass the memory budget runs
 * by blocks where its graph allows (server/capture/queryBlocks.ts); one that cannot and does not
 * fit in free memory is refused before anything runs, naming the largest length it takes.
 */
import { freemem } from 'node:os';
import type * as ort from 'onnxruntime-node';
import { UserError } from '../../common/errors';
import { DEFAULT_MEMORY_BUDGET_BYTES, checkLayerFits, cpuBlockRows, queryBlockRows } from './layerMemory';
import type { BlockOptions, Boundaries, SegmentedGraph } from './segmentedGraph';
import { toFloat32 } from './tensorData';
import type { CaptureOptions, LayerMap, RecomputedRows } from './types';

export interface LayerPlan {
  index: number;
  kind: 'self' | 'cross';
  heads: number;
  queries: number;
  keys: number;
  pool: number;
}

export interface LayerBlocks {
  blocks: BlockOptions;
  /** Whether any layer runs by blocks. */
  any: boolean;
  /** A blocked layer's whole map joined from its blocks (no onLayerRows consumer), once. */
  joined(k: number): Float32Array | undefined;
}

/**
 * `provider`: the execution provider the model runs on; on `cpu` blocks are also cut to a
 * cache-friendly size (layerMemory.ts, CPU_BLOCK_BYTES).
 */
export async function layerBlocks(graph: SegmentedGraph | undefined, layers: LayerPlan[], options: CaptureOptions, path: string, provider?: string): Promise<LayerBlocks> {
  const budget = options.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET_BYTES;
  const longest = Math.max(0, ...layers.map((l) => Math.max(l.queries, l.keys)));
  const wanted = layers.map((l) => {
    const rows = graph?.reducesInGraph ? queryBlockRows(l.heads, l.queries, l.keys, budget, l.pool) : 0;
    return provider === 'cpu' ? cpuBlockRows(l.heads, l.keys, rows, l.pool) : rows;
  });
  if (wanted.some((r) => r > 0)) await graph!.prepareBlockPlans();
  const rows = layers.map((l, k) => {
    const r = wanted[k];
    const plan = r > 0 ? graph!.blockPlan(k) : undefined;
    if (r > 0 && typeof plan !== 'string') return r;
    checkLayerFits(l.heads, longest, path, freemem(), typeof plan === 'string' ? plan : undefined);
    return 0;
  });
  const joined: (Float32Array | undefined)[] = [];
  return {
    any: rows.some((r) => r > 0),
    joined: (k) => {
      const j = joined[k];
      joined[k] = undefined;
      return j;
    },
    blocks: {
      rows: (k) => rows[k],
      onRows: async (k: number, start: number, probs: ort.Tensor) => {
        if (options.maps === 'none') return;
        const { index, kind, heads, queries, keys } = layers[k];
        const n = Number(probs.dims[probs.dims.length - 2]);
        const data = toFloat32(probs);
        if (options.onLayerRows) return options.onLayerRows({ index, kind, heads, queries, keys, start, rows: n, data });
        // No streaming consumer: the blocks are joined into the whole map onLayer expects.
        const whole = (joined[k] ??= new Float32Array(heads * queries * keys));
        for (let h = 0; h < heads; h++) whole.set(data.subarray(h * n * keys, (h + 1) * n * keys), (h * queries + start) * keys);
      },
    },
  };
}

export interface RowsRequest {
  graph: SegmentedGraph;
  layer: LayerPlan;
  boundaries: Boundaries;
  budgetBytes: number;
  extraFeeds: Record<string, ort.Tensor>;
  /** The model's path, for the refusal. */
  path: string;
  /** Re-runs the layer's segment whole (a map within the budget, or one that cannot run by blocks). */
  whole: () => Promise<LayerMap>;
  /** Free memory (tests pass a small one to see the refusal). */
  free?: number;
}

/**
 * Rows q0..q1-1 of one head for a tile, recomputed from a capture's boundaries. Where the
 * layer's [heads, n, n] tensors pass the budget, only the query blocks covering those rows run
 * (each block [heads, rows, keys] within the budget) and only the head asked for is kept;
 * otherwise the segment re-runs whole, and the whole map comes back so the other tiles of a
 * zoom reuse it. A layer that cannot run by blocks and does not fit in free memory is refused
 * naming the largest length it takes.
 */
export async function recomputeRows(req: RowsRequest, head: number, q0: number, q1: number, k0 = 0, k1 = req.layer.keys): Promise<RecomputedRows> {
  const { graph, layer, budgetBytes } = req;
  const { index, kind, heads, queries, keys } = layer;
  if (!(Number.isInteger(head) && head >= 0 && head < heads)) throw new UserError(`head ${head} is outside layer ${index} (${heads} heads)`);
  if (!(Number.isInteger(q0) && Number.isInteger(q1) && q0 >= 0 && q1 > q0 && q1 <= queries)) {
    throw new UserError(`query range ${q0}..${q1} is outside 0..${queries} of layer ${index}`);
  }
  if (!(Number.isInteger(k0) && Number.isInteger(k1) && k0 >= 0 && k1 > k0 && k1 <= keys)) {
    throw new UserError(`key range ${k0}..${k1} is outside 0..${keys} of layer ${index}`);
  }
  const rows = queryBlockRows(heads, queries, keys, budgetBytes);
  let plan: unknown = undefined;
  if (rows > 0) {
    await graph.prepareBlockPlans();
    plan = graph.blockPlan(index);
  }
  if (rows === 0 || typeof plan === 'string') {
    if (rows > 0) checkLayerFits(heads, Math.max(queries, keys), req.path, req.free ?? freemem(), plan as string);
    const map = await req.whole();
    return { ...map, start: 0, rows: map.queries, firstKey: 0, keyCount: map.keys };
  }
  const count = q1 - q0;
  // Every key of the rows (other tiles of the zoom reuse them) unless that passes the budget.
  const [c0, c1] = count * keys * 4 <= budgetBytes ? [0, keys] : [k0, k1];
  const cols = c1 - c0;
  const data = new Float32Array(count * cols);
  await graph.rerunRows(index, req.boundaries, q0, q1, rows, req.extraFeeds, (start, probs) => {
    const n = Number(probs.dims[probs.dims.length - 2]);
    const block = toFloat32(probs);
    for (let r = 0; r < n; r++) {
      const from = (head * n + r) * keys;
      data.set(block.subarray(from + c0, from + c1), (start - q0 + r) * cols);
    }
  });
  return { index, kind, heads, queries, keys, head, start: q0, rows: count, firstKey: c0, keyCount: cols, data };
}
