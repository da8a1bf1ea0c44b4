/**
 * Small random transformer-like ONNX graphs in the two layouts exporters produce, and an
 * independent plain-TypeScript computation of their attention probabilities from the same
 * weights. Shared by the capture, CLI and LSP tests.
 *
 *   torch style: [batch*heads, q, d] via Reshape/Transpose/Reshape, MatMul, Div by sqrt(d),
 *                Add of an additive causal mask, Softmax(axis=2); input input_ids only.
 *   HF style:    [batch, heads, q, k], Mul by 1/sqrt(d), Add of (1 - attention_mask) * -1e9,
 *                causal Where(allowed, scores, min), Softmax(axis=-1); inputs input_ids,
 *                attention_mask, position_ids (and token_type_ids unless disabled).
 * Both end, by default, in a classification Softmax over vocabulary logits, which is not
 * attention and must not be captured.
 */
import { onnx } from 'onnx-proto';
import { GraphBuilder } from '../../server/onnx/graphBuilder';
import { mulberry32 } from '../../server/variants/rng';

export interface TinyTransformerOptions {
  layers?: number;
  heads?: number;
  headDim?: number;
  vocab?: number;
  /** Rows of the HF position embedding (longest input). */
  maxPositions?: number;
  seed?: number;
  /** Final classification Softmax over logits (default true). */
  classifier?: boolean;
  /** HF style: add a token_type_ids input (default true). */
  tokenTypes?: boolean;
}

export interface TinyWeights {
  vocab: number;
  heads: number;
  headDim: number;
  dModel: number;
  /** [vocab, dModel] */
  embed: Float32Array;
  /** HF style: [maxPositions, dModel] */
  positions?: Float32Array;
  /** HF style with token types: [2, dModel] */
  tokenTypes?: Float32Array;
  /** Per layer, each [dModel, dModel], applied as x @ W. */
  layers: { wq: Float32Array; wk: Float32Array; wv: Float32Array; wo: Float32Array }[];
  /** [dModel, vocab] */
  classifier?: Float32Array;
}

export interface TinyTransformer {
  style: 'torch' | 'hf' | 'attention-op';
  model: onnx.IModelProto;
  bytes: Uint8Array;
  weights: TinyWeights;
  /** Graph input names, in order. */
  inputs: string[];
}

/** A seeded generator so every run builds the same weights (the project's mulberry32). */
const rng = mulberry32;

function uniform(next: () => number, n: number, scale: number): Float32Array {
  return Float32Array.from({ length: n }, () => (next() * 2 - 1) * scale);
}

function makeWeights(style: TinyTransformer['style'], o: Required<TinyTransformerOptions>): TinyWeights {
  const next = rng(o.seed);
  const D = o.heads * o.headDim;
  const w = (): Float32Array => uniform(next, D * D, 1 / Math.sqrt(D));
  return {
    vocab: o.vocab,
    heads: o.heads,
    headDim: o.headDim,
    dModel: D,
    embed: uniform(next, o.vocab * D, 1),
    positions: style === 'hf' ? uniform(next, o.maxPositions * D, 0.5) : undefined,
    tokenTypes: style === 'hf' && o.tokenTypes ? uniform(next, 2 * D, 0.5) : undefined,
    layers: Array.from({ length: o.layers }, () => ({ wq: w(), wk: w(), wv: w(), wo: w() })),
    classifier: o.classifier ? uniform(next, D * o.vocab, 1 / Math.sqrt(D)) : undefined,
  };
}

function defaults(opts: TinyTransformerOptions): Required<TinyTransformerOptions> {
  return {
    layers: opts.layers ?? 2,
    heads: opts.heads ?? 2,
    headDim: opts.headDim ?? 4,
    vocab: opts.vocab ?? 32,
    maxPositions: opts.maxPositions ?? 64,
    seed: opts.seed ?? 1,
    classifier: opts.classifier ?? true,
    tokenTypes: opts.tokenTypes ?? true,
  };
}

