/**
 * Linformer (Wang et al. 2020, "Linformer: Self-Attention with Linear Complexity", eq. 7):
 * keys and values are projected along the sequence, K' = E K and V' = F V with E, F ∈ R^{k×m},
 * so the map is n×k. E and F are learned in the paper; here they are seeded Gaussian
 * N(0, 1/k) (the Johnson-Lindenstrauss construction of its Theorem 1), or with `projection: 1`
 * mean pooling over m/k consecutive positions (its "general projections"), or the identity
 * when k ≥ m, where Linformer is exact attention.
 */
import { causal, finish, qkvGraph, scores, softmax, wantMap } from './graphParts';
import { gaussian, subSeed } from './rng';
import type { VariantSpec } from './types';
import * as F from '../efficiency/formulas';
import { materialised } from './costModel';

export const linformer: VariantSpec = {
  id: 'linformer',
  paper: 'Wang et al. 2020, Linformer: Self-Attention with Linear Complexity',
  summary: 'softmax(Q(EK)ᵀ/√d)(FV): keys and values projected along the sequence to length k',
  exact: false,
  sparse: false,
  defaults: { k: 64, projection: 0 },
  cost: {
    name: 'Linformer', source: 'Wang et al. 2020 (k = 256)',
    note: 'Linformer is not causal: a decode step re-projects the whole cache.',
    defaults: () => ({ k: 256 }),
    layer: (c, p) => {
      const k = p.k;
      const base = materialised(c, k, c.kvHeads, c.m);
      // Projected K and V (k x d each) are written and read back once per head.
      const core = base.coreElements + c.heads * 4 * k * c.headDim;
      return { ...base, otherFlops: c.heads * F.linformerProjectionFlops(c.m, k, c.headDim), coreElements: core, cacheElements: 2 * c.kvHeads * c.headDim * c.m };
    },
  },
  build(x, params) {
    const k = Math.min(x.m, Math.max(1, Math.round(params.k ?? 64)));
    const identity = k === x.m;
    const pooling = (params.projection ?? 0) === 1;
    const qkv = qkvGraph('linformer', x);
    const { g } = qkv;
    const proj = (salt: number) => {
      if (identity) {
        const eye = new Float32Array(k * x.m);
        for (let i = 0; i < k; i++) eye[i * x.m + i] = 1;
        return g.f32('proj', [k, x.m], eye);
      }
      if (pooling) return g.f32('proj', [k, x.m], meanPooling(k, x.m));
      return g.f32('proj', [k, x.m], gaussian(k * x.m, subSeed(x.seed, salt), 1 / Math.sqrt(k)));
    };
    const E = proj(21);
    const F = proj(22);
    const kp = g.node('MatMul', [E, qkv.k]); // [h,k,d]
    const vp = g.node('MatMul', [F, qkv.v]);
    let s = scores(g, qkv.q, kp, 1 / Math.sqrt(x.d));
    const notes = [
      identity
        ? `k = m = ${k}: E = F = identity, so this is exact softmax attention`
        : pooling
          ? `E = F = mean pooling of ${x.m} positions into ${k} (the paper's general projections; learned E, F in its main results)`
          : `E, F: seeded N(0, 1/k) Gaussian [${k}×${x.m}] from seed ${x.seed} (learned in the paper)`,
    ];
    if (x.causal) {
      if (identity) s = causal(g, s, x, 0, x.n, 0, x.m);
      else notes.push('causal model: projections along the sequence mix future tokens into every row; Linformer is an encoder method, so no mask is applied');
    }
    const p = softmax(g, s); // [h,n,k]
    const out = g.node('MatMul', [p, vp]);
    // P F maps the original values to the output: the map that stands for attention over m keys.
    const map = wantMap(params) ? g.node('MatMul', [p, F]) : undefined;
    return finish(
      qkv, out, map, notes,
      identity || pooling
        ? identity ? 'softmax probabilities (identity projections)' : 'P·F: each pooled probability spread evenly over its positions (rows sum to 1)'
        : 'P·F: the weight each original value gets in the output (rows need not be non-negative or sum to 1)',
    );
  },
  flops: (n, m, d, h, p) => {
    const k = Math.min(m, p.k ?? 64);
    return h * (4 * k * m * d + 4 * n * k * d + 5 * n * k);
  },
  // Projected K', V' and the n×k scores/probabilities.
  memoryBytes: (n, m, d, h, p) => {
    const k = Math.min(m, p.k ?? 64);
    return 4 * (h * (2 * k * d + 2 * n * k + n * d) + 2 * k * m);
  },
};

/** Row i averages positions [⌊i·m/k⌋, ⌊(i+1)·m/k⌋). */
export function meanPooling(k: number, m: number): Float32Array {
  const e = new Float32Array(k * m);
  for (let i = 0; i < k; i++) {
    const a = Math.floor((i * m) / k);
    const b = Math.floor(((i + 1) * m) / k);
    for (let j = a; j < b; j++) e[i * m + j] = 1 / (b - a);
  }
  return e;
}
