/**
 * Measured beside estimated: the attention core of one layer of a model (its heads and head dim,
 * random Q/K/V of n tokens, fp32) run by onnxruntime-node through the variant builders of
 * server/variants, timed, and set beside the roofline estimate of the same core on the local
 * profile. The ratio says how far this machine's kernels are from its own measured peaks.
 * Only variants whose parameters mean the same thing in both places are measured.
 */
import { runVariant } from '../variants/runVariant';
import { costedVariant, getVariant } from '../variants/registry';
import { mulberry32 } from '../variants/rng';
import * as F from './formulas';
import type { HardwareProfile } from './hardware';
import type { ModelShape } from './modelShape';
import type { MeasureEfficiencyRequest } from '../../protocol/efficiency';
import type { VariantParams } from '../variants/types';
import { checkMeasureSizes } from '../../common/requestSizes';
import { checkLengthsPlausible, checkRunsFit, type LengthSubject } from '../variants/memoryNeed';

/**
 * Catalog ids measured, and how the estimate's parameters map onto the run's: only these mean
 * the same thing in the cost model and the graph (the others' run parameters are sized for a
 * text, not a model's context).
 */
export const MEASURABLE: Record<string, { runtime: string; params: (p: VariantParams) => VariantParams }> = {
  exact: { runtime: 'exact', params: () => ({}) },
  flash: { runtime: 'flash', params: () => ({}) },
  linear: { runtime: 'linear', params: () => ({}) },
  linformer: { runtime: 'linformer', params: (p) => ({ k: p.k }) },
};

/** One measured point: the wire type, so the LSP handler returns it unchanged. */
export type MeasuredPoint = MeasureEfficiencyRequest.Point;

export interface MeasureOptions {
  seqs: number[];
  variants?: string[];
  hardware: HardwareProfile;
  repeats?: number;
  /** Caps the heads run (all heads cost the same; fewer keep the probe short). */
  maxHeads?: number;
  /** Per-variant parameters, as for estimate(). */
  params?: Record<string, VariantParams>;
  /** How an error names a length (default: the request's `seqs`). */
  subject?: LengthSubject;
}

/** Sizes before work: the list (requestSizes.ts), then the memory the variants need at each length. */
function checkMeasureMemory(shape: ModelShape, o: MeasureOptions, ids: string[], heads: number): void {
  const subject = o.subject ?? { label: (n: number) => `seqs ${n}`, fix: (k: number) => `measure at ${k} tokens or fewer` };
  checkMeasureSizes({ seqs: o.seqs }, 'measure');
  const params: Record<string, VariantParams> = {};
  for (const id of ids) {
    const est = costedVariant(id).cost;
    const p = { ...est.defaults({ heads: shape.heads, kvHeads: shape.kvHeads, window: shape.slidingWindow }), ...(o.params?.[id] ?? {}) };
    params[MEASURABLE[id].runtime] = MEASURABLE[id].params(p);
  }
  checkLengthsPlausible(o.seqs, subject);
  checkRunsFit(o.seqs, ids.map((id) => MEASURABLE[id].runtime), () => ({ heads, d: shape.headDim, maps: true }), params, subject);
}

function randomQkv(heads: number, n: number, d: number, seed: number): Float32Array[] {
  const rand = mulberry32(seed);
  return [0, 1, 2].map(() => Float32Array.from({ length: heads * n * d }, () => rand() * 2 - 1));
}

export async function measureVsEstimate(shape: ModelShape, o: MeasureOptions): Promise<MeasuredPoint[]> {
  const ids = (o.variants ?? Object.keys(MEASURABLE)).filter((id) => Object.hasOwn(MEASURABLE, id));
  const heads = Math.min(shape.heads, o.maxHeads ?? shape.heads);
  const d = shape.headDim;
  const bytesEl = F.DTYPE_BYTES.fp32;
  checkMeasureMemory(shape, o, ids, heads);
  const points: MeasuredPoint[] = [];
  for (const seq of o.seqs) {
    const [q, k, v] = randomQkv(heads, seq, d, 1234 + seq);
    for (const id of ids) {
      const est = costedVariant(id).cost;
      const params = { ...est.defaults({ heads: shape.heads, kvHeads: shape.kvHeads, window: shape.slidingWindow }), ...(o.params?.[id] ?? {}) };
      const cost = est.layer({
        n: seq, m: seq, window: null, heads, kvHeads: heads, headDim: d,
        sramElements: Math.floor(o.hardware.onChipBytes / bytesEl), decode: false,
      }, params);
      const flops = cost.qkFlops + cost.avFlops + cost.softmaxFlops + cost.otherFlops;
      const bytes = cost.coreElements * bytesEl;
      const roof = F.rooflineSeconds(flops, bytes, o.hardware.peakFlops.fp32, o.hardware.memoryBandwidth);
      const map = MEASURABLE[id];
      const run = await runVariant(
        getVariant(map.runtime),
        { q, k, v, heads, n: seq, m: seq, d, causal: false, seed: 7 },
        map.params(params),
        { executionProvider: 'cpu', repeats: o.repeats ?? 3 },
      );
      points.push({
        variant: id, runtimeVariant: map.runtime, seq, heads, headDim: d,
        measuredMs: run.latencyMs, estimatedMs: roof.seconds * 1e3, ratio: run.latencyMs / (roof.seconds * 1e3),
        flops, bytes, achievedFlopsPerSecond: flops / (run.latencyMs / 1e3), executionProvider: run.executionProvider,
      });
    }
  }
  return points;
}
