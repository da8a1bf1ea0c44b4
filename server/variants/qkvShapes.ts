/**
 * Turning the tensors found around one attention Softmax into VariantInputs: Q [.., n, d],
 * Kᵀ [.., d, m] and V [.., m, d] folded to [heads, ., .] (grouped-query K/V repeated to the
 * query heads), the model's score scale recovered from its own probabilities, and causality
 * read off the map.
 */
import { UserError } from '../../common/errors';

export interface Tensor {
  data: Float32Array;
  dims: number[];
}

function fold(t: Tensor, what: string): { heads: number; rows: number; cols: number; data: Float32Array } {
  if (t.dims.length < 2) throw new UserError(`${what}: tensor of rank ${t.dims.length}, expected [.., rows, cols]`);
  const rows = t.dims[t.dims.length - 2];
  const cols = t.dims[t.dims.length - 1];
  return { heads: t.data.length / (rows * cols), rows, cols, data: t.data };
}

/** Repeats kv heads to match query heads (grouped-query attention shares one K/V per group). */
function repeatHeads(data: Float32Array, from: number, to: number, per: number, what: string): Float32Array {
  if (from === to) return data;
  if (to % from !== 0) throw new UserError(`${what}: ${from} key/value heads do not divide ${to} query heads`);
  const out = new Float32Array(to * per);
  for (let h = 0; h < to; h++) out.set(data.subarray(Math.floor(h / (to / from)) * per, (Math.floor(h / (to / from)) + 1) * per), h * per);
  return out;
}

export function normaliseQkv(q: Tensor, kt: Tensor, v: Tensor, what: string) {
  const Q = fold(q, `${what} queries`);
  const KT = fold(kt, `${what} keys`);
  const V = fold(v, `${what} values`);
  const { heads, rows: n, cols: d } = Q;
  const m = KT.cols;
  if (KT.rows !== d || V.rows !== m) {
    throw new UserError(`${what}: Q [${q.dims}], Kᵀ [${kt.dims}], V [${v.dims}] do not line up as Q·Kᵀ then P·V`);
  }
  if (V.cols !== d) throw new UserError(`${what}: value dim ${V.cols} differs from query dim ${d}; variants need equal head dims`);
  const k = new Float32Array(KT.heads * m * d);
  for (let h = 0; h < KT.heads; h++) {
    for (let c = 0; c < d; c++) for (let j = 0; j < m; j++) k[(h * m + j) * d + c] = KT.data[(h * d + c) * m + j];
  }
  return {
    heads, n, m, d,
    q: Q.data.slice(),
    k: repeatHeads(k, KT.heads, heads, m * d, what),
    v: repeatHeads(V.data, V.heads, heads, m * d, what),
  };
}

/** True when the map puts no mass above the (shifted) diagonal. */
export function looksCausal(p: Float32Array, heads: number, n: number, m: number): boolean {
  if (n < 2) return false;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < n; i++) for (let j = i + m - n + 1; j < m; j++) if (p[(h * n + i) * m + j] > 1e-7) return false;
  }
  return true;
}

/**
 * The factor s with P ≈ softmax(s · Q Kᵀ): least squares of log p against q·k within each row
 * (row constants removed), over entries the mask leaves visible. Exports differ in where they
 * put 1/√d (after the MatMul, or d^-1/4 on both Q and K), so it is measured, not assumed.
 */
export function scoreScale(x: { q: Float32Array; k: Float32Array; heads: number; n: number; m: number; d: number }, p: Float32Array): number {
  const { heads, n, m, d } = x;
  let num = 0;
  let den = 0;
  const rowStep = Math.max(1, Math.floor((heads * n) / 256));
  for (let r = 0; r < heads * n; r += rowStep) {
    const h = Math.floor(r / n);
    const s: number[] = [];
    const l: number[] = [];
    for (let j = 0; j < m; j++) {
      const pj = p[r * m + j];
      if (pj < 1e-6) continue;
      let dot = 0;
      for (let c = 0; c < d; c++) dot += x.q[r * d + c] * x.k[(h * m + j) * d + c];
      s.push(dot);
      l.push(Math.log(pj));
    }
    if (s.length < 2) continue;
    const ms = s.reduce((a, b) => a + b, 0) / s.length;
    const ml = l.reduce((a, b) => a + b, 0) / l.length;
    for (let j = 0; j < s.length; j++) {
      num += (s[j] - ms) * (l[j] - ml);
      den += (s[j] - ms) ** 2;
    }
  }
  return den > 0 ? num / den : 1 / Math.sqrt(d);
}
