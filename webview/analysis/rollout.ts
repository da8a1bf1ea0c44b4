/**
 * Attention rollout (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers").
 * The residual connection carries each token's own state past every layer, so a layer's
 * effective mixing is A' = 0.5 * mean_heads(A) + 0.5 * I, rows renormalised. Rollout composes
 * these from the input up: R_1 = A'_1, R_l = A'_l R_{l-1}; row i of R_l says how much of output
 * token i at layer l traces back to each input token.
 */
import { Mat, mat, normaliseRows } from './matrix';

/** 0.5 A + 0.5 I, rows renormalised: the residual-augmented attention of one layer. */
export function residualAugment(a: Mat): Mat {
  if (a.rows !== a.cols) throw new Error(`rollout needs square self-attention maps, got ${a.rows} x ${a.cols}`);
  const out = mat(a.rows, a.cols);
  for (let i = 0; i < a.data.length; i++) out.data[i] = 0.5 * a.data[i];
  for (let i = 0; i < a.rows; i++) out.data[i * a.cols + i] += 0.5;
  return normaliseRows(out);
}

export function matmul(a: Mat, b: Mat): Mat {
  if (a.cols !== b.rows) throw new Error(`matmul: ${a.rows} x ${a.cols} by ${b.rows} x ${b.cols}`);
  const out = mat(a.rows, b.cols);
  for (let i = 0; i < a.rows; i++) {
    for (let k = 0; k < a.cols; k++) {
      const x = a.data[i * a.cols + k];
      if (x === 0) continue; // causal maps are half zeros
      for (let j = 0; j < b.cols; j++) out.data[i * b.cols + j] += x * b.data[k * b.cols + j];
    }
  }
  return out;
}

/**
 * Rollout after each layer, from head-mean maps given bottom layer first: element l is R_{l+1}
 * (the last element is the full rollout).
 */
export function rollout(layerMeans: Mat[]): Mat[] {
  const out: Mat[] = [];
  let acc: Mat | undefined;
  for (const a of layerMeans) {
    const aug = residualAugment(a);
    acc = acc ? matmul(aug, acc) : aug;
    out.push(acc);
  }
  return out;
}
