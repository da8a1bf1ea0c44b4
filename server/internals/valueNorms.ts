/**
 * Value-weighted attention (Kobayashi et al. 2020, "Attention is Not Only a Weight"): head h
 * moves α_h(q,k)·f_h(x_k) into query q, where f_h(x_k) = v_h(x_k)·W_O[h] is the key's value
 * through the head's slice of the output projection (bias excluded, it does not depend on k).
 * Since α ≥ 0, ‖α·f‖ = α·‖f‖: the map is the attention map with each key column scaled by
 * ‖f_h(x_k)‖. And the context-mixing ratio with the residual (Kobayashi et al. 2021, the
 * attention + residual form): how much of what a token carries out of the block comes from
 * other tokens.
 */

export interface HeadTensors {
  heads: number;
  n: number;
  m: number;
  d: number;
  /** [heads, m, d], grouped-query values already repeated per query head. */
  v: Float32Array;
  /** [heads, n, m] */
  probs: Float32Array;
}

/** ‖f_h(x_k)‖ for every head and key: [heads, m]. wo is [heads·d, dModel]. */
export function transformedValueNorms(x: HeadTensors, wo: Float32Array, dModel: number): Float32Array {
  const { heads, m, d } = x;
  const out = new Float32Array(heads * m);
  const f = new Float64Array(dModel);
  for (let h = 0; h < heads; h++) {
    for (let k = 0; k < m; k++) {
      f.fill(0);
      for (let c = 0; c < d; c++) {
        const vc = x.v[(h * m + k) * d + c];
        const row = (h * d + c) * dModel;
        for (let o = 0; o < dModel; o++) f[o] += vc * wo[row + o];
      }
      let s = 0;
      for (let o = 0; o < dModel; o++) s += f[o] * f[o];
      out[h * m + k] = Math.sqrt(s);
    }
  }
  return out;
}

/** ‖α_h(q,k)·f_h(x_k)‖ as [heads, n, m] from the maps and the per-key norms. */
export function valueWeightedMaps(probs: Float32Array, norms: Float32Array, heads: number, n: number, m: number): Float32Array {
  const out = new Float32Array(heads * n * m);
  for (let h = 0; h < heads; h++) {
    for (let q = 0; q < n; q++) {
      const r = (h * n + q) * m;
      for (let k = 0; k < m; k++) out[r + k] = probs[r + k] * norms[h * m + k];
    }
  }
  return out;
}

/**
 * Per query token i: ‖Σ_h Σ_{j≠i} α f_h(x_j)‖ / (‖Σ_h Σ_{j≠i} α f_h(x_j)‖ + ‖Σ_h α_ii f_h(x_i) + r_i‖),
 * with r the residual stream [n, dModel]. Self-attention only (n = m).
 */
export function mixingRatios(x: HeadTensors, wo: Float32Array, dModel: number, residual: Float32Array): Float32Array {
  const { heads, n, m, d } = x;
  const out = new Float32Array(n);
  const mix = new Float64Array(dModel);
  const keep = new Float64Array(dModel);
  const ctxOther = new Float64Array(d);
  const ctxSelf = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    mix.fill(0);
    for (let o = 0; o < dModel; o++) keep[o] = residual[i * dModel + o];
    for (let h = 0; h < heads; h++) {
      ctxOther.fill(0);
      ctxSelf.fill(0);
      for (let j = 0; j < m; j++) {
        const a = x.probs[(h * n + i) * m + j];
        if (a === 0) continue;
        const into = j === i ? ctxSelf : ctxOther;
        for (let c = 0; c < d; c++) into[c] += a * x.v[(h * m + j) * d + c];
      }
      for (let c = 0; c < d; c++) {
        const row = (h * d + c) * dModel;
        for (let o = 0; o < dModel; o++) {
          mix[o] += ctxOther[c] * wo[row + o];
          keep[o] += ctxSelf[c] * wo[row + o];
        }
      }
    }
    let a = 0;
    let b = 0;
    for (let o = 0; o < dModel; o++) {
      a += mix[o] * mix[o];
      b += keep[o] * keep[o];
    }
    const na = Math.sqrt(a);
    const nb = Math.sqrt(b);
    out[i] = na + nb > 0 ? na / (na + nb) : 0;
  }
  return out;
}
