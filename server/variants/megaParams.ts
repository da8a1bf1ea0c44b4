/**
 * Seeded parameters of a Mega layer (Ma et al. 2022), which a standard checkpoint does not have.
 * Initialisation follows the reference implementation where it is informative (EMA α, δ through
 * sigmoids of N(0, 0.2²), β = ±1 + N(0, 0.02²), η ~ N(0, 1/h')), and uses 1/√fan_in Gaussians
 * for the projections so that an untrained layer still produces a non-degenerate map.
 */
import { gaussian, subSeed } from './rng';

export interface EmaParams {
  /** [D, h'] each. */
  alpha: Float32Array;
  delta: Float32Array;
  beta: Float32Array;
  eta: Float32Array;
}

export interface MegaParams {
  /** Forward EMA, and a second one read right to left for bidirectional (encoder) layers. */
  fwd: EmaParams;
  bwd: EmaParams;
  /** [D, z], [z]: shared representation Z = SiLU(X'Wz + bz). */
  wz: Float32Array;
  bz: Float32Array;
  /** [z] each: Q = κq⊙Z + μq, K = κk⊙Z + μk. */
  kq: Float32Array;
  mq: Float32Array;
  kk: Float32Array;
  mk: Float32Array;
  /** [D, v]: reset gate γ = SiLU(X'Wγ + bγ). */
  wg: Float32Array;
  bg: Float32Array;
  /** [D, D], [v, D], [D]: candidate Ĥ = SiLU(X'Wh + (γ⊙O)Uh + bh). */
  wh: Float32Array;
  uh: Float32Array;
  bh: Float32Array;
  /** [D, D], [D]: update gate φ = sigmoid(X'Wφ + bφ). */
  wf: Float32Array;
  bf: Float32Array;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

function ema(D: number, e: number, seed: number): EmaParams {
  const beta = gaussian(D * e, subSeed(seed, 2), 0.02);
  for (let i = 0; i < D * e; i++) beta[i] += i % e % 2 === 0 ? 1 : -1;
  return {
    alpha: gaussian(D * e, subSeed(seed, 0), 0.2).map(sigmoid),
    delta: gaussian(D * e, subSeed(seed, 1), 0.2).map(sigmoid),
    beta,
    eta: gaussian(D * e, subSeed(seed, 3), 1 / Math.sqrt(e)),
  };
}

/** D = width of the token states, e = EMA dimension h', z = shared dim, v = value dim (heads·d). */
export function megaParams(D: number, e: number, z: number, v: number, seed: number): MegaParams {
  const s = (salt: number) => subSeed(seed, 300 + salt);
  const kappa = (salt: number) => gaussian(z, s(salt), 0.02).map((x) => 1 + x);
  return {
    fwd: ema(D, e, s(0)),
    bwd: ema(D, e, s(1)),
    wz: gaussian(D * z, s(2), 1 / Math.sqrt(D)),
    bz: new Float32Array(z),
    kq: kappa(3),
    mq: new Float32Array(z),
    kk: kappa(4),
    mk: new Float32Array(z),
    wg: gaussian(D * v, s(5), 1 / Math.sqrt(D)),
    bg: new Float32Array(v),
    wh: gaussian(D * D, s(6), 1 / Math.sqrt(D)),
    uh: gaussian(v * D, s(7), 1 / Math.sqrt(v)),
    bh: new Float32Array(D),
    wf: gaussian(D * D, s(8), 1 / Math.sqrt(D)),
    bf: new Float32Array(D),
  };
}

/**
 * The EMA as a convolution kernel: y_t = Σ_j K[j] x_{t−j} with K_c[j] = Σ_e η α β (1 − αδ)^j,
 * unrolled from h_t = α⊙βx_t + (1 − α⊙δ)⊙h_{t−1}, y_t = ηᵀh_t (paper eq. 3). Returns [D, n].
 */
export function emaKernel(p: EmaParams, D: number, e: number, n: number): Float64Array {
  const k = new Float64Array(D * n);
  for (let c = 0; c < D; c++) {
    for (let i = 0; i < e; i++) {
      const at = c * e + i;
      const w = p.eta[at] * p.alpha[at] * p.beta[at];
      const decay = 1 - p.alpha[at] * p.delta[at];
      let pow = 1;
      for (let j = 0; j < n; j++, pow *= decay) k[c * n + j] += w * pow;
    }
  }
  return k;
}