/** Shared head: n as a scalar, and the [n, n] "key after query" boolean. */
function causalFuture(g: GraphBuilder, ids: string): string {
  const n = g.node('Gather', [g.node('Shape', [ids]), g.i64('seq_axis', [1], [])], { attrs: { axis: 0 } });
  const r = g.node('Range', [g.i64('zero', [0], []), n, g.i64('one', [1], [])]);
  const row = g.node('Unsqueeze', [r, g.i64('axes0', [0])]);
  const col = g.node('Unsqueeze', [r, g.i64('axes1', [1])]);
  return g.node('Greater', [row, col]);
}

function finish(g: GraphBuilder, x: string, w: TinyWeights): void {
  if (w.classifier) {
    const logits = g.node('MatMul', [x, g.f32('classifier', [w.dModel, w.vocab], w.classifier)]);
    g.node('Softmax', [logits], { attrs: { axis: -1 }, outputs: ['probs'] });
    g.output('probs');
  } else {
    g.node('Identity', [x], { outputs: ['hidden'] });
    g.output('hidden');
  }
}

export function torchStyleGraph(opts: TinyTransformerOptions = {}): TinyTransformer {
  const o = defaults(opts);
  const w = makeWeights('torch', o);
  const { heads: h, headDim: d, dModel: D } = w;
  const g = new GraphBuilder('torch_style', 17);
  const ids = g.input('input_ids', 'int64', [1, 'sequence']);
  let x = g.node('Gather', [g.f32('embed', [w.vocab, D], w.embed), ids], { attrs: { axis: 0 } });
  const mask = g.node('Where', [causalFuture(g, ids), g.scalar('neg_big', -1e9), g.scalar('zero_f', 0)]);
  const split = g.i64('split_shape', [1, -1, h, d]);
  const bh = g.i64('bh_shape', [h, -1, d]);
  const merged = g.i64('merged_shape', [1, -1, D]);
  const back = g.i64('b_h_shape', [1, h, -1, d]);
  const sqrtD = g.scalar('sqrt_d', Math.sqrt(d));
  w.layers.forEach((lw, l) => {
    const toHeads = (t: string): string =>
      g.node('Reshape', [g.node('Transpose', [g.node('Reshape', [t, split])], { attrs: { perm: [0, 2, 1, 3] } }), bh]);
    const q = toHeads(g.node('MatMul', [x, g.f32(`l${l}_wq`, [D, D], lw.wq)]));
    const k = toHeads(g.node('MatMul', [x, g.f32(`l${l}_wk`, [D, D], lw.wk)]));
    const v = toHeads(g.node('MatMul', [x, g.f32(`l${l}_wv`, [D, D], lw.wv)]));
    const kT = g.node('Transpose', [k], { attrs: { perm: [0, 2, 1] } });
    const scores = g.node('Add', [g.node('Div', [g.node('MatMul', [q, kT]), sqrtD]), mask]);
    const p = g.node('Softmax', [scores], { attrs: { axis: 2 } });
    const ctx = g.node('Reshape', [g.node('Transpose', [g.node('Reshape', [g.node('MatMul', [p, v]), back])], { attrs: { perm: [0, 2, 1, 3] } }), merged]);
    x = g.node('Add', [x, g.node('MatMul', [ctx, g.f32(`l${l}_wo`, [D, D], lw.wo)])]);
  });
  finish(g, x, w);
  const model = g.toModel();
  return { style: 'torch', model, bytes: g.toBytes(), weights: w, inputs: ['input_ids'] };
}

