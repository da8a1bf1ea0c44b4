/**
 * The efficiency channel: custom LSP requests for cost estimates of a model config, answered by
 * the runtime with the same code as `attention-inspector estimate` (server/efficiency/*).
 * The estimate's result is the CLI's JSON, typed here (Estimate) and built by
 * server/efficiency/estimate.ts.
 */
import { RequestType } from 'vscode-languageserver-protocol';
import type { EfficiencyCurves } from './efficiencyWebview';

export type EstimateDtype = 'fp32' | 'fp16' | 'bf16' | 'fp8' | 'int8';

/** Cost of the attention blocks for one configuration (the model as configured, or one variant). */
export interface CostFigures {
  kvCacheBytesPerToken: number;
  /** Cache after the prefill (or at the decode context), whole batch. */
  kvCacheBytes: number;
  /** QKᵀ plus AV of one layer (mean), whole batch. */
  attentionScoreFlopsPerLayer: number;
  attentionScoreFlops: { qkPerLayer: number; avPerLayer: number };
  attentionMatrixBytesPerLayer: number;
  flops: {
    total: number;
    perLayer: number;
    breakdown: { projections: number; qk: number; softmax: number; av: number; output: number; other: number };
  };
  bytes: { total: number; perLayer: number };
  arithmeticIntensity: number;
  rooflineSeconds: number;
  bound: 'compute' | 'memory';
}

export interface VariantFigures extends CostFigures {
  name: string;
  paper: string;
  /** The variant's parameters as run (server/variants/types.ts VariantParams). */
  params: Record<string, number>;
  note?: string;
}

export interface Estimate extends CostFigures {
  model: { family: string; layers: number; hiddenSize: number; heads: number; kvHeads: number; headDim: number; maxPositions: number | null; slidingWindow: number | null };
  mode: 'prefill' | 'decode';
  seq: number;
  batch: number;
  dtype: EstimateDtype;
  hardware: { id: string; name: string; peakFlops: number; memoryBandwidth: number; onChipBytes: number };
  variants: Record<string, VariantFigures>;
  notes: string[];
}


/** client -> server: estimate attention costs from a config.json (file or model folder). */
export namespace EstimateRequest {
  export const method = 'attention/estimate';
  export interface Params {
    /** Path of config.json or of the folder that holds it. */
    configPath: string;
    seq: number;
    batch?: number;
    dtype?: EstimateDtype;
    /** A profile id (attention/hardwareProfiles) or 'local' (measured once, cached). */
    hardware?: string;
    decode?: boolean;
    variants?: string[];
  }
  /** The same object `attention-inspector estimate --json` prints (server/efficiency/estimate.ts). */
  export type Result = Estimate;
  export const type = new RequestType<Params, Result, void>(method);
}

/** client -> server: the hardware profiles an estimate can use (the local one measured on request). */
export namespace HardwareProfilesRequest {
  export const method = 'attention/hardwareProfiles';
  export interface Params {
    includeLocal?: boolean;
  }
  export interface Profile {
    id: string;
    name: string;
    kind: 'gpu' | 'cpu';
    peakFlops: Record<EstimateDtype, number>;
    memoryBandwidth: number;
    onChipBytes: number;
    memoryBytes: number;
    source: string;
    measured?: boolean;
  }
  export const type = new RequestType<Params, Profile[], void>(method);
}

/** client -> server: curves over sequence length per variant and per hardware profile, and the table at tableSeq. */
export namespace EstimateSweepRequest {
  export const method = 'attention/estimateSweep';
  export interface Params {
    configPath: string;
    /** Default: powers of two from 128 to the configured context. */
    seqs?: number[];
    tableSeq?: number;
    batch?: number;
    dtype?: EstimateDtype;
    hardware?: string;
    decode?: boolean;
  }
  /** Curves and table rows, as the Efficiency panel draws them. */
  export interface Result {
    modelName: string;
    maxPositions: number | null;
    curves: EfficiencyCurves;
    /** The precision the panel starts with: the config's torch_dtype (fp32 without one) or the estimateDtype setting; the hover uses the same. */
    dtype?: 'fp32' | 'fp16' | 'bf16';
  }
  export const type = new RequestType<Params, Result, void>(method);
}

/**
 * client -> server: run the attention core of one layer of the model (its heads and head dim,
 * random Q/K/V) with onnxruntime-node and return measured beside estimated times on this
 * machine's measured profile. Takes seconds; the client shows progress.
 */
export namespace MeasureEfficiencyRequest {
  export const method = 'attention/measureEfficiency';
  export interface Params {
    configPath: string;
    seqs: number[];
    variants?: string[];
    /** Heads actually run (default: all of the model's, at most 8 to keep it short). */
    maxHeads?: number;
  }
  export interface Point {
    variant: string;
    runtimeVariant: string;
    seq: number;
    heads: number;
    headDim: number;
    /** Median wall time of session.run over the repeats. */
    measuredMs: number;
    /** Roofline time of the same core on the given profile (fp32). */
    estimatedMs: number;
    /** measured / estimated: 1 means the kernel reached the roofline. */
    ratio: number;
    flops: number;
    bytes: number;
    achievedFlopsPerSecond: number;
    executionProvider: string;
  }
  export type Result = { hardware: string; points: Point[] };
  export const type = new RequestType<Params, Result, void>(method);
}
