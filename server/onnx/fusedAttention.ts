/**
 * com.microsoft Attention and MultiHeadAttention (what onnxruntime's transformer optimizer
 * writes for BERT/GPT-2 style models) compute their probabilities inside one kernel. To show
 * them, each such node is rewritten as the standard ops it stands for (projections, scaled
 * MatMul, masks, Softmax, MatMul with values), which the structural finder then sees like any
 * exported attention. Supported: no KV cache, no rotary, heads given by num_heads.
 * GroupQueryAttention (grouped KV heads, rotary, local window) is expanded in fusedGqa.ts. The key
 * padding mask input is dropped: captures run one unpadded sequence (attention_mask all ones),
 * for which that mask keeps every key.
 */
import { onnx } from 'onnx-proto';
import { rewriteGqa } from './fusedGqa';
import { floatType, refuse, type FloatType } from './fusedNode';
import { attr } from './nodeAttributes';
import { GraphBuilder } from './graphBuilder';

interface Parts {
  q: string;
  k: string;
  v: string;
  dataType: FloatType;
}

/** [B, S, heads*d] -> [B, heads, S, d] (perm) for one of q, k, v. */
function heads(r: GraphBuilder, x: string, numHeads: number, perm: number[]): string {
  return r.node('Transpose', [r.node('Reshape', [x, r.ints([0, 0, numHeads, -1])])], { attrs: { perm } });
}

function emit(r: GraphBuilder, n: onnx.INodeProto, p: Parts, numHeads: number, biasInput: string | undefined, outputs: { y: string; presentK?: string; presentV?: string; presentKV?: string }): void {
  const q4 = heads(r, p.q, numHeads, [0, 2, 1, 3]);
  const k4 = heads(r, p.k, numHeads, [0, 2, 1, 3]);
  const v4 = heads(r, p.v, numHeads, [0, 2, 1, 3]);
  const kT = r.node('Transpose', [k4], { attrs: { perm: [0, 1, 3, 2] } });
  let scores = r.node('MatMul', [q4, kT]);
  const scale = attr(n, 'scale')?.f ?? 0;
  // Default scale 1/sqrt(head size): computed in-graph since the head size is only a shape.
  const scaleValue = scale !== 0 ? r.floatScalar(scale, p.dataType.dtype)
    : r.node('Reciprocal', [r.node('Sqrt', [r.node('Cast', [r.dim(q4, 3)], { attrs: { to: p.dataType.code } })])]);
  scores = r.node('Mul', [scores, scaleValue]);
  if (biasInput) scores = r.node('Add', [scores, biasInput]);
  if (Number(attr(n, 'unidirectional')?.i ?? 0) === 1) {
    // Lengths from the queries and keys, not from the scores: a layer run by query blocks
    // (server/capture/queryBlocks.ts) gathers the query rows right before the scores, so the
    // scores' own row count is a block's, and a mask built from it would place every block last.
    const qLen = r.dim(q4, 2);
    const kLen = r.dim(k4, 2);
    // Queries are the last qLen of kLen positions: key j is visible to query i when j <= i + kLen - qLen.
    const rows = r.node('Add', [r.node('Range', [r.int(0), qLen, r.int(1)]), r.node('Sub', [kLen, qLen])]);
    const cols = r.node('Range', [r.int(0), kLen, r.int(1)]);
    const future = r.node('Greater', [r.node('Unsqueeze', [cols, r.ints([0])]), r.node('Unsqueeze', [rows, r.ints([1])])]);
    const filter = attr(n, 'mask_filter_value')?.f ?? -10000;
    scores = r.node('Where', [future, r.floatScalar(filter, p.dataType.dtype), scores]);
  }
  const probs = r.node('Softmax', [scores], { attrs: { axis: -1 }, outputs: [r.fresh('probs')] });
  const ctx = r.node('MatMul', [probs, v4]);
  r.node('Reshape', [r.node('Transpose', [ctx], { attrs: { perm: [0, 2, 1, 3] } }), r.ints([0, 0, -1])], { outputs: [outputs.y] });
  if (outputs.presentK) r.node('Identity', [k4], { outputs: [outputs.presentK] });
  if (outputs.presentV) r.node('Identity', [v4], { outputs: [outputs.presentV] });
  if (outputs.presentKV) {
    r.node('Concat', [r.node('Unsqueeze', [k4, r.ints([0])]), r.node('Unsqueeze', [v4, r.ints([0])])], { attrs: { axis: 0 }, outputs: [outputs.presentKV] });
  }
}

function sliceLast(r: GraphBuilder, x: string, start: number, end: number): string {
  return r.node('Slice', [x, r.ints([start]), r.ints([end]), r.ints([-1])]);
}

