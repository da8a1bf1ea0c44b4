/**
 * Plain-TypeScript references for the efficient variants' tests (linear, low-rank, random features, gated, hierarchical, mixtures), in float64 and written from the
 * papers' equations (no ONNX): exact softmax attention, kernelised attention from its pairwise
 * definition, matrix helpers, plus the seeded inputs and a direct onnxruntime-node runner.
 */
import { strict as assert } from 'node:assert';
import * as ort from 'onnxruntime-node';
import { gaussian } from '../../server/variants/rng';
import type { BuiltVariant, VariantInputs, VariantParams, VariantSpec } from '../../server/variants/types';

export type Mat = number[][];

export function inputs(heads: number, n: number, d: number, causal: boolean, seed = 7, dModel?: number): VariantInputs {
  return {
    q: gaussian(heads * n * d, seed),
    k: gaussian(heads * n * d, seed + 1),
    v: gaussian(heads * n * d, seed + 2),
    heads, n, m: n, d, causal, seed,
    ...(dModel ? { hidden: gaussian(n * dModel, seed + 3), dModel } : {}),
  };
}

export async function run(built: BuiltVariant, extra: string[] = []): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(built.model);
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, f] of Object.entries(built.feeds)) {
      feeds[name] = new ort.Tensor(f.data instanceof Float32Array ? 'float32' : 'int64', f.data, f.dims);
    }
    const names = [built.outputName, ...(built.mapName ? [built.mapName] : []), ...extra];
    const res = await session.run(feeds, names);
    const out: Record<string, Float32Array> = {};
    for (const nm of names) out[nm] = res[nm].data as Float32Array;
    return out;
  } finally {
    await session.release();
  }
}

export async function build(spec: VariantSpec, x: VariantInputs, params: VariantParams = {}): Promise<{ built: BuiltVariant; out: Float32Array; map?: Float32Array }> {
  const built = spec.build(x, { ...spec.defaults, ...params });
  const res = await run(built);
  return { built, out: res[built.outputName], map: built.mapName ? res[built.mapName] : undefined };
}

/** [h, rows, cols] flat -> per-head matrices. */
export function heads3(a: Float32Array, h: number, rows: number, cols: number): Mat[] {
  return Array.from({ length: h }, (_, i) =>
    Array.from({ length: rows }, (_, r) => Array.from(a.subarray((i * rows + r) * cols, (i * rows + r + 1) * cols))));
}
export const flat = (t: Mat[]): number[] => t.flat(2);

export function matmul(a: Mat, b: Mat): Mat {
  return a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
}
export const T = (a: Mat): Mat => a[0].map((_, j) => a.map((r) => r[j]));
export const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);

/** softmax(Q Kᵀ/√d) V per head with an optional allowed(i, j) predicate; returns [out, probs]. */
export function softmaxAttention(q: Mat, k: Mat, v: Mat, allowed: (i: number, j: number) => boolean, scale = 1 / Math.sqrt(q[0].length)): [Mat, Mat] {
  const probs = q.map((qi, i) => {
    const s = k.map((kj, j) => (allowed(i, j) ? dot(qi, kj) * scale : -Infinity));
    const mx = Math.max(...s);
    const e = s.map((x) => (x === -Infinity ? 0 : Math.exp(x - mx)));
    const z = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / z);
  });
  return [matmul(probs, v), probs];
}
export const causalMask = (i: number, j: number) => j <= i;
export const all = () => true;

export function exactRef(x: VariantInputs): { out: Mat[]; probs: Mat[] } {
  const Q = heads3(x.q, x.heads, x.n, x.d), K = heads3(x.k, x.heads, x.m, x.d), V = heads3(x.v, x.heads, x.m, x.d);
  const res = Q.map((_, h) => softmaxAttention(Q[h], K[h], V[h], x.causal ? causalMask : all));
  return { out: res.map((r) => r[0]), probs: res.map((r) => r[1]) };
}

export function close(actual: ArrayLike<number>, expected: number[], tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0, at = 0;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i]));
    if (!(err <= worst)) { worst = err; at = i; }
  }
  assert.ok(worst <= tol, `${what}: error ${worst.toExponential(2)} at ${at} (got ${actual[at]}, want ${expected[at]})`);
}

/** Kernel attention from its definition: out_i = Σ_j s_ij v_j / Σ_j s_ij with s_ij = φ(q_i)·φ(k_j). */
export function kernelRef(phiQ: Mat, phiK: Mat, v: Mat, isCausal: boolean): { out: Mat; map: Mat } {
  const map = phiQ.map((qi, i) => {
    const s = phiK.map((kj, j) => (!isCausal || j <= i ? dot(qi, kj) : 0));
    const z = s.reduce((a, b) => a + b, 0);
    return s.map((x) => x / z);
  });
  return { out: matmul(map, v), map };
}

export const rowsOf = (a: Float32Array, rows: number, cols: number): Mat => Array.from({ length: rows }, (_, i) => Array.from(a.subarray(i * cols, (i + 1) * cols)));
/** Indices of the k largest entries (ties: lower index first). */
export const topk = (a: number[], k: number) => a.map((v, i) => [v, i]).sort((p, q) => q[0] - p[0] || p[1] - q[1]).slice(0, k).map((p) => p[1]);
