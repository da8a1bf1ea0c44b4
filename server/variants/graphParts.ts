/**
 * Subgraphs shared by the attention variants: the Q/K/V inputs, scaled scores, causal and
 * pattern masks, masked softmax. Masks are additive with NEG rather than -Infinity so a fully
 * masked tile (FlashAttention, chunked, LSH) yields exp(NEG - max) = 0 instead of NaN.
 */
import { GraphBuilder } from '../onnx/graphBuilder';
import type { BuiltVariant, VariantInputs, VariantParams } from './types';

export const NEG = -1e30;
/** Opset 18: ScatterElements with reduction='add', ReduceMax/ReduceSum with axes as input. */
export const OPSET = 18;

export interface QKV {
  g: GraphBuilder;
  q: string;
  k: string;
  v: string;
  feeds: BuiltVariant['feeds'];
}

/** A fresh graph whose inputs are the captured q [h,n,d], k [h,m,d], v [h,m,d]. */
export function qkvGraph(name: string, x: VariantInputs): QKV {
  checkInputs(x);
  const g = new GraphBuilder(name, OPSET);
  const q = g.input('q', 'float32', [x.heads, x.n, x.d]);
  const k = g.input('k', 'float32', [x.heads, x.m, x.d]);
  const v = g.input('v', 'float32', [x.heads, x.m, x.d]);
  return {
    g, q, k, v,
    feeds: {
      q: { data: x.q, dims: [x.heads, x.n, x.d] },
      k: { data: x.k, dims: [x.heads, x.m, x.d] },
      v: { data: x.v, dims: [x.heads, x.m, x.d] },
    },
  };
}

export function checkInputs(x: VariantInputs): void {
  const { heads, n, m, d } = x;
  if (x.q.length !== heads * n * d || x.k.length !== heads * m * d || x.v.length !== heads * m * d) {
    throw new Error(
      `variant inputs: q/k/v lengths ${x.q.length}/${x.k.length}/${x.v.length} do not match heads=${heads} n=${n} m=${m} d=${d}`,
    );
  }
}

/** Whether the caller wants the [h,n,m] map (param `map`, default 1); benches turn it off at large n. */
export function wantMap(params: VariantParams): boolean {
  return (params.map ?? 1) !== 0;
}

/** scale · a bᵀ over the last two axes: a [..., r, d], b [..., c, d] -> [..., r, c]. */
export function scores(g: GraphBuilder, a: string, b: string, scale: number, rank = 3): string {
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  const bt = g.node('Transpose', [b], { attrs: { perm } });
  const s = g.node('MatMul', [a, bt]);
  return scale === 1 ? s : g.node('Mul', [s, g.scalar('scale', scale)]);
}

/**
 * Causal mask over a block of scores [..., rows, cols] whose first row is query `row0` and first
 * column key `col0`. Query i sees key j iff j <= i + (m - n) (keys may include a cached prefix).
 * Built from two small index vectors, so its size stays linear in the block.
 */
export function causal(
  g: GraphBuilder, s: string, x: { n: number; m: number }, row0: number, rows: number, col0: number, cols: number,
): string {
  const shift = x.m - x.n;
  const r = g.f32('rows', [rows, 1], Float32Array.from({ length: rows }, (_, i) => row0 + i + shift));
  const c = g.f32('cols', [1, cols], Float32Array.from({ length: cols }, (_, j) => col0 + j));
  const hidden = g.node('Greater', [c, r]);
  return g.node('Where', [hidden, g.scalar('neg', NEG), s]);
}

/** Additive mask from a 0/1 pattern (1 = allowed), stored as a constant of the given dims. */
export function patternMask(g: GraphBuilder, allow: Uint8Array, dims: number[]): string {
  const m = new Float32Array(allow.length);
  for (let i = 0; i < allow.length; i++) m[i] = allow[i] ? 0 : NEG;
  return g.f32('pattern_mask', dims, m);
}

export function softmax(g: GraphBuilder, s: string): string {
  return g.node('Softmax', [s], { attrs: { axis: -1 } });
}

/** Exact scaled dot-product probabilities [h,n,m] (Vaswani et al. 2017), causal when asked. */
export function exactProbs(qkv: QKV, x: VariantInputs, scale = 1 / Math.sqrt(x.d)): string {
  let s = scores(qkv.g, qkv.q, qkv.k, scale);
  if (x.causal) s = causal(qkv.g, s, x, 0, x.n, 0, x.m);
  return softmax(qkv.g, s);
}

/** Declares the output (and map) and packages the built variant. */
export function finish(
  qkv: QKV, out: string, map: string | undefined, notes: string[], mapMeaning?: string,
): BuiltVariant {
  const { g } = qkv;
  const outputName = g.node('Identity', [out], { outputs: ['output'] });
  g.output(outputName);
  let mapName: string | undefined;
  if (map) {
    mapName = g.node('Identity', [map], { outputs: ['map'] });
    g.output(mapName);
  }
  return { model: g.toBytes(), feeds: qkv.feeds, outputName, mapName, mapMeaning, notes };
}

/** Row-wise max / sum over the last axis, kept as [..., 1]. */
export function rowMax(g: GraphBuilder, s: string): string {
  return g.node('ReduceMax', [s, g.i64('axes', [-1])], { attrs: { keepdims: 1 } });
}
export function rowSum(g: GraphBuilder, s: string): string {
  return g.node('ReduceSum', [s, g.i64('axes', [-1])], { attrs: { keepdims: 1 } });
}

/** Slice along one axis [start, end). */
export function slice(g: GraphBuilder, t: string, axis: number, start: number, end: number): string {
  return g.node('Slice', [t, g.i64('starts', [start]), g.i64('ends', [end]), g.i64('axes', [axis])]);
}

/** Causal mask (if asked), softmax over keys, weighted sum of V; the map is the probabilities. */
export function softmaxAttend(qkv: QKV, x: VariantInputs, s: string, notes: string[]): BuiltVariant {
  const masked = x.causal ? causal(qkv.g, s, x, 0, x.n, 0, x.m) : s;
  const p = softmax(qkv.g, masked);
  return finish(qkv, qkv.g.node('MatMul', [p, qkv.v]), p, notes);
}

/** FLOPs of a dense map followed by P·V, for scoring functions that differ only in the score. */
export function denseFlops(n: number, m: number, d: number, h: number, scoreFlops: number): number {
  return h * (scoreFlops + 2 * n * m * d + 5 * n * m);
}

/**
 * t + 0·min(dep): the same values, but a data dependency on dep. onnxruntime orders independent
 * nodes freely and would compute every tile's scores before consuming any; chaining each tile's
 * key slice to the previous tile's results (all of them: onnxruntime defers a row sum to the end
 * otherwise, keeping every exp tile alive) keeps one score tile alive at a time.
 */
export function after(g: GraphBuilder, t: string, ...deps: string[]): string {
  let out = t;
  for (const dep of deps) {
    const zero = g.node('Mul', [g.node('ReduceMin', [dep], { attrs: { keepdims: 0 } }), g.scalar('zero', 0)]);
    out = g.node('Add', [out, zero]);
  }
  return out;
}
