/**
 * Cost of the attention blocks of a model (Q/K/V projections through the output projection; the
 * MLP is not attention and is left out) for a prefill of `seq` tokens or one decode step at
 * context `seq`, for the model as configured (`exact`, top level) and each variant.
 * Per-layer flops and bytes are means over layers; attention-matrix bytes are the largest layer's
 * (the peak a run must hold). Layers differ only where the config mixes window and full layers.
 */
import { UserError } from '../../common/errors';
import type { CostFigures, Estimate, VariantFigures } from '../../protocol/efficiency';
import * as F from './formulas';
import { DEFAULT_HARDWARE_ID, findHardware, type HardwareProfile } from './hardware';
import type { ModelShape } from './modelShape';
import type { LayerCase } from '../variants/costModel';
import { costedVariant, costedVariants, resolveVariantId, type CostedVariant } from '../variants/registry';
import type { VariantParams } from '../variants/types';

export interface EstimateOptions {
  seq: number;
  batch?: number;
  /** Defaults to the config's torch_dtype, else fp32 (what transformers loads when it is absent). */
  dtype?: F.Dtype;
  hardware?: HardwareProfile;
  decode?: boolean;
  /** Variant ids of the catalog to include (default: all); old ids (lsh, sliding) are accepted with a note. */
  variants?: string[];
  params?: Record<string, VariantParams>;
}

// The result's shape is the runtime protocol's (protocol/efficiency.ts): the CLI's JSON and the
// attention/estimate reply are one type.
export type { CostFigures, Estimate, VariantFigures };

function figures(shape: ModelShape, variant: CostedVariant, params: VariantParams, o: Required<Omit<EstimateOptions, 'variants' | 'params'>>): CostFigures {
  const bytesEl = F.DTYPE_BYTES[o.dtype];
  const B = o.batch;
  const n = o.decode ? 1 : o.seq;
  const m = o.seq;
  const sramElements = Math.floor(o.hardware.onChipBytes / bytesEl);
  const peak = o.hardware.peakFlops[o.dtype];
  const sum = { projections: 0, qk: 0, softmax: 0, av: 0, output: 0, other: 0 };
  let bytes = 0;
  let seconds = 0;
  let computeSeconds = 0;
  let matrixMax = 0;
  let cache = 0;
  let kvPerToken = 0;
  for (const window of shape.layerWindows) {
    const c: LayerCase = { n, m, window, heads: shape.heads, kvHeads: shape.kvHeads, headDim: shape.headDim, sramElements, decode: o.decode };
    const cost = variant.cost.layer(c, params);
    const proj = F.qkvProjectionFlops(n, shape.hiddenSize, shape.heads, cost.kvHeads, shape.headDim) * B;
    const out = F.outputProjectionFlops(n, shape.hiddenSize, shape.heads, shape.headDim) * B;
    const layerFlops = proj + out + B * (cost.qkFlops + cost.avFlops + cost.softmaxFlops + cost.otherFlops);
    sum.projections += proj;
    sum.output += out;
    sum.qk += B * cost.qkFlops;
    sum.av += B * cost.avFlops;
    sum.softmax += B * cost.softmaxFlops;
    sum.other += B * cost.otherFlops;
    // Weights once per layer; X in, Q/K/V out, O in, Y out per token; then the core's traffic.
    const weights = F.attentionWeightElements(shape.hiddenSize, shape.heads, cost.kvHeads, shape.headDim);
    const acts = n * (2 * shape.hiddenSize + (2 * shape.heads + 2 * cost.kvHeads) * shape.headDim);
    const layerBytes = (weights + B * (acts + cost.coreElements)) * bytesEl;
    bytes += layerBytes;
    const r = F.rooflineSeconds(layerFlops, layerBytes, peak, o.hardware.memoryBandwidth);
    seconds += r.seconds;
    if (r.bound === 'compute') computeSeconds += r.seconds;
    matrixMax = Math.max(matrixMax, B * cost.matrixElements * bytesEl);
    cache += B * cost.cacheElements * bytesEl;
    kvPerToken += (cost.cachePerTokenElements ?? 2 * cost.kvHeads * shape.headDim) * bytesEl;
  }
  const L = shape.layers;
  const total = Object.values(sum).reduce((a, b) => a + b, 0);
  return {
    kvCacheBytesPerToken: kvPerToken,
    kvCacheBytes: cache,
    attentionScoreFlopsPerLayer: (sum.qk + sum.av) / L,
    attentionScoreFlops: { qkPerLayer: sum.qk / L, avPerLayer: sum.av / L },
    attentionMatrixBytesPerLayer: matrixMax,
    flops: { total, perLayer: total / L, breakdown: sum },
    bytes: { total: bytes, perLayer: bytes / L },
    arithmeticIntensity: F.arithmeticIntensity(total, bytes),
    rooflineSeconds: seconds,
    bound: computeSeconds >= seconds / 2 ? 'compute' : 'memory',
  };
}

