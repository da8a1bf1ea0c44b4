/**
 * Curves for the Efficiency panel: every variant's estimate over a range of sequence lengths on
 * one profile, exact and FlashAttention time on every profile, and the full table at one length.
 */
import type { EfficiencyCurves, EfficiencyRow } from '../../protocol/efficiencyWebview';
import { estimate, type Estimate, type EstimateOptions } from './estimate';
import { HARDWARE_PROFILES, type HardwareProfile } from './hardware';
import type { ModelShape } from './modelShape';

export interface VariantCurve {
  name: string;
  rooflineSeconds: number[];
  flops: number[];
  bytes: number[];
  kvCacheBytes: number[];
  attentionMatrixBytes: number[];
}

export interface Sweep {
  seqs: number[];
  variants: Record<string, VariantCurve>;
  /** Roofline seconds of exact and FlashAttention per hardware profile, over seqs. */
  byHardware: Record<string, { name: string; exact: number[]; flash: number[] }>;
  table: Estimate;
}

/** Powers of two from 128 up to the configured context (at least 8,192), and the context itself. */
export function defaultSeqs(maxPositions: number | null): number[] {
  const top = Math.min(Math.max(maxPositions ?? 8192, 8192), 1 << 20);
  const seqs: number[] = [];
  for (let n = 128; n < top; n *= 2) seqs.push(n);
  seqs.push(top);
  return seqs;
}

export function sweep(shape: ModelShape, opts: Omit<EstimateOptions, 'seq'> & { seqs?: number[]; tableSeq: number; profiles?: HardwareProfile[] }): Sweep {
  const seqs = opts.seqs ?? defaultSeqs(shape.maxPositions);
  const variants: Record<string, VariantCurve> = {};
  for (const seq of seqs) {
    const e = estimate(shape, { ...opts, seq });
    for (const [id, v] of Object.entries(e.variants)) {
      const c = (variants[id] ??= { name: v.name, rooflineSeconds: [], flops: [], bytes: [], kvCacheBytes: [], attentionMatrixBytes: [] });
      c.rooflineSeconds.push(v.rooflineSeconds);
      c.flops.push(v.flops.total);
      c.bytes.push(v.bytes.total);
      c.kvCacheBytes.push(v.kvCacheBytes);
      c.attentionMatrixBytes.push(v.attentionMatrixBytesPerLayer);
    }
  }
  const byHardware: Sweep['byHardware'] = {};
  for (const hw of [...(opts.profiles ?? []), ...HARDWARE_PROFILES]) {
    if (byHardware[hw.id]) continue;
    const times = seqs.map((seq) => estimate(shape, { ...opts, seq, hardware: hw, variants: ['exact', 'flash'] }).variants);
    byHardware[hw.id] = { name: hw.name, exact: times.map((t) => t.exact.rooflineSeconds), flash: times.map((t) => t.flash.rooflineSeconds) };
  }
  return { seqs, variants, byHardware, table: estimate(shape, { ...opts, seq: opts.tableSeq }) };
}

/** The panel's message payload: curves and the table rows at tableSeq. */
export function curvesFromSweep(s: Sweep): EfficiencyCurves {
  const rows: EfficiencyRow[] = Object.entries(s.table.variants).map(([id, v]) => ({
    id, name: v.name, paper: v.paper, flops: v.flops.total, bytes: v.bytes.total, arithmeticIntensity: v.arithmeticIntensity,
    attentionMatrixBytesPerLayer: v.attentionMatrixBytesPerLayer, kvCacheBytes: v.kvCacheBytes, kvCacheBytesPerToken: v.kvCacheBytesPerToken,
    rooflineSeconds: v.rooflineSeconds, bound: v.bound,
  }));
  return { seqs: s.seqs, variants: s.variants, byHardware: s.byHardware, hardwareName: s.table.hardware.name, rows };
}
