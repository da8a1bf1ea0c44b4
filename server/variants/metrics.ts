/**
 * How far a variant lands from exact attention on the same Q, K, V: output error (relative L2,
 * cosine), map divergence (Jensen-Shannon, only when both maps are probability rows), the share
 * of the exact map's mass a sparse pattern keeps, and the analytic cost of each.
 */
import type { VariantParams, VariantSpec } from './types';

export function relL2(a: Float32Array, ref: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    const e = a[i] - ref[i];
    num += e * e;
    den += ref[i] * ref[i];
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.max(Math.sqrt(aa * bb), 1e-30);
}

/** True when every row of a [rows, cols] map is non-negative and sums to 1 (within tol). */
export function isProbabilityMap(map: Float32Array, cols: number, tol = 1e-3): boolean {
  for (let r = 0; r < map.length / cols; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) {
      const x = map[r * cols + c];
      if (!(x >= -1e-6)) return false;
      s += x;
    }
    if (Math.abs(s - 1) > tol) return false;
  }
  return true;
}

/** Mean over rows of the Jensen-Shannon divergence in bits (0 = same rows, 1 = disjoint). */
export function jensenShannon(p: Float32Array, q: Float32Array, cols: number): number {
  const rows = p.length / cols;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    let js = 0;
    for (let c = 0; c < cols; c++) {
      const a = Math.max(p[r * cols + c], 0);
      const b = Math.max(q[r * cols + c], 0);
      const mid = (a + b) / 2;
      if (a > 0) js += 0.5 * a * Math.log2(a / mid);
      if (b > 0) js += 0.5 * b * Math.log2(b / mid);
    }
    total += js;
  }
  return total / rows;
}

/** Share of the exact map's mass that falls where the variant's pattern is non-zero. */
export function massKept(exactMap: Float32Array, pattern: Float32Array): number {
  let kept = 0;
  let all = 0;
  for (let i = 0; i < exactMap.length; i++) {
    all += exactMap[i];
    if (pattern[i] !== 0) kept += exactMap[i];
  }
  return kept / Math.max(all, 1e-30);
}

export interface VariantMetrics {
  relL2: number;
  cosine: number;
  /** null unless both maps are probability maps of the same shape. */
  js: number | null;
  /** null unless the variant is sparse and has a map. */
  massKept: number | null;
  flops: number;
  bytes: number;
}

export interface Dims {
  n: number;
  m: number;
  d: number;
  heads: number;
}

export function compareToExact(
  spec: VariantSpec, params: VariantParams, dims: Dims,
  run: { output: Float32Array; map?: Float32Array },
  reference: { output: Float32Array; map?: Float32Array },
): VariantMetrics {
  const { n, m, d, heads } = dims;
  const merged = { ...spec.defaults, ...params };
  const sameShape = !!run.map && !!reference.map && run.map.length === reference.map.length;
  const js = sameShape && isProbabilityMap(run.map!, m) && isProbabilityMap(reference.map!, m)
    ? jensenShannon(run.map!, reference.map!, m)
    : null;
  return {
    relL2: relL2(run.output, reference.output),
    cosine: cosine(run.output, reference.output),
    js,
    massKept: spec.sparse && sameShape ? massKept(reference.map!, run.map!) : null,
    flops: spec.flops(n, m, d, heads, merged),
    bytes: spec.memoryBytes(n, m, d, heads, merged),
  };
}
