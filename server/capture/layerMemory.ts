/**
 * Refusing a length one attention layer cannot hold. Running a layer holds a few [heads, n, n]
 * float32 tensors at once (scores, masked scores, probabilities, the reductions' products); the
 * runtime does not cut a layer into blocks of query rows, so when they cannot fit in the memory
 * there is, the capture is refused up front with the largest length that fits, instead of
 * meeting the OOM killer halfway through a model.
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

export function checkLayerFits(heads: number, tokens: number, modelPath: string, availableBytes = freemem()): void {
  const need = layerPeakBytes(heads, tokens);
  if (need <= availableBytes) return;
  throw new UserError(
    `${modelPath}: ${tokens} tokens need about ${(need / 2 ** 30).toFixed(1)} GiB for one attention layer (${heads} heads × ${tokens}² float32, ${LAYER_TENSORS} at once) and ${(availableBytes / 2 ** 30).toFixed(1)} GiB is free; this model can take at most ${largestLength(heads, availableBytes)} tokens here (--max-tokens)`,
  );
}
