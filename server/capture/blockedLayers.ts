/**
 * Which layers of a capture run by query blocks and what happens to their rows, shared by the
 * ONNX and Hugging Face models: a layer whose [heads, n, n] tensors pass the memory budget runs
 * by blocks where its graph allows (server/capture/queryBlocks.ts); one that cannot and does not
 * fit in free memory is refused before anything runs, naming the largest length it takes.
 */
import { freemem } from 'node:os';
import type * as ort from 'onnxruntime-node';
import { DEFAULT_MEMORY_BUDGET_BYTES, checkLayerFits, queryBlockRows } from './layerMemory';
import type { BlockOptions, SegmentedGraph } from './segmentedGraph';
import { toFloat32 } from './tensorData';
import type { CaptureOptions } from './types';

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

export async function layerBlocks(graph: SegmentedGraph | undefined, layers: LayerPlan[], options: CaptureOptions, path: string): Promise<LayerBlocks> {
  const budget = options.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET_BYTES;
  const longest = Math.max(0, ...layers.map((l) => Math.max(l.queries, l.keys)));
  const wanted = layers.map((l) => (graph?.reducesInGraph ? queryBlockRows(l.heads, l.queries, l.keys, budget, l.pool) : 0));
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
