/**
 * The comparison channel: attention variants of the literature run on the Q, K, V of one layer
 * of a model and scored against exact attention (server/variants/mechanismsRun.ts). One namespace
 * per message, as in protocol/runtime.ts. Maps travel as base64 float32 (protocol/encoding.ts).
 */
import { RequestType } from 'vscode-languageserver-protocol';
import type { ExecutionProviderSetting } from './runtime';

/** One variant at the text's length, scored against `exact` on the same Q, K, V. */
export interface CompareVariantRow {
  id: string;
  /** Short citation of the paper the variant comes from. */
  paper: string;
  /** Relative L2 error of the layer output against exact; null when the output is not per token. */
  relL2: number | null;
  cosine: number | null;
  /** Mean Jensen-Shannon divergence of the map rows (bits), when both maps are probabilities. */
  js: number | null;
  /** Share of exact's attention mass inside a sparse variant's pattern. */
  massKept: number | null;
  /** Median of the timed runs, milliseconds. */
  latencyMs: number;
  /** Measured peak memory growth of the run, bytes. */
  peakBytes: number;
  /** Analytic FLOPs and intermediate bytes of the layer (all heads). */
  flops: number;
  bytes: number;
  notes: string[];
  /** What the map means when it is not softmax probabilities. */
  mapMeaning?: string;
  /** One line when the variant failed; the others still ran. */
  error?: string;
}

/** The selected head's map of one variant, [rows, cols] C order. */
export interface CompareMap {
  id: string;
  rows: number;
  cols: number;
  /** 1 at full resolution; b > 1 when each cell is the maximum of a b x b block. */
  pool: number;
  /** base64 float32 LE. */
  data: string;
}

/** One variant at one sequence length of the scaling runs (maps off, Q/K/V from the model rerun at n). */
export interface CompareScalingPoint {
  id: string;
  n: number;
  latencyMs: number;
  peakBytes: number;
  /** Analytic FLOPs and bytes at n (server/variants/*: flops, memoryBytes). */
  estFlops: number;
  estBytes: number;
  error?: string;
}

/**
 * client -> server: run attention variants on one layer's Q, K, V and compare them with exact.
 * Accepts a workDoneToken (progress per variant run); the client's cancellation stops the work
 * between variants, and the response then carries what ran with cancelled = true.
 */
export namespace CompareVariantsRequest {
  export const method = 'attention/compareVariants';
  export interface Params {
    /** A model opened with attention/openModel; or give `path`. */
    modelId?: string;
    /** An .onnx file, an ONNX folder or a Hugging Face checkpoint folder. */
    path?: string;
    text?: string;
    ids?: number[];
    maxTokens?: number;
    /** Attention layer in graph order, from 0. */
    layer: number;
    /** Head whose map is returned (default 0); the metrics cover every head of the layer. */
    head?: number;
    /** Variant ids of the registry (attention-inspector variants); exact always runs. */
    variants: string[];
    /** Lengths of the scaling runs (each variant timed at each n). */
    seqLengths?: number[];
    /** Timed runs per variant after a warm-up (default 3). */
    repeats?: number;
    executionProvider?: ExecutionProviderSetting;
    workDoneToken?: string | number;
  }
  export interface Result {
    modelName: string;
    layer: number;
    head: number;
    heads: number;
    /** Queries and keys of the text, and the head dimension. */
    n: number;
    m: number;
    d: number;
    tokens: string[];
    causal: boolean;
    executionProvider: string;
    variants: CompareVariantRow[];
    maps: CompareMap[];
    scaling: CompareScalingPoint[];
    /** How Q/K/V were obtained (capture notes, how each length was made). */
    notes: string[];
    cancelled: boolean;
  }
  export const type = new RequestType<Params, Result, void>(method);
}

/**
 * Picked by default in the Compare command's list (which is the runtime's catalog,
 * attention/listVariants): the exact kernels and the efficient approximations that keep a
 * per-token output.
 */
export const DEFAULT_COMPARE_VARIANTS = ['exact', 'flash', 'chunked', 'linear', 'performer', 'linformer', 'longformer', 'bigbird', 'reformer-lsh'];

/** Lengths of the scaling runs the Compare command asks for. */
export const DEFAULT_COMPARE_LENGTHS = [64, 128, 256, 512];
