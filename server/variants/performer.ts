/**
 * Random-feature attention: the softmax kernel exp(q·k/√d) estimated by positive random
 * features φ(x) = exp(wᵀx − |x|²/2)/√r (Choromanski et al. 2021, "Rethinking Attention with
 * Performers", FAVOR+, Lemma 1), the estimator that Peng et al. 2021 ("Random Feature
 * Attention") build on with sin/cos features. Inputs are scaled by d^(-1/4) so that
 * E[φ(q)·φ(k)] = exp(q·k/√d). With `trig: 1` the features are RFA's own (eq. 5): q and k are
 * ℓ2-normalised and φ(x) = [sin(Wx/σ), cos(Wx/σ)]/√r, so φ(x)·φ(y) estimates exp(x·y/σ²) up to a
 * constant; RFA's learned gate (recency bias) is not modelled.
 */
import { finish, qkvGraph, wantMap } from './graphParts';
import { kernelAttention, kernelFlops, kernelMemory } from './kernelAttention';
import { gaussian, subSeed } from './rng';
import type { VariantSpec } from './types';

/**
 * Projection rows w_1..w_r [r, d], i.i.d. N(0, I) or, with `orthogonal`, blocks of d orthogonal
 * directions with chi-distributed norms (FAVOR+'s lower-variance choice), all from the seed.
 */
export function randomFeatures(d: number, r: number, seed: number, orthogonal: boolean): Float32Array {
  const w = gaussian(r * d, subSeed(seed, 11));
  if (!orthogonal) return w;
  const norms = gaussian(r * d, subSeed(seed, 12));
  for (let b = 0; b < r; b += d) {
    // Gram-Schmidt within a block of up to d rows (in float64 for stability).
    const rows: Float64Array[] = [];
    for (let i = b; i < Math.min(r, b + d); i++) {
      const row = Float64Array.from(w.subarray(i * d, (i + 1) * d));
      for (const prev of rows) {
        let dot = 0;
        for (let c = 0; c < d; c++) dot += row[c] * prev[c];
        for (let c = 0; c < d; c++) row[c] -= dot * prev[c];
      }
      const len = Math.hypot(...row) || 1;
      for (let c = 0; c < d; c++) row[c] /= len;
      rows.push(row);
      // Norm of a fresh Gaussian vector, so each row keeps the marginal of N(0, I).
      let chi = 0;
      for (let c = 0; c < d; c++) chi += norms[i * d + c] ** 2;
      for (let c = 0; c < d; c++) w[i * d + c] = row[c] * Math.sqrt(chi);
    }
  }
  return w;
}

export const performer: VariantSpec = {
  id: 'performer',
  paper: 'Choromanski et al. 2021, Rethinking Attention with Performers; Peng et al. 2021, Random Feature Attention',
  summary: 'Softmax kernel estimated by r positive random features exp(wᵀx − |x|²/2)/√r, linear in n',
  exact: false,
  sparse: false,
  defaults: { features: 64, orthogonal: 1, chunk: 64, trig: 0, sigma: 1 },
  cost: { name: 'Performer (FAVOR+)', from: 'analytic' },
  build(x, params) {
    const r = Math.max(1, Math.round(params.features ?? 64));
    const orthogonal = (params.orthogonal ?? 1) !== 0;
    const qkv = qkvGraph('performer', x);
    const { g } = qkv;
    const w = g.f32('w_t', [x.d, r], transpose(randomFeatures(x.d, r, x.seed, orthogonal), r, x.d));
    const invSqrtR = g.scalar('inv_sqrt_r', 1 / Math.sqrt(r));
    // Stabilisers (a max per query row, one max per head over all keys) cancel between the
    // numerator and denominator; they only keep exp() finite.
    const phi = (t: string, stabAxes: number[]) => {
      const xs = g.node('Mul', [t, g.scalar('d_quarter', x.d ** -0.25)]);
      const half = g.scalar('half', 0.5);
      const sq = g.node('ReduceSum', [g.node('Mul', [xs, xs]), g.i64('axes', [-1])], { attrs: { keepdims: 1 } });
      const logits = g.node('Sub', [g.node('MatMul', [xs, w]), g.node('Mul', [sq, half])]);
      const stab = g.node('ReduceMax', [logits, g.i64('axes', stabAxes)], { attrs: { keepdims: 1 } });
      return g.node('Mul', [g.node('Exp', [g.node('Sub', [logits, stab])]), invSqrtR]);
    };
    const trig = (params.trig ?? 0) !== 0;
    const sigma = params.sigma ?? 1;
    // RFA: on the unit sphere, cos(w·(x−y)/σ) averages to exp((x·y − 1)/σ²).
    const phiTrig = (t: string) => {
      const norm = g.node('Sqrt', [g.node('ReduceSum', [g.node('Mul', [t, t]), g.i64('axes', [-1])], { attrs: { keepdims: 1 } })]);
      const z = g.node('Mul', [g.node('MatMul', [g.node('Div', [t, norm]), w]), g.scalar('inv_sigma', 1 / sigma)]);
      return g.node('Mul', [g.node('Concat', [g.node('Sin', [z]), g.node('Cos', [z])], { attrs: { axis: -1 } }), invSqrtR]);
    };
    const [fq, fk] = trig ? [phiTrig(qkv.q), phiTrig(qkv.k)] : [phi(qkv.q, [-1]), phi(qkv.k, [1, 2])];
    const { out, map } = kernelAttention(g, fq, fk, qkv.v, { ...x, r: trig ? 2 * r : r, chunk: params.chunk }, wantMap(params));
    return finish(
      qkv, out, map,
      [
        `random features: ${r} ${orthogonal ? 'orthogonal (Gram-Schmidt blocks, chi norms)' : 'i.i.d.'} Gaussian projections from seed ${x.seed}`,
        trig
          ? `RFA sin/cos features on ℓ2-normalised q, k with σ = ${sigma}: estimates softmax(q̂·k̂/σ²), not the layer's softmax(QKᵀ/√d); denominators can approach 0`
          : 'positive features, unbiased for exp(q·k/√d) per pair; the ratio (attention output) is consistent, not unbiased',
      ],
      trig
        ? 'implied map φ(q_i)·φ(k_j) / Σ_j φ(q_i)·φ(k_j) with RFA features: estimates softmax(q̂·k̂/σ²), entries may be negative'
        : 'implied map φ(q_i)·φ(k_j) / Σ_j φ(q_i)·φ(k_j): a random-feature estimate of softmax(QKᵀ/√d)',
    );
  },
  // Features: the r×d projection plus exp per element.
  flops: (n, m, d, h, p) => kernelFlops(n, m, d, h, p.features ?? 64, 2 * d * (p.features ?? 64) + 3 * d + 4 * (p.features ?? 64)),
  memoryBytes: (n, m, d, h, p) => kernelMemory(n, m, d, h, p.features ?? 64, p.chunk ?? 64),
};

function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
  return t;
}
