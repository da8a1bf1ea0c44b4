/**
 * How much an ablation changes a model's output, in float64: KL divergence of next-token
 * distributions read from logits, and the relative L2 change of hidden states.
 */

function logSoftmax(x: Float32Array, start: number, len: number): Float64Array {
  let mx = -Infinity;
  for (let i = 0; i < len; i++) mx = Math.max(mx, x[start + i]);
  let z = 0;
  for (let i = 0; i < len; i++) z += Math.exp(x[start + i] - mx);
  const lz = mx + Math.log(z);
  const out = new Float64Array(len);
  for (let i = 0; i < len; i++) out[i] = x[start + i] - lz;
  return out;
}

/** KL(p ‖ q) in nats of softmax(full) and softmax(ablated) at the last of n positions (logits [.., n, V]). */
export function klLastPosition(full: Float32Array, ablated: Float32Array, n: number): number {
  const V = full.length / n;
  const lp = logSoftmax(full, (n - 1) * V, V);
  const lq = logSoftmax(ablated, (n - 1) * V, V);
  let kl = 0;
  for (let i = 0; i < V; i++) kl += Math.exp(lp[i]) * (lp[i] - lq[i]);
  return Math.max(0, kl);
}

/** ‖b − a‖ / ‖a‖ over all values. */
export function relativeL2(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (b[i] - a[i]) ** 2;
    den += a[i] * a[i];
  }
  return den > 0 ? Math.sqrt(num / den) : 0;
}
