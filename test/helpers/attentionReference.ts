/**
 * The attention probabilities of the graphs in attentionGraphs.ts computed from the published
 * equations in plain TypeScript (float64), sharing nothing with onnxruntime or the graph
 * builder: the independent side of every capture test.
 */
import type { TinyTransformer } from './attentionGraphs';

/** x [n, a] @ W [a, b] in float64. */
function matmul(x: Float64Array, W: Float32Array, n: number, a: number, b: number): Float64Array {
  const out = new Float64Array(n * b);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < a; k++) {
      const xv = x[i * a + k];
      for (let j = 0; j < b; j++) out[i * b + j] += xv * W[k * b + j];
    }
  }
  return out;
}

/**
 * Every layer's attention probabilities, [heads, n, n] C order, computed from the equations
 * (softmax(q k^T / sqrt(d) + mask)) in float64, without onnxruntime. attentionMask (HF style
 * only) marks padded keys with 0; positions are 0..n-1 and token types 0, as the capture feeds.
 * keep (simulated KV-cache eviction) hides key j from query i of head hd in layer l when false.
 */
export function referenceProbabilities(model: TinyTransformer, ids: number[], attentionMask?: number[], keep?: (l: number, hd: number, i: number, j: number) => boolean): Float32Array[] {
  const w = model.weights;
  const { heads: h, headDim: d, dModel: D } = w;
  const n = ids.length;
  let x = new Float64Array(n * D);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < D; j++) {
      x[i * D + j] = w.embed[ids[i] * D + j] + (w.positions ? w.positions[i * D + j] : 0) + (w.tokenTypes ? w.tokenTypes[j] : 0);
    }
  }
  const result: Float32Array[] = [];
  for (const [l, lw] of w.layers.entries()) {
    const q = matmul(x, lw.wq, n, D, D);
    const k = matmul(x, lw.wk, n, D, D);
    const v = matmul(x, lw.wv, n, D, D);
    const probs = new Float32Array(h * n * n);
    const ctx = new Float64Array(n * D);
    for (let hd = 0; hd < h; hd++) {
      for (let i = 0; i < n; i++) {
        const row = new Float64Array(n);
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let c = 0; c < d; c++) s += q[i * D + hd * d + c] * k[j * D + hd * d + c];
          s /= Math.sqrt(d);
          if (model.style !== 'hf') {
            s += j > i ? -1e9 : 0;
          } else {
            s += (1 - (attentionMask ? attentionMask[j] : 1)) * -1e9;
            if (j > i) s = -Infinity;
          }
          if (keep && j <= i && !keep(l, hd, i, j)) s = -Infinity;
          row[j] = s;
        }
        const max = Math.max(...row);
        let sum = 0;
        for (let j = 0; j < n; j++) sum += row[j] = Math.exp(row[j] - max);
        for (let j = 0; j < n; j++) {
          const p = row[j] / sum;
          probs[hd * n * n + i * n + j] = p;
          for (let c = 0; c < d; c++) ctx[i * D + hd * d + c] += p * v[j * D + hd * d + c];
        }
      }
    }
    const out = matmul(ctx, lw.wo, n, D, D);
    x = x.map((xv, i) => xv + out[i]);
    result.push(probs);
  }
  return result;
}
