/**
 * Finds attention probabilities in an ONNX graph by structure, not by names (exporters name
 * nodes arbitrarily): a Softmax whose input comes, through elementwise and layout ops, from a
 * MatMul of two activations (queries times transposed keys). A Softmax over logits comes
 * from a MatMul with a weight and is skipped. The ONNX Attention op (opset 23) is read through
 * its qk_matmul_output output; com.microsoft fused ops left after fusedAttention.ts expanded
 * what it can are refused, since their probabilities never exist as a tensor.
 */
import { onnx } from 'onnx-proto';
import { UserError } from '../../common/errors';
import { intAttr } from './nodeAttributes';

export interface AttentionSite {
  /** Position among all attention sites, in graph order. */
  index: number;
  kind: 'self' | 'cross';
  /** Name of the Softmax node (generated as Softmax_<i> when the node has none). */
  nodeName: string;
  /** The Softmax output tensor: the probabilities. */
  output: string;
  /** Name of the MatMul node producing the scores. */
  scoresNode: string;
  /** Softmax axis as written (resolved against the rank at run time). */
  axis: number;
  /**
   * For the ONNX Attention op (opset 23): its index in graph.node. Its probabilities come from
   * the qk_matmul_output output with qk_matmul_output_mode 3 (after softmax); surgery sets both.
   */
  fusedNode?: number;
}

/** Ops that may sit between the scores MatMul and the Softmax (scaling, masks, layout, softcap). */
const PASS_THROUGH = new Set([
  'Mul', 'Div', 'Add', 'Sub', 'Where', 'Reshape', 'Cast', 'Transpose', 'Expand', 'Unsqueeze',
  'Squeeze', 'Identity', 'Tanh', 'Neg', 'Clip', 'Max', 'Min', 'Slice', 'Flatten',
]);
const SCORE_OPS = new Set(['MatMul', 'Einsum', 'FusedMatMul']);
const FUSED_MS = new Set([
  'Attention', 'MultiHeadAttention', 'GroupQueryAttention', 'PackedAttention',
  'PackedMultiHeadAttention', 'SparseAttention', 'DecoderMaskedMultiHeadAttention',
  'DecoderMaskedSelfAttention', 'QAttention',
]);
const MAX_HOPS = 24;

function nodeName(n: onnx.INodeProto, i: number): string {
  return n.name && n.name.length > 0 ? n.name : `${n.opType}_${i}`;
}

function isDefaultDomain(d: string | null | undefined): boolean {
  return !d || d === 'ai.onnx';
}

/** com.microsoft fused attention: the probabilities never exist as a tensor. */
export function fusedAttentionOps(graph: onnx.IGraphProto): { op: string; node: string }[] {
  const out: { op: string; node: string }[] = [];
  (graph.node ?? []).forEach((n, i) => {
    if (n.domain === 'com.microsoft' && FUSED_MS.has(n.opType ?? '')) out.push({ op: `${n.domain}.${n.opType}`, node: nodeName(n, i) });
  });
  return out;
}

/** Output 3 of an ONNX Attention node, named when the node does not expose it yet. */
function qkOutputName(n: onnx.INodeProto, i: number, taken: Set<string>, consumed: Set<string>, file: string): string {
  const existing = n.output?.[3];
  if (existing) {
    if ((intAttr(n, 'qk_matmul_output_mode') ?? 0) !== 3 && consumed.has(existing)) {
      throw new UserError(`${file}: Attention node ${nodeName(n, i)} feeds its qk_matmul_output (mode ${intAttr(n, 'qk_matmul_output_mode') ?? 0}) to other nodes; its probabilities cannot be exposed`);
    }
    return existing;
  }
  let name = `${nodeName(n, i)}/attention_probs`;
  while (taken.has(name)) name += '_';
  return name;
}

function softmaxAxis(n: onnx.INodeProto, opset: number): number {
  return intAttr(n, 'axis') ?? (opset >= 13 ? -1 : 1);
}

