/**
 * Kernelized attention shared by linear attention (Katharopoulos et al. 2020) and random-feature
 * attention (Peng et al. 2021; Choromanski et al. 2021): out_i = φ(q_i)ᵀ S / φ(q_i)ᵀ z with
 * S = Σ_j φ(k_j) v_jᵀ and z = Σ_j φ(k_j). Causal attention is the paper's RNN view computed in
 * chunks: exclusive prefix sums (ONNX CumSum) of per-chunk states carry the past, a masked c×c
 * product handles the chunk itself, so memory grows with n/c states rather than n. The
 * non-causal form never builds an n×m matrix.
 */
import type { GraphBuilder } from '../onnx/graphBuilder';
import { slice } from './graphParts';

export interface KernelShape {
  heads: number;
  n: number;
  m: number;
  d: number;
  /** Feature dimension of φ. */
  r: number;
  causal: boolean;
  /** Causal chunk length (default 64). */
  chunk?: number;
}

/** Returns { out [h,n,d], map [h,n,m] or undefined }: φq [h,n,r], φk [h,m,r], v [h,m,d]. */
export function kernelAttention(
  g: GraphBuilder, phiQ: string, phiK: string, v: string, s: KernelShape, withMap: boolean,
): { out: string; map?: string } {
  const { heads: h, n, m, d, r } = s;
  let num: string;
  let den: string;
  if (s.causal && m === n) {
    [num, den] = chunkedCausal(g, phiQ, phiK, v, s);
  } else if (s.causal) {
    // Keys include a cached prefix: query i sees keys j <= i + (m - n), so prefix states over all
    // keys, then the last n positions.
    const axis = g.i64('axis1', [1], []);
    const kv = g.node('Mul', [
      g.node('Reshape', [phiK, g.i64('shape', [h, m, r, 1])]),
      g.node('Reshape', [v, g.i64('shape', [h, m, 1, d])]),
    ]);
    const states = slice(g, g.node('CumSum', [kv, axis]), 1, m - n, m); // [h,n,r,d]
    const q4 = g.node('Reshape', [phiQ, g.i64('shape', [h, n, 1, r])]);
    num = g.node('Reshape', [g.node('MatMul', [q4, states]), g.i64('shape', [h, n, d])]);
    const z = slice(g, g.node('CumSum', [phiK, axis]), 1, m - n, m); // [h,n,r]
    den = g.node('ReduceSum', [g.node('Mul', [phiQ, z]), g.i64('axes', [-1])], { attrs: { keepdims: 1 } });
  } else {
    const kT = g.node('Transpose', [phiK], { attrs: { perm: [0, 2, 1] } });
    num = g.node('MatMul', [phiQ, g.node('MatMul', [kT, v])]); // φQ (φKᵀV)
    const z = g.node('ReduceSum', [phiK, g.i64('axes', [1])], { attrs: { keepdims: 1 } }); // [h,1,r]
    den = g.node('ReduceSum', [g.node('Mul', [phiQ, z]), g.i64('axes', [-1])], { attrs: { keepdims: 1 } });
  }
  const out = g.node('Div', [num, den]);
  if (!withMap) return { out };
  // The implied map φ(q_i)·φ(k_j) / Σ_j φ(q_i)·φ(k_j): quadratic, so only when asked.
  let sim = g.node('MatMul', [phiQ, g.node('Transpose', [phiK], { attrs: { perm: [0, 2, 1] } })]);
  if (s.causal) {
    const rows = g.f32('rows', [n, 1], Float32Array.from({ length: n }, (_, i) => i + m - n));
    const cols = g.f32('cols', [1, m], Float32Array.from({ length: m }, (_, j) => j));
    sim = g.node('Where', [g.node('Greater', [cols, rows]), g.scalar('zero', 0), sim]);
  }
  const map = g.node('Div', [sim, den]);
  return { out, map };
}

/** Causal self-attention in chunks of c: returns numerator [h,n,d] and denominator [h,n,1]. */
function chunkedCausal(g: GraphBuilder, phiQ: string, phiK: string, v: string, s: KernelShape): [string, string] {
  const { heads: h, n, d, r } = s;
  const c = Math.min(n, Math.max(1, Math.round(s.chunk ?? 64)));
  const C = Math.ceil(n / c);
  const N = C * c;
  // Zero padding after φ: padded keys add nothing; padded query rows are sliced off below.
  const chunks = (t: string, w: number) => {
    const padded = N === n ? t : g.node('Pad', [t, g.i64('pads', [0, 0, 0, 0, N - n, 0])]);
    return g.node('Reshape', [padded, g.i64('shape', [h, C, c, w])]);
  };
  const qc = chunks(phiQ, r);
  const kc = chunks(phiK, r);
  const vc = chunks(v, d);
  const kcT = g.node('Transpose', [kc], { attrs: { perm: [0, 1, 3, 2] } });
  const axis = g.i64('axis1', [1], []);
  const past = g.node('CumSum', [g.node('MatMul', [kcT, vc]), axis], { attrs: { exclusive: 1 } }); // [h,C,r,d]
  const zc = g.node('ReduceSum', [kc, g.i64('axes', [2])], { attrs: { keepdims: 1 } }); // [h,C,1,r]
  const zPast = g.node('CumSum', [zc, axis], { attrs: { exclusive: 1 } });
  const tril = new Float32Array(c * c);
  for (let i = 0; i < c; i++) for (let j = 0; j <= i; j++) tril[i * c + j] = 1;
  const local = g.node('Mul', [g.node('MatMul', [qc, kcT]), g.f32('tril', [c, c], tril)]); // [h,C,c,c]
  const sumLast = (t: string) => g.node('ReduceSum', [t, g.i64('axes', [-1])], { attrs: { keepdims: 1 } });
  const num = g.node('Add', [g.node('MatMul', [qc, past]), g.node('MatMul', [local, vc])]);
  const den = g.node('Add', [sumLast(g.node('Mul', [qc, zPast])), sumLast(local)]);
  const unchunk = (t: string, w: number) => {
    const flat = g.node('Reshape', [t, g.i64('shape', [h, N, w])]);
    return N === n ? flat : slice(g, flat, 1, 0, n);
  };
  return [unchunk(num, d), unchunk(den, 1)];
}

/** FLOPs of kernelized attention given the feature cost per row. */
export function kernelFlops(n: number, m: number, d: number, h: number, r: number, featureFlopsPerRow: number): number {
  return h * ((n + m) * featureFlopsPerRow + 2 * m * r * d + 2 * n * r * d + 2 * (n + m) * r + n * d);
}

/**
 * Bytes of the largest live tensors: features, the key-value state(s) and the output. Causal
 * self-attention keeps one [r,d] state per chunk of c plus the c×c products within chunks.
 */
export function kernelMemory(n: number, m: number, d: number, h: number, r: number, causalChunk = 0): number {
  const chunks = causalChunk > 0 ? Math.ceil(n / causalChunk) : 1;
  const local = causalChunk > 0 ? n * Math.min(n, causalChunk) : 0;
  return 4 * h * ((n + m) * r + chunks * r * d + local + n * d);
}
