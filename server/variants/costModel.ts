/**
 * The cost model every catalog entry carries, read by the efficiency estimator
 * (server/efficiency/estimate.ts): the cost of one attention block for one batch element, n
 * queries against m keys (prefill: m = n; one decode step: n = 1, m = the context), with the
 * layer's own window from the config (null = full). Projections and weights are added by the
 * estimator; here is what differs between variants. Composed from efficiency/formulas.ts only.
 */
import * as F from '../efficiency/formulas';
import type { VariantParams } from './types';

export interface LayerCase {
  n: number;
  m: number;
  window: number | null;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** On-chip memory in elements (M of Dao et al. 2022). */
  sramElements: number;
  decode: boolean;
}

export interface LayerCost {
  /** KV heads the variant uses (GQA/MQA change them; the projections follow). */
  kvHeads: number;
  qkFlops: number;
  avFlops: number;
  softmaxFlops: number;
  /** Sequence projections, hashing, feature maps, scoring networks. */
  otherFlops: number;
  /** HBM traffic of the attention core (not the Q/K/V/O projections), elements. */
  coreElements: number;
  /** Score/probability matrix (or what stands for it) held in memory, elements. */
  matrixElements: number;
  /** Elements this layer caches for decoding at context m. */
  cacheElements: number;
  /** Cache growth per token, elements (default 2·kvHeads·d; 0 for a recurrent state). */
  cachePerTokenElements?: number;
}

/** What a cost model may read from the model to choose its defaults. */
export interface ModelContext {
  heads: number;
  kvHeads: number;
  /** The configured sliding window, null when no layer slides. */
  window: number | null;
}

export interface CostModel {
  /** Display name in the Efficiency panel and the estimate's JSON. */
  name: string;
  /** Where the cost figures come from, when more specific than the variant's paper. */
  source?: string;
  /** Parameters of the estimate; they may depend on the model (the configured window, KV heads). */
  defaults(m: ModelContext): VariantParams;
  layer(c: LayerCase, p: VariantParams): LayerCost;
  note?: string;
}

/** Materialised attention over `keysPerQuery` keys: Algorithm 0 of Dao et al. 2022 with GQA sharing K/V reads. */
export function materialised(c: LayerCase, keysPerQuery: number, kvHeads: number, mRead = keysPerQuery): LayerCost {
  const pairs = c.n * keysPerQuery;
  const d = c.headDim;
  // K and V are read once per KV head; the heads of a group share them.
  const core = c.heads * (F.standardAttentionHbmElements(c.n, mRead, d) - 4 * c.n * mRead + 4 * pairs) - (c.heads - kvHeads) * 2 * mRead * d;
  return {
    kvHeads,
    qkFlops: F.scoreFlops(pairs, c.heads, d),
    avFlops: F.valueFlops(pairs, c.heads, d),
    softmaxFlops: F.softmaxFlops(pairs, c.heads),
    otherFlops: 0,
    coreElements: core,
    matrixElements: c.heads * pairs,
    cacheElements: 2 * kvHeads * d * F.cachedTokens(c.m, c.window),
  };
}

/** Keys a query sees in a full-attention layer: the whole context, or the layer's configured window. */
export const configuredKeys = (c: LayerCase): number => F.cachedTokens(c.m, c.window);

/**
 * Full softmax attention over the configured keys (every key scored, the map materialised), with
 * `extraFlops` of the variant's own scoring work beside QKᵀ (a bilinear form, an additive
 * network, norms) for all heads of the layer. For the scoring functions of the literature, whose
 * IO is that of standard attention.
 */
export function fullAttentionCost(name: string, extraFlops: (c: LayerCase, p: VariantParams) => number = () => 0, defaults: VariantParams = {}): CostModel {
  return {
    name,
    defaults: () => ({ ...defaults }),
    layer: (c, p) => {
      const base = materialised(c, configuredKeys(c), c.kvHeads);
      return { ...base, otherFlops: extraFlops(c, p) };
    },
  };
}

/** The flops/memoryBytes pair every variant declares (types.ts, VariantSpec). */
interface AnalyticCounts {
  defaults: VariantParams;
  flops(n: number, m: number, d: number, heads: number, params: VariantParams): number;
  memoryBytes(n: number, m: number, d: number, heads: number, params: VariantParams): number;
}

/**
 * A cost model from a variant's own analytic counts, for mechanisms whose paper gives no IO
 * analysis: its FLOPs over the configured keys (all counted as "other": the split into QKᵀ, AV
 * and softmax is the variant's own), its live intermediates (float32 bytes / 4) as the matrix,
 * and HBM traffic of reading Q, K, V, writing O and writing then reading the intermediates once.
 */
export function analyticCost(name: string, counts: AnalyticCounts, note?: string): CostModel {
  return {
    name,
    source: 'the variant\'s analytic FLOPs and live memory',
    defaults: () => ({ ...counts.defaults }),
    layer: (c, p) => {
      const keys = configuredKeys(c);
      const d = c.headDim;
      const live = counts.memoryBytes(c.n, keys, d, c.heads, p) / 4;
      return {
        kvHeads: c.kvHeads,
        qkFlops: 0,
        avFlops: 0,
        softmaxFlops: 0,
        otherFlops: counts.flops(c.n, keys, d, c.heads, p),
        coreElements: c.heads * 2 * c.n * d + c.kvHeads * 2 * keys * d + 2 * live,
        matrixElements: live,
        cacheElements: 2 * c.kvHeads * d * keys,
      };
    },
    ...(note ? { note } : {}),
  };
}
