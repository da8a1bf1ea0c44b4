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
