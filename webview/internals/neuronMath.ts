/**
 * The numbers of the neuron view for one head and one query: q ⊙ k per dimension and key, the
 * scaled scores (their column sums times the score factor) and the softmax, with keys after the
 * query masked for causal heads. Pure, so it is tested without a browser.
 */

export interface NeuronInput {
  head: number;
  query: number;
  n: number;
  d: number;
  /** [heads, n, d] */
  q: Float32Array;
  k: Float32Array;
  scale: number;
  causal: boolean;
  /** Sliding window: keys j ≤ query − window are masked too. */
  window?: number;
  tokens: string[];
}

export interface NeuronRow {
  products: Float64Array; // [d, n]
  scores: Float64Array; // [n], NaN where masked
  softmax: Float64Array; // [n]
}

/** q ⊙ k, scaled scores and softmax for one query of one head. */
export function neuronRow(x: NeuronInput): NeuronRow {
  const { head, query, n, d } = x;
  const products = new Float64Array(d * n);
  const scores = new Float64Array(n).fill(NaN);
  const softmax = new Float64Array(n);
  let mx = -Infinity;
  for (let j = 0; j < n; j++) {
    if ((x.causal && j > query) || (x.window !== undefined && j <= query - x.window)) continue;
    let s = 0;
    for (let c = 0; c < d; c++) {
      const p = x.q[(head * n + query) * d + c] * x.k[(head * n + j) * d + c];
      products[c * n + j] = p;
      s += p;
    }
    scores[j] = s * x.scale;
    mx = Math.max(mx, scores[j]);
  }
  let z = 0;
  for (let j = 0; j < n; j++) if (!Number.isNaN(scores[j])) z += (softmax[j] = Math.exp(scores[j] - mx));
  for (let j = 0; j < n; j++) softmax[j] /= z;
  return { products, scores, softmax };
}

