/** The values fed to every segment's reductions at each run (server/capture/reductions.ts). */
import * as ort from 'onnxruntime-node';
import { POOL_INPUT, TOPK_INPUT } from './reductions';

/** k of the top-k mass statistic when the caller gives none: the panel's default. */
export const DEFAULT_TOP_K = 3;

export function reductionFeeds(topK: number, pool: number): Record<string, ort.Tensor> {
  return {
    [TOPK_INPUT]: new ort.Tensor('int64', BigInt64Array.of(BigInt(Math.max(1, Math.floor(topK)))), [1]),
    [POOL_INPUT]: new ort.Tensor('int64', BigInt64Array.of(BigInt(Math.max(1, Math.floor(pool)))), [1]),
  };
}
