/**
 * How a panel capture uses the reductions computed in the graph. When every layer of the capture
 * would be pooled for the send budget (and the client does not ask for block means), the model
 * runs with maps 'none': the block maxima and the statistics come from the graph, no full map
 * crosses to the runtime, and tiles re-run one segment from the capture's stored boundaries.
 * Otherwise full maps arrive as before, and each layer's notification carries the statistics
 * the graph computed beside it.
 */
import { encodeFloat32 } from '../../protocol/encoding';
import type { CaptureRequest, HeadStatsParams, LayerNotification } from '../../protocol/runtime';
import type { LayerReductions } from '../capture/layerReductions';
import type { OpenedModel } from '../capture/types';
import { choosePool } from './pooling';

type Params = Pick<CaptureRequest.Params, 'memoryBudgetBytes' | 'sendBudgetBytes' | 'means' | 'spillMaps'>;

/** The send-budget share of one layer (the same rule as captureHandler.layerShare). */
function share(params: Params, layerCount: number): number | undefined {
  const budget = params.sendBudgetBytes ?? params.memoryBudgetBytes;
  return budget !== undefined ? budget / Math.max(1, layerCount) : undefined;
}

export interface PanelPlan {
  maps: 'full' | 'none';
  poolFactor: (layer: number, heads: number, queries: number, keys: number) => number;
}

/** Whether the grid will get pooled maps for every layer at `longest` tokens. */
export function panelPlan(params: Params, model: OpenedModel, longest: number): PanelPlan {
  const layerCount = Math.max(1, model.info.layers.length);
  const poolFactor = (_: number, heads: number, queries: number, keys: number) => choosePool(heads, queries, keys, share(params, layerCount), params.means === true);
  const allPooled = model.info.layers.every((l) => poolFactor(l.index, Math.max(1, l.heads), longest, longest) > 1);
  const reduced = model.recomputes === true && params.means !== true && params.spillMaps !== true && allPooled;
  return { maps: reduced ? 'none' : 'full', poolFactor };
}

export function statsParams(r: LayerReductions): HeadStatsParams {
  const clean = (xs: number[]) => xs.map((x) => (Number.isFinite(x) ? x : null));
  const s = r.stats;
  return { topK: r.topK, entropy: clean(s.entropy), distance: clean(s.distance), first: clean(s.first), previous: clean(s.previous), self: clean(s.self), topk: clean(s.topk) };
}

/**
 * What the graph computed beside a layer's probabilities, for its notification: the statistics,
 * the mass each key receives per head, and (for a map sent at `pool`) the exact block means.
 */
export function exactParams(r: LayerReductions, pool: number): Pick<LayerNotification.Params, 'stats' | 'keyMass' | 'blockMeans'> {
  return {
    stats: statsParams(r),
    keyMass: encodeFloat32(r.columnMeans),
    ...(pool > 1 && r.pooled?.pool === pool ? { blockMeans: encodeFloat32(r.pooled.headMean) } : {}),
  };
}

/** The layer notification of a reduced layer: the graph's block maxima, statistics, key mass and block means. */
export function reducedNotification(captureId: string, r: LayerReductions): LayerNotification.Params {
  if (!r.pooled) throw new Error(`layer ${r.index}: reduced run without a pooled map`);
  const base = { captureId, layer: r.index, kind: r.kind, heads: r.heads, queries: r.queries, keys: r.keys };
  return { ...base, pool: r.pooled.pool, data: encodeFloat32(r.pooled.max), ...exactParams(r, r.pooled.pool) };
}
