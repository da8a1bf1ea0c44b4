/**
 * The contract for attention variants (issue: mechanisms of the literature). Each variant is a
 * builder that turns the captured Q, K, V of one layer into an ONNX graph (GraphBuilder), run
 * with onnxruntime-node on the model's execution provider. The registry (registry.ts) lists
 * them; metrics (metrics.ts) compare each against `exact`.
 */

import type { CostModel } from './costModel';

/** Captured inputs of one layer. All arrays are C order float32. */
export interface VariantInputs {
  /** [heads, n, d] queries. */
  q: Float32Array;
  /** [heads, m, d] keys (m = n for self-attention). */
  k: Float32Array;
  /** [heads, m, d] values. */
  v: Float32Array;
  heads: number;
  n: number;
  m: number;
  d: number;
  /** [n, dModel] hidden states entering the layer, for mechanisms that need them (Mega, MoA, Lin et al.). */
  hidden?: Float32Array;
  dModel?: number;
  causal: boolean;
  /** Seed for every random parameter, so runs are reproducible. */
  seed: number;
}

/** Knobs a variant accepts (window size, number of buckets, projection rank, ...). */
export type VariantParams = Record<string, number>;

export interface BuiltVariant {
  /** Serialized ONNX model. */
  model: Uint8Array;
  /** Feeds by input name: float32 arrays with their dims. */
  feeds: Record<string, { data: Float32Array | BigInt64Array; dims: number[] }>;
  /** Output [heads, n, d]: the attention output. */
  outputName: string;
  /** Output [heads, n, m]: the attention map or what stands for it (bucket structure, routing), if any. */
  mapName?: string;
  /** What the map means when it is not softmax probabilities (e.g. "LSH bucket co-membership"). */
  mapMeaning?: string;
  /** How parameters the checkpoint does not have were set (seeded random, least squares, ...). */
  notes: string[];
  /** Dims of the output when it is not [heads, n, d] (Lin et al.'s sentence embedding [1, r, dModel]). */
  outputDims?: number[];
  /** Dims of the map when it is not [heads, n, m] (routing [1, n, experts], hops [1, r, n], ...). */
  mapDims?: number[];
  /** Further graph outputs worth reporting (name -> meaning), e.g. a penalty scalar or a layer output. */
  extraOutputs?: Record<string, string>;
}

/**
 * The estimator's cost for a variant without its own IO model: the variant's analytic FLOPs and
 * live memory (flops, memoryBytes below) over the configured keys (costModel.ts, analyticCost).
 */
export interface AnalyticCost {
  name: string;
  from: 'analytic';
  note?: string;
}

/** An id users may still type (CLI, settings, estimate requests), and what it became. */
export interface VariantAlias {
  id: string;
  note: string;
}

export interface VariantSpec {
  /** Stable id used by the CLI and compare.json (`exact` is the reference). */
  id: string;
  /** Earlier ids of the same mechanism, still accepted with a note. */
  aliases?: VariantAlias[];
  /** What the efficiency estimator computes for it: an IO cost model, or the analytic counts below. */
  cost: CostModel | AnalyticCost;
  /** Short citation: "Vaswani et al. 2017, Attention Is All You Need". */
  paper: string;
  /** One-line description. */
  summary: string;
  /** True when the variant computes exact softmax attention (FlashAttention, chunked). */
  exact: boolean;
  /** True when the map is a sparsity pattern whose kept mass is meaningful. */
  sparse: boolean;
  defaults: VariantParams;
  build(inputs: VariantInputs, params: VariantParams): BuiltVariant;
  /** Analytic FLOPs for one layer (all heads). */
  flops(n: number, m: number, d: number, heads: number, params: VariantParams): number;
  /** Analytic bytes of intermediate memory (the largest live tensors), float32. */
  memoryBytes(n: number, m: number, d: number, heads: number, params: VariantParams): number;
}
