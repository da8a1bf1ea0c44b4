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
import { UserError } from '../capture/types';
import { rewriteGqa } from './fusedGqa';

const T = onnx.AttributeProto.AttributeType;

export function attr(n: onnx.INodeProto, name: string): onnx.IAttributeProto | undefined {
  return (n.attribute ?? []).find((a) => a.name === name);
}

export class Rewriter {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  private counter = 0;
  constructor(private readonly prefix: string) {}

  name(kind: string): string {
    return `${this.prefix}/${kind}_${this.counter++}`;
  }

  node(op: string, inputs: string[], attrs: onnx.IAttributeProto[] = [], output?: string): string {
    const out = output ?? this.name(`${op}_out`);
    this.nodes.push({ name: this.name(op), opType: op, domain: '', input: inputs, output: [out], attribute: attrs });
    return out;
  }

  ints(values: number[]): string {
    const name = this.name('const');
    const data = BigInt64Array.from(values.map(BigInt));
    this.initializers.push({ name, dataType: onnx.TensorProto.DataType.INT64, dims: [values.length], rawData: new Uint8Array(data.buffer) });
    return name;
  }

  /** An int64 scalar (rank 0), as Range and Gather indices want. */
  int(value: number): string {
    const name = this.name('const');
    this.initializers.push({ name, dataType: onnx.TensorProto.DataType.INT64, dims: [], rawData: new Uint8Array(BigInt64Array.of(BigInt(value)).buffer) });
    return name;
  }

  /** Size of one axis of x, as an int64 scalar (Gather on Shape works from opset 13). */
  dim(x: string, axis: number): string {
    return this.node('Gather', [this.node('Shape', [x]), this.int(axis)], [{ name: 'axis', type: T.INT, i: 0 }]);
  }

  scalar(value: number, dataType: number): string {
    const name = this.name('const');
    const rawData = dataType === onnx.TensorProto.DataType.FLOAT16 ? new Uint8Array(Uint16Array.of(toHalf(value)).buffer) : new Uint8Array(Float32Array.of(value).buffer);
    this.initializers.push({ name, dataType, dims: [], rawData });
    return name;
  }
}

function toHalf(v: number): number {
  if (v === 0) return 0;
  const sign = v < 0 ? 0x8000 : 0;
  const a = Math.min(Math.abs(v), 65504);
  const e = Math.floor(Math.log2(a));
  if (e < -14) return sign | Math.round(a / 2 ** -24);
  return sign | ((e + 15) << 10) | (Math.round((a / 2 ** e - 1) * 1024) & 0x3ff);
}

interface Parts {
  q: string;
  k: string;
  v: string;
  dataType: number;
}

/** [B, S, heads*d] -> [B, heads, S, d] (perm) for one of q, k, v. */
function heads(r: Rewriter, x: string, numHeads: number, perm: number[]): string {
  return r.node('Transpose', [r.node('Reshape', [x, r.ints([0, 0, numHeads, -1])])], [{ name: 'perm', type: T.INTS, ints: perm }]);
}

function emit(r: Rewriter, n: onnx.INodeProto, p: Parts, numHeads: number, biasInput: string | undefined, outputs: { y: string; presentK?: string; presentV?: string; presentKV?: string }): void {
  const q4 = heads(r, p.q, numHeads, [0, 2, 1, 3]);
  const k4 = heads(r, p.k, numHeads, [0, 2, 1, 3]);
  const v4 = heads(r, p.v, numHeads, [0, 2, 1, 3]);
  const kT = r.node('Transpose', [k4], [{ name: 'perm', type: T.INTS, ints: [0, 1, 3, 2] }]);
  let scores = r.node('MatMul', [q4, kT]);
  const scale = attr(n, 'scale')?.f ?? 0;
  // Default scale 1/sqrt(head size): computed in-graph since the head size is only a shape.
  const scaleValue = scale !== 0 ? r.scalar(scale, p.dataType)
    : r.node('Reciprocal', [r.node('Sqrt', [r.node('Cast', [r.dim(q4, 3)], [{ name: 'to', type: T.INT, i: p.dataType }])])]);
  scores = r.node('Mul', [scores, scaleValue]);
  if (biasInput) scores = r.node('Add', [scores, biasInput]);
  if (Number(attr(n, 'unidirectional')?.i ?? 0) === 1) {
    const qLen = r.dim(scores, 2);
    const kLen = r.dim(scores, 3);
    // Queries are the last qLen of kLen positions: key j is visible to query i when j <= i + kLen - qLen.
    const rows = r.node('Add', [r.node('Range', [r.int(0), qLen, r.int(1)]), r.node('Sub', [kLen, qLen])]);
    const cols = r.node('Range', [r.int(0), kLen, r.int(1)]);
    const future = r.node('Greater', [r.node('Unsqueeze', [cols, r.ints([0])]), r.node('Unsqueeze', [rows, r.ints([1])])]);
    const filter = attr(n, 'mask_filter_value')?.f ?? -10000;
    scores = r.node('Where', [future, r.scalar(filter, p.dataType), scores]);
  }
  const probs = r.node('Softmax', [scores], [{ name: 'axis', type: T.INT, i: -1 }], `${r.name('probs')}`);
  const ctx = r.node('MatMul', [probs, v4]);
  r.node('Reshape', [r.node('Transpose', [ctx], [{ name: 'perm', type: T.INTS, ints: [0, 2, 1, 3] }]), r.ints([0, 0, -1])], [], outputs.y);
  if (outputs.presentK) r.node('Identity', [k4], [], outputs.presentK);
  if (outputs.presentV) r.node('Identity', [v4], [], outputs.presentV);
  if (outputs.presentKV) {
    r.node('Concat', [r.node('Unsqueeze', [k4, r.ints([0])]), r.node('Unsqueeze', [v4, r.ints([0])])], [{ name: 'axis', type: T.INT, i: 0 }], outputs.presentKV);
  }
}

export function refuse(file: string, n: onnx.INodeProto, why: string): never {
  throw new UserError(`${file}: fused attention op ${n.domain}.${n.opType} (node ${n.name}) ${why}: not supported yet; re-export with eager attention`);
}

function sliceLast(r: Rewriter, x: string, start: number, end: number): string {
  return r.node('Slice', [x, r.ints([start]), r.ints([end]), r.ints([-1])]);
}

/** Rewrites one com.microsoft.Attention node: packed QKV weights [H, 3H] and bias [3H]. */
function rewriteAttention(n: onnx.INodeProto, r: Rewriter, file: string, widthOf: (name: string) => number | undefined, dataType: number): void {
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
function rewriteMha(n: onnx.INodeProto, r: Rewriter, file: string, dataType: number): void {
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
  const floatType = (name: string): number => weights.get(name)?.dataType ?? onnx.TensorProto.DataType.FLOAT;
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
    const r = new Rewriter(`${n.name || `${n.opType}_${i}`}/expanded`);
    if (isAttention) rewriteAttention(n, r, file, widthOf, floatType(n.input?.[1] ?? ''));
    else if (isMha) rewriteMha(n, r, file, onnx.TensorProto.DataType.FLOAT);
    else rewriteGqa(n, r, file, floatType(n.input?.[7] ?? ''));
    outNodes.push(...r.nodes);
    added.push(...r.initializers);
  });
  return { ...model, graph: { ...graph, node: outNodes, initializer: [...(graph.initializer ?? []), ...added] } };
}
