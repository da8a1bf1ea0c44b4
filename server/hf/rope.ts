/**
 * Rotary position tables, computed on the host in float64 and fed to the graph as [T, headDim]
 * inputs: the frequencies depend on rope_scaling, which is easier to get right (and to test) in
 * plain code than as graph arithmetic, and the tables are tiny next to the weights.
 */
import type { HfConfig } from './config';

/** Inverse frequencies per rotary pair, after rope_scaling (transformers' _compute_*_parameters). */
export function inverseFrequencies(cfg: HfConfig): Float64Array {
  const half = cfg.headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / cfg.ropeTheta ** ((2 * i) / cfg.headDim);
  const s = cfg.ropeScaling;
  if (!s) return inv;
  if (s.type === 'linear') return inv.map((f) => f / s.factor);
  // llama3: long wavelengths slowed by `factor`, short ones kept, a smooth blend in between.
  const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositions / s.highFreqFactor;
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highWavelen) return f;
    if (wavelen > lowWavelen) return f / s.factor;
    const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    return (1 - smooth) * (f / s.factor) + smooth * f;
  });
}

/** cos and sin of position x frequency, laid out [T, headDim] as two halves (rotate_half convention). */
export function ropeTables(cfg: HfConfig, positions: number[]): { cos: Float32Array; sin: Float32Array } {
  const inv = inverseFrequencies(cfg);
  const d = cfg.headDim;
  const half = d / 2;
  const cos = new Float32Array(positions.length * d);
  const sin = new Float32Array(positions.length * d);
  positions.forEach((p, t) => {
    for (let i = 0; i < half; i++) {
      const a = p * inv[i];
      cos[t * d + i] = cos[t * d + half + i] = Math.cos(a);
      sin[t * d + i] = sin[t * d + half + i] = Math.sin(a);
    }
  });
  return { cos, sin };
}