/** Rewrites one com.microsoft.Attention node: packed QKV weights [H, 3H] and bias [3H]. */
function rewriteAttention(n: onnx.INodeProto, r: GraphBuilder, file: string, widthOf: (name: string) => number | undefined, dataType: FloatType): void {
  const [input, weights, bias, , past, attnBias] = n.input ?? [];
  if (past) refuse(file, n, 'with a past (KV cache) input');
  if (Number(attr(n, 'do_rotary')?.i ?? 0) !== 0) refuse(file, n, 'with rotary embedding');
  const numHeads = Number(attr(n, 'num_heads')?.i ?? 0);
  const sizes = (attr(n, 'qkv_hidden_sizes')?.ints ?? []).map(Number);
  const total = widthOf(weights);
  if (!numHeads || (sizes.length !== 3 && total === undefined)) refuse(file, n, 'without num_heads or a known weight width');
  const [hq, hk, hv] = sizes.length === 3 ? sizes : [total! / 3, total! / 3, total! / 3];
  let qkv = r.node('MatMul', [input, weights]);
  if (bias) qkv = r.node('Add', [qkv, bias]);
  const parts = { q: sliceLast(r, qkv, 0, hq), k: sliceLast(r, qkv, hq, hq + hk), v: sliceLast(r, qkv, hq + hk, hq + hk + hv), dataType };
  emit(r, n, parts, numHeads, attnBias || undefined, { y: n.output?.[0] ?? '', presentKV: n.output?.[1] || undefined });
}

/** Rewrites one com.microsoft.MultiHeadAttention node with separate [B, S, H] query, key, value. */
function rewriteMha(n: onnx.INodeProto, r: GraphBuilder, file: string, dataType: FloatType): void {
  const [query, key, value, bias, , attnBias, pastKey, pastValue] = n.input ?? [];
  if (pastKey || pastValue) refuse(file, n, 'with past key/value inputs');
  if (!key || !value) refuse(file, n, 'with packed query/key/value');
  const numHeads = Number(attr(n, 'num_heads')?.i ?? 0);
  if (!numHeads) refuse(file, n, 'without num_heads');
  let [q, k, v] = [query, key, value];
  if (bias) {
    // bias is [Hq + Hk + Hv]; the three widths are equal for this op.
    const width = r.node('Div', [r.node('Shape', [bias]), r.ints([3])]);
    const part = (i: number): string => r.node('Slice', [bias, r.node('Mul', [width, r.ints([i])]), r.node('Mul', [width, r.ints([i + 1])]), r.ints([0])]);
    [q, k, v] = [r.node('Add', [q, part(0)]), r.node('Add', [k, part(1)]), r.node('Add', [v, part(2)])];
  }
  emit(r, n, { q, k, v, dataType }, numHeads, attnBias || undefined, { y: n.output?.[0] ?? '', presentK: n.output?.[1] || undefined, presentV: n.output?.[2] || undefined });
}

/** The model with every supported com.microsoft attention node expanded; the input is untouched. */
export function expandFusedAttention(model: onnx.IModelProto, file: string): onnx.IModelProto {
  const graph = model.graph ?? {};
  const nodes = graph.node ?? [];
  const expandable = new Set(['Attention', 'MultiHeadAttention', 'GroupQueryAttention']);
  if (!nodes.some((n) => n.domain === 'com.microsoft' && expandable.has(n.opType ?? ''))) return model;
  const opset = Number((model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 0);
  const weights = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const widthOf = (name: string): number | undefined => {
    const dims = weights.get(name)?.dims;
    return dims && dims.length === 2 ? Number(dims[1]) : undefined;
  };
  const typeOf = (name: string): FloatType => floatType(weights.get(name)?.dataType ?? onnx.TensorProto.DataType.FLOAT);
  const outNodes: onnx.INodeProto[] = [];
  const added: onnx.ITensorProto[] = [];
  nodes.forEach((n, i) => {
    const isAttention = n.domain === 'com.microsoft' && n.opType === 'Attention';
    const isMha = n.domain === 'com.microsoft' && n.opType === 'MultiHeadAttention';
    const isGqa = n.domain === 'com.microsoft' && n.opType === 'GroupQueryAttention';
    if (!isAttention && !isMha && !isGqa) {
      outNodes.push(n);
      return;
    }
    if (opset < 13) refuse(file, n, `in an opset ${opset} model (13 or newer needed)`);
    const prefix = `${n.name || `${n.opType}_${i}`}/expanded`;
    const r = new GraphBuilder(prefix, opset, `${prefix}/`);
    if (isAttention) rewriteAttention(n, r, file, widthOf, typeOf(n.input?.[1] ?? ''));
    else if (isMha) rewriteMha(n, r, file, floatType(onnx.TensorProto.DataType.FLOAT));
    else rewriteGqa(n, r, file, typeOf(n.input?.[7] ?? ''));
    const { nodes: expandedNodes, initializers } = r.fragment();
    outNodes.push(...expandedNodes);
    added.push(...initializers);
  });
  return { ...model, graph: { ...graph, node: outNodes, initializer: [...(graph.initializer ?? []), ...added] } };
}
