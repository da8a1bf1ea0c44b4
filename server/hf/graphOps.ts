/**
 * The transformer pieces the family builders share, as opset-17 subgraphs. A batch of one is
 * implied everywhere: activations are [T, hidden] and attention works on [heads, T, headDim],
 * which lets every projection be a single Gemm (transB for nn.Linear, plain for GPT-2 Conv1D).
 */
import type { GraphBuilder } from '../onnx/graphBuilder';
import type { Activation } from './config';

/** Additive mask value: large enough that exp() underflows to exactly 0, finite so no NaN. */
export const MASKED = -1e9;

/** y = x W^T + b for nn.Linear weights [out, in]; y = x W + b for Conv1D weights [in, out]. */
export function linear(g: GraphBuilder, x: string, w: string, b: string | undefined, conv1d = false): string {
  return g.node('Gemm', b ? [x, w, b] : [x, w], { attrs: conv1d ? {} : { transB: 1 } });
}

export function layerNorm(g: GraphBuilder, x: string, w: string, b: string, eps: number): string {
  return g.node('LayerNormalization', [x, w, b], { attrs: { axis: -1, epsilon: { float: eps } } });
}

/** RMSNorm: x / sqrt(mean(x^2) + eps) * w (no RMSNormalization op before opset 23). */
export function rmsNorm(g: GraphBuilder, x: string, w: string, eps: number): string {
  const ms = g.node('ReduceMean', [g.node('Mul', [x, x])], { attrs: { axes: [-1], keepdims: 1 } });
  const denom = g.node('Sqrt', [g.node('Add', [ms, g.scalar('rms_eps', eps)])]);
  return g.node('Mul', [g.node('Div', [x, denom]), w]);
}

export function activation(g: GraphBuilder, x: string, act: Activation): string {
  switch (act) {
    case 'relu':
      return g.node('Relu', [x]);
    case 'silu':
      return g.node('Mul', [x, g.node('Sigmoid', [x])]);
    case 'gelu': {
      const erf = g.node('Erf', [g.node('Mul', [x, g.scalar('inv_sqrt2', Math.SQRT1_2)])]);
      return g.node('Mul', [g.node('Mul', [x, g.scalar('half', 0.5)]), g.node('Add', [erf, g.scalar('one', 1)])]);
    }
    case 'gelu_new': {
      const cube = g.node('Mul', [g.node('Mul', [x, x]), x]);
      const inner = g.node('Add', [x, g.node('Mul', [cube, g.scalar('c044715', 0.044715)])]);
      const t = g.node('Tanh', [g.node('Mul', [inner, g.scalar('sqrt_2_pi', Math.sqrt(2 / Math.PI))])]);
      return g.node('Mul', [g.node('Mul', [x, g.scalar('half', 0.5)]), g.node('Add', [t, g.scalar('one', 1)])]);
    }
  }
}

/** [T, n*d] -> [n, T, d] */
export function splitHeads(g: GraphBuilder, x: string, n: number, d: number): string {
  const r = g.node('Reshape', [x, g.i64('heads_shape', [-1, n, d])]);
  return g.node('Transpose', [r], { attrs: { perm: [1, 0, 2] } });
}

/** [n, T, d] -> [T, n*d] */
export function mergeHeads(g: GraphBuilder, x: string, n: number, d: number): string {
  const t = g.node('Transpose', [x], { attrs: { perm: [1, 0, 2] } });
  return g.node('Reshape', [t, g.i64('merge_shape', [-1, n * d])]);
}

/** Rotary embedding with the rotate_half convention: x cos + [-x2, x1] sin. */
export function rope(g: GraphBuilder, x: string, cos: string, sin: string): string {
  const [x1, x2] = g.nodeN('Split', [x], { attrs: { axis: -1 }, outputs: 2 });
  const rotated = g.node('Concat', [g.node('Neg', [x2]), x1], { attrs: { axis: -1 } });
  return g.node('Add', [g.node('Mul', [x, cos]), g.node('Mul', [rotated, sin])]);
}

/** Grouped-query attention: kv head j serves query heads j*rep .. j*rep+rep-1 (repeat_kv). */
export function repeatKv(g: GraphBuilder, x: string, kvHeads: number, rep: number, d: number): string {
  if (rep === 1) return x;
  const x4 = g.node('Unsqueeze', [x, g.i64('axis1', [1])]);
  const expanded = g.node('Expand', [x4, g.i64('rep_shape', [kvHeads, rep, 1, 1])]);
  return g.node('Reshape', [expanded, g.i64('kv_shape', [kvHeads * rep, -1, d])]);
}

/**
 * Scaled dot-product attention on [n, T, d] tensors with an additive [T, T] bias.
 * Returns the merged output [T, n*d] and the probabilities as [1, n, T, T].
 */
export function attention(
  g: GraphBuilder,
  q: string,
  k: string,
  v: string,
  bias: string,
  scale: number,
  heads: number,
  d: number,
): { out: string; probs: string } {
  const kt = g.node('Transpose', [k], { attrs: { perm: [0, 2, 1] } });
  const scores = g.node('Mul', [g.node('MatMul', [q, kt]), g.scalar('attn_scale', scale)]);
  const probs = g.node('Softmax', [g.node('Add', [scores, bias])], { attrs: { axis: -1 } });
  const out = mergeHeads(g, g.node('MatMul', [probs, v]), heads, d);
  return { out, probs: g.node('Unsqueeze', [probs, g.i64('axis0', [0])]) };
}