export function hfStyleGraph(opts: TinyTransformerOptions = {}): TinyTransformer {
  const o = defaults(opts);
  const w = makeWeights('hf', o);
  const { heads: h, headDim: d, dModel: D } = w;
  const g = new GraphBuilder('hf_style', 17);
  const ids = g.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const am = g.input('attention_mask', 'int64', ['batch_size', 'sequence_length']);
  const pos = g.input('position_ids', 'int64', ['batch_size', 'sequence_length']);
  const inputs = [ids, am, pos];
  let x = g.node('Add', [
    g.node('Gather', [g.f32('embed', [w.vocab, D], w.embed), ids], { attrs: { axis: 0 } }),
    g.node('Gather', [g.f32('pos_embed', [o.maxPositions, D], w.positions!), pos], { attrs: { axis: 0 } }),
  ]);
  if (w.tokenTypes) {
    const tt = g.input('token_type_ids', 'int64', ['batch_size', 'sequence_length']);
    inputs.push(tt);
    x = g.node('Add', [x, g.node('Gather', [g.f32('type_embed', [2, D], w.tokenTypes), tt], { attrs: { axis: 0 } })]);
  }
  const keyMask = g.node('Unsqueeze', [
    g.node('Mul', [g.node('Sub', [g.scalar('one_f', 1), g.node('Cast', [am], { attrs: { to: onnx.TensorProto.DataType.FLOAT } })]), g.scalar('neg_big', -1e9)]),
    g.i64('axes12', [1, 2]),
  ]);
  const allowed = g.node('Not', [causalFuture(g, ids)]);
  const minF = g.scalar('finfo_min', -3.4028234663852886e38);
  const split = g.i64('split_shape', [1, -1, h, d]);
  const merged = g.i64('merged_shape', [1, -1, D]);
  const scale = g.scalar('scale', 1 / Math.sqrt(d));
  w.layers.forEach((lw, l) => {
    const proj = (t: string, perm: number[]): string =>
      g.node('Transpose', [g.node('Reshape', [g.node('MatMul', [x, g.f32(`l${l}_${t}`, [D, D], lw[t as 'wq'])]), split])], { attrs: { perm } });
    const q = proj('wq', [0, 2, 1, 3]);
    const kT = proj('wk', [0, 2, 3, 1]);
    const v = proj('wv', [0, 2, 1, 3]);
    const scores = g.node('Add', [g.node('Mul', [g.node('MatMul', [q, kT]), scale]), keyMask]);
    const p = g.node('Softmax', [g.node('Where', [allowed, scores, minF])], { attrs: { axis: -1 } });
    const ctx = g.node('Reshape', [g.node('Transpose', [g.node('MatMul', [p, v])], { attrs: { perm: [0, 2, 1, 3] } }), merged]);
    x = g.node('Add', [x, g.node('MatMul', [ctx, g.f32(`l${l}_wo`, [D, D], lw.wo)])]);
  });
  finish(g, x, w);
  return { style: 'hf', model: g.toModel(), bytes: g.toBytes(), weights: w, inputs };
}

/** How an ONNX Attention op graph masks: causal (is_causal), a [n, n] window mask (keys within 3 positions), 3D inputs. */
export interface AttentionOpForm {
  causal?: boolean;
  window?: 'bool' | 'float';
  /** [1, n, heads * headDim] queries, keys and values (q_num_heads, kv_num_heads) instead of [1, heads, n, headDim]. */
  flat?: boolean;
}

/**
 * The ONNX Attention op (opset 23) per layer, causal by default, on [1, heads, n, headDim]
 * queries, keys and values: the probabilities exist only inside the op (qk_matmul_output).
 */