export function findAttention(model: onnx.IModelProto, file: string): AttentionSite[] {
  const graph = model.graph;
  if (!graph) throw new UserError(`${file}: not an ONNX model (no graph inside)`);
  const nodes = graph.node ?? [];
  const opset = Number((model.opsetImport ?? []).find((o) => isDefaultDomain(o.domain))?.version ?? 13);

  const producer = new Map<string, number>();
  nodes.forEach((n, i) => (n.output ?? []).forEach((o) => o && producer.set(o, i)));

  // A value is constant when it is a weight or computed from weights only (Transpose of a
  // weight, DequantizeLinear of a quantized weight): such a MatMul is a projection.
  const constant = new Set<string>((graph.initializer ?? []).map((t) => t.name ?? ''));
  const graphInputs = (graph.input ?? []).map((v) => v.name ?? '').filter((n) => !constant.has(n));
  // Bit i set when the value depends on graph input i; tells cross- from self-attention.
  const reach = new Map<string, bigint>();
  graphInputs.forEach((name, i) => reach.set(name, 1n << BigInt(i)));
  for (const n of nodes) {
    const ins = (n.input ?? []).filter((x) => x);
    const allConst = n.opType === 'Constant' || (ins.length > 0 && ins.every((x) => constant.has(x)));
    let bits = 0n;
    for (const x of ins) bits |= reach.get(x) ?? 0n;
    for (const o of n.output ?? []) {
      if (!o) continue;
      if (allConst) constant.add(o);
      reach.set(o, bits);
    }
  }

  const kindOf = (q: string, k: string): 'self' | 'cross' => {
    // Queries depending on an input the keys do not (decoder ids vs encoder states) mark
    // cross-attention; keys with extra inputs (a KV cache) are still self-attention.
    const qBits = reach.get(q) ?? 0n;
    const kBits = reach.get(k) ?? 0n;
    return (qBits & ~kBits) !== 0n ? 'cross' : 'self';
  };
  const consumed = new Set(nodes.flatMap((n) => n.input ?? []));
  const taken = new Set([...producer.keys(), ...consumed]);

  const sites: AttentionSite[] = [];
  nodes.forEach((n, i) => {
    if (n.opType === 'Attention' && isDefaultDomain(n.domain)) {
      const [q, k] = n.input as string[];
      sites.push({
        index: sites.length,
        kind: kindOf(q, k),
        nodeName: nodeName(n, i),
        output: qkOutputName(n, i, taken, consumed, file),
        scoresNode: nodeName(n, i),
        axis: -1,
        fusedNode: i,
      });
      return;
    }
    if (n.opType !== 'Softmax' || !isDefaultDomain(n.domain)) return;
    const start = n.input?.[0];
    if (!start) return;
    const queue = [start];
    const seen = new Set<string>(queue);
    let hops = 0;
    while (queue.length > 0 && hops++ < MAX_HOPS) {
      const value = queue.shift() as string;
      const pi = producer.get(value);
      if (pi === undefined) continue;
      const p = nodes[pi];
      const op = p.opType ?? '';
      const data = (p.input ?? []).filter((x) => x && !constant.has(x));
      if (SCORE_OPS.has(op) && data.length >= 2 && (p.input ?? []).filter((x) => x).length >= 2) {
        const [q, k] = p.input as string[];
        sites.push({
          index: sites.length,
          kind: kindOf(q, k),
          nodeName: nodeName(n, i),
          output: (n.output ?? [])[0] ?? '',
          scoresNode: nodeName(p, pi),
          axis: softmaxAxis(n, opset),
        });
        return;
      }
      if (!PASS_THROUGH.has(op)) continue;
      for (const x of data) {
        if (!seen.has(x)) {
          seen.add(x);
          queue.push(x);
        }
      }
    }
  });

  const fused = fusedAttentionOps(graph);
  if (fused.length > 0) {
    throw new UserError(
      `${file}: fused attention op ${fused[0].op} (node ${fused[0].node}) is not supported yet; ` +
        're-export with eager attention (attn_implementation="eager", without ORT transformer optimizations)',
    );
  }
  if (sites.length === 0) {
    throw new UserError(
      `${file}: no attention found (no Softmax fed by a MatMul of queries and keys); is this a transformer exported to ONNX?`,
    );
  }
  return sites;
}
