/**
 * How much of one attention layer runs at once. Running a layer holds a few [heads, n, n]
 * float32 tensors at once (scores, masked scores, probabilities, the reductions' products).
 * Above the memory budget a layer runs by blocks of query rows (server/capture/queryBlocks.ts),
 * each holding [heads, rows, n]. A layer that cannot run by blocks and cannot fit in the memory
 * there is is refused up front with the largest length that fits, instead of meeting the OOM
 * killer halfway through a model.
 */
import { freemem } from 'node:os';
import { UserError } from '../../common/errors';

/** [heads, n, n] float32 tensors one layer holds at its peak (measured on the bench model: 3-4). */
export const LAYER_TENSORS = 4;

export function layerPeakBytes(heads: number, tokens: number): number {
  return LAYER_TENSORS * Math.max(1, heads) * tokens * tokens * 4;
}

/** The most tokens whose layer peak fits `availableBytes`. */
export function largestLength(heads: number, availableBytes: number): number {
  return Math.max(1, Math.floor(Math.sqrt(availableBytes / (LAYER_TENSORS * Math.max(1, heads) * 4))));
}

/** The memory budget when the caller gives none: attentionInspector.memoryBudgetMB's default. */
export const DEFAULT_MEMORY_BUDGET_BYTES = 512 * 2 ** 20;

/**
 * Query rows per block so one block's [heads, rows, keys] tensors fit `budgetBytes`, a multiple
 * of the pool factor (pooled rows of blocks then line up with the whole map's); 0 when the
 * whole layer fits and runs unblocked.
 */
export function queryBlockRows(heads: number, queries: number, keys: number, budgetBytes: number, pool = 1): number {
  const perRow = LAYER_TENSORS * Math.max(1, heads) * keys * 4;
  if (perRow * queries <= budgetBytes) return 0;
  const p = Math.max(1, Math.floor(pool));
  const rows = Math.max(p, Math.floor(Math.floor(budgetBytes / perRow) / p) * p);
  return rows >= queries ? 0 : rows;
}

/**
 * Bytes of one [heads, rows, keys] float32 tensor a blocked layer aims at on the CPU provider.
 * Each op of a layer (scores, mask, softmax, the reductions) passes over the whole tensor the op
 * before it wrote: blocks this size leave much of it in the last-level cache for the next op,
 * where blocks cut by the memory budget alone go through main memory every time (134 MB per
 * tensor at 2,048 tokens and the 512 MB default). Measured on the bench model (12 heads, 2
 * cores, 32 MB L3; docs/runtime.md, "Query blocks"): a 2,048-token panel capture took 2,572 ms
 * with blocks of 252 rows (25 MB), 2,983 with the budget's 1,359, 2,742 with 378, 2,745 with 126
 * in one process; in fresh processes, as the bench runs it, about 3% less time and 17% less peak
 * memory (1.7 against 2.0 GB).
 */
export const CPU_BLOCK_BYTES = 24 * 2 ** 20;

/**
 * Fewest rows a cache-sized block may have; below it the budget's blocks are kept. Every block
 * reads all keys and values again, and its matrix products get thinner: at 8,192 tokens blocks
 * of 128 rows took 31.7 s and of 64 rows 33.3 s against 28.0 s for the budget's 341.
 */
export const CPU_BLOCK_MIN_ROWS = 256;

/**
 * `rows` (queryBlockRows' answer for a layer) cut to the CPU provider's cache-sized block, a
 * multiple of the pool factor, when that block has at least CPU_BLOCK_MIN_ROWS rows; 0 (the
 * layer runs whole) stays 0: at 1,024 tokens whole layers took 978 ms and blocks of 252 rows
 * 1,142.
 */
export function cpuBlockRows(heads: number, keys: number, rows: number, pool = 1): number {
  const fit = Math.floor(CPU_BLOCK_BYTES / (Math.max(1, heads) * Math.max(1, keys) * 4));
  if (rows <= 0 || fit < CPU_BLOCK_MIN_ROWS) return rows;
  const p = Math.max(1, Math.floor(pool));
  return Math.min(rows, Math.max(p, Math.floor(fit / p) * p));
}

/**
 * Refuses a length whose layer cannot fit in free memory; `whyUnblocked` says why the layer
 * cannot run by query blocks (the error names the largest length the model takes here).
 */
export function checkLayerFits(heads: number, tokens: number, modelPath: string, availableBytes = freemem(), whyUnblocked?: string): void {
  const need = layerPeakBytes(heads, tokens);
  if (need <= availableBytes) return;
  const why = whyUnblocked ? `; its attention cannot run by query blocks (${whyUnblocked})` : '';
  throw new UserError(
    `${modelPath}: ${tokens} tokens need about ${(need / 2 ** 30).toFixed(1)} GiB for one attention layer (${heads} heads × ${tokens}² float32, ${LAYER_TENSORS} at once) and ${(availableBytes / 2 ** 30).toFixed(1)} GiB is free${why}; this model can take at most ${largestLength(heads, availableBytes)} tokens here (--max-tokens)`,
  );
}