/**
 * Past any context a model is run at (the longest are about 10^7 tokens), and low enough
 * that every figure stays a finite double (1e300 printed null figures) and sweeps stay quick.
 */
export const MAX_SEQ = 1e8;
export const MAX_BATCH = 1e6;

export function estimate(shape: ModelShape, options: EstimateOptions): Estimate {
  if (!Number.isInteger(options.seq) || options.seq < 1 || options.seq > MAX_SEQ) {
    throw new UserError(`--seq must be a whole number from 1 to ${MAX_SEQ.toExponential()} (got ${options.seq}); figures past that are not meaningful.`);
  }
  const batch = options.batch ?? 1;
  if (!Number.isInteger(batch) || batch < 1 || batch > MAX_BATCH) {
    throw new UserError(`--batch must be a whole number from 1 to ${MAX_BATCH.toExponential()} (got ${options.batch}).`);
  }
  if (options.dtype !== undefined && !Object.hasOwn(F.DTYPE_BYTES, options.dtype)) {
    throw new UserError(`--dtype must be one of ${Object.keys(F.DTYPE_BYTES).join(', ')} (got ${JSON.stringify(options.dtype)}).`);
  }
  const o = {
    seq: options.seq,
    batch,
    dtype: options.dtype ?? (shape.dtype && Object.hasOwn(F.DTYPE_BYTES, shape.dtype) ? shape.dtype : 'fp32'),
    hardware: options.hardware ?? findHardware(DEFAULT_HARDWARE_ID),
    decode: options.decode ?? false,
  };
  const notes = [...shape.notes];
  if (shape.maxPositions != null && o.seq > shape.maxPositions) {
    notes.push(`seq ${o.seq} exceeds the configured max positions ${shape.maxPositions}.`);
  }
  const ids = options.variants ?? costedVariants().map((v) => v.id);
  const defaultsCtx = { heads: shape.heads, kvHeads: shape.kvHeads, window: shape.slidingWindow };
  const variants: Record<string, VariantFigures> = {};
  for (const asked of ids) {
    const { id, note } = resolveVariantId(asked);
    if (note) notes.push(`${note}.`);
    const v = costedVariant(id);
    const params = { ...v.cost.defaults(defaultsCtx), ...(options.params?.[asked] ?? options.params?.[id] ?? {}) };
    variants[id] = { name: v.cost.name, paper: v.paper, params, ...(v.cost.note ? { note: v.cost.note } : {}), ...figures(shape, v, params, o) };
  }
  const exact = variants.exact ? stripVariant(variants.exact) : figures(shape, costedVariant('exact'), {}, o);
  const hw = o.hardware;
  return {
    model: {
      family: shape.family, layers: shape.layers, hiddenSize: shape.hiddenSize, heads: shape.heads, kvHeads: shape.kvHeads,
      headDim: shape.headDim, maxPositions: shape.maxPositions, slidingWindow: shape.slidingWindow,
    },
    mode: o.decode ? 'decode' : 'prefill',
    seq: o.seq,
    batch: o.batch,
    dtype: o.dtype,
    hardware: { id: hw.id, name: hw.name, peakFlops: hw.peakFlops[o.dtype], memoryBandwidth: hw.memoryBandwidth, onChipBytes: hw.onChipBytes },
    ...exact,
    variants,
    notes,
  };
}

function stripVariant(v: VariantFigures): CostFigures {
  const { name: _n, paper: _p, params: _q, note: _x, ...rest } = v;
  return rest;
}