export function attentionOpGraph(opts: TinyTransformerOptions = {}, form: AttentionOpForm = { causal: true }): TinyTransformer {
  const o = defaults(opts);
  const w = makeWeights('attention-op', o);
  const { heads: h, headDim: d, dModel: D } = w;
  const g = new GraphBuilder('attention_op', 23);
  const ids = g.input('input_ids', 'int64', [1, 'sequence']);
  let x = g.node('Gather', [g.f32('embed', [w.vocab, D], w.embed), ids], { attrs: { axis: 0 } });
  const split = g.i64('split_shape', [1, -1, h, d]);
  const merged = g.i64('merged_shape', [1, -1, D]);
  let mask = '';
  if (form.window) {
    const pos = g.node('Range', [g.int(0), g.dim(ids, 1), g.int(1)]);
    const far = g.node('Greater', [g.node('Abs', [g.node('Sub', [g.node('Unsqueeze', [pos, g.ints([1])]), g.node('Unsqueeze', [pos, g.ints([0])])])]), g.int(3)]);
    mask = form.window === 'bool' ? g.node('Not', [far]) : g.node('Where', [far, g.scalar('window_out', -1e9), g.scalar('window_in', 0)]);
  }
  const attrs = { ...(form.causal ? { is_causal: 1 } : {}), ...(form.flat ? { q_num_heads: h, kv_num_heads: h } : {}) };
  w.layers.forEach((lw, l) => {
    const proj = (t: 'wq' | 'wk' | 'wv'): string => {
      const flat = g.node('MatMul', [x, g.f32(`l${l}_${t}`, [D, D], lw[t])]);
      return form.flat ? flat : g.node('Transpose', [g.node('Reshape', [flat, split])], { attrs: { perm: [0, 2, 1, 3] } });
    };
    const y = g.node('Attention', [proj('wq'), proj('wk'), proj('wv'), ...(mask ? [mask] : [])], { attrs });
    const ctx = form.flat ? y : g.node('Reshape', [g.node('Transpose', [y], { attrs: { perm: [0, 2, 1, 3] } }), merged]);
    x = g.node('Add', [x, g.node('MatMul', [ctx, g.f32(`l${l}_wo`, [D, D], lw.wo)])]);
  });
  finish(g, x, w);
  return { style: 'attention-op', model: g.toModel(), bytes: g.toBytes(), weights: w, inputs: ['input_ids'] };
}

/**
 * One head (scores [n, n]) whose causal mask is made from the scores' own shape: Range over
 * their row count, or a causal buffer cut at [k - q, k) by it (GPT-2's `bias[k - q : k, :k]`).
 * Right when run whole; by query blocks the scores hold a block's rows, so every block would
 * get the first or the last rows' mask: the planner refuses it (server/capture/queryBlocks.ts).
 */
export function maskFromScoresGraph(form: 'range' | 'slice'): Uint8Array {
  const D = 4;
  const g = new GraphBuilder('mask_from_scores', 17);
  const ids = g.input('input_ids', 'int64', [1, 'n']);
  const w = (name: string, seed: number) => g.f32(name, [D, D], Array.from({ length: D * D }, (_, i) => Math.sin(seed * 7 + i * 1.3) * 0.8));
  const x = g.node('Squeeze', [g.node('Gather', [g.f32('embed', [32, D], Array.from({ length: 32 * D }, (_, i) => Math.cos(i * 0.7))), ids]), g.ints([0])]);
  const scores = g.node('MatMul', [g.node('MatMul', [x, w('wq', 1)]), g.node('Transpose', [g.node('MatMul', [x, w('wk', 2)])])]);
  let future: string;
  if (form === 'range') {
    const rows = g.node('Range', [g.int(0), g.dim(scores, 0), g.int(1)]);
    const cols = g.node('Range', [g.int(0), g.dim(scores, 1), g.int(1)]);
    future = g.node('Greater', [g.node('Unsqueeze', [cols, g.ints([0])]), g.node('Unsqueeze', [rows, g.ints([1])])]);
  } else {
    const buffer = g.initializer('future', 'bool', [64, 64], Uint8Array.from({ length: 64 * 64 }, (_, i) => (i % 64 > Math.floor(i / 64) ? 1 : 0)));
    const q = g.node('Unsqueeze', [g.dim(scores, 0), g.ints([0])]);
    const k = g.node('Unsqueeze', [g.dim(scores, 1), g.ints([0])]);
    future = g.node('Slice', [g.node('Slice', [buffer, g.node('Sub', [k, q]), k, g.ints([0])]), g.ints([0]), k, g.ints([1])]);
  }
  const p = g.node('Softmax', [g.node('Where', [future, g.scalar('neg', -1e4), scores])], { attrs: { axis: -1 } });
  g.node('Add', [x, g.node('MatMul', [p, g.node('MatMul', [x, w('wv', 3)])])], { outputs: ['hidden'] });
  g.output('hidden');
  return g.toBytes();
}

export { referenceProbabilities } from './attentionReference';
export { saveWithExternalData } from './externalData';
