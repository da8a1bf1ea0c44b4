/**
 * Graph surgery for simulated KV-cache eviction: an additive mask input per attention site,
 * added to the scores right before the attention Softmax (found by structure,
 * server/onnx/attentionFinder.ts), so each query sees only the keys a policy keeps. The same
 * surgery serves ONNX exports and the graphs built from Hugging Face checkpoints. It also
 * exposes what the metrics need: the probabilities, the values each map multiplies (the
 * second input of the MatMul reading the probabilities) and the logits.
 */
import { onnx } from 'onnx-proto';
import type { AttentionSite } from '../onnx/attentionFinder';
import { withExtraOutputs } from '../onnx/surgery';
import { UserError } from '../../common/errors';

export interface MaskedGraph {
  model: onnx.ModelProto;
  /** Mask input per site (float32 [heads, n, n], broadcast over a leading batch axis). */
  maskInputs: string[];
  /** Probabilities (Softmax output) per site. */
  probs: string[];
  /** Values tensor per site, undefined where no MatMul reads the probabilities directly. */
  values: (string | undefined)[];
  /** The logits output, undefined for a model without a language-model head. */
  logits?: string;
}

/** Ops that pass probabilities through unchanged on their way to the values MatMul. */
const CARRY = new Set(['Identity', 'Cast', 'Dropout']);

/**
 * The values a map multiplies: the second input of the MatMul reading the probabilities,
 * through pass-through ops and SDPA exports' Where(IsNaN(p), 0, p) guard.
 */
function valuesOf(nodes: onnx.INodeProto[], probs: string): string | undefined {
  let names = [probs];
  for (let hop = 0; hop < 3; hop++) {
    const next: string[] = [];
    for (const n of nodes) {
      const ins = n.input ?? [];
      if (!ins.some((x) => names.includes(x))) continue;
      if (n.opType === 'MatMul' && names.includes(ins[0] ?? '')) return ins[1] ?? undefined;
      const carries = CARRY.has(n.opType ?? '') || (n.opType === 'Where' && (names.includes(ins[1] ?? '') || names.includes(ins[2] ?? '')));
      if (carries) next.push(...(n.output ?? []).slice(0, 1));
    }
    names = next;
  }
  return undefined;
}

/**
 * The next-token logits: an output named logits (or holding it in its name), else a lone
 * output not named as hidden states. Base models (GPT2Model, LlamaModel exports) have none:
 * their last_hidden_state is no distribution over tokens.
 */
function logitsName(graph: onnx.IGraphProto): string | undefined {
  const outs = (graph.output ?? []).map((o) => o.name ?? '').filter((n) => n);
  const named = outs.find((n) => n === 'logits') ?? outs.find((n) => /logits/i.test(n));
  if (named) return named;
  return outs.length === 1 && !/hidden|pooler|embedding/i.test(outs[0]) ? outs[0] : undefined;
}

export function maskAttention(model: onnx.IModelProto, sites: AttentionSite[], file: string): MaskedGraph {
  const graph = model.graph ?? {};
  const nodes = graph.node ?? [];
  const opset = Number((model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 13);
  const bySoftmaxOutput = new Map(sites.map((s, i) => [s.output, i]));
  const byFusedNode = new Map(sites.flatMap((s, i) => (s.fusedNode !== undefined ? [[s.fusedNode, i] as const] : [])));
  const maskInputs = sites.map((_, i) => `kv_policy_mask_${i}`);
  const T = onnx.AttributeProto.AttributeType;
  const out: onnx.INodeProto[] = [];
  nodes.forEach((n, j) => {
    const fused = byFusedNode.get(j);
    if (fused !== undefined) {
      // ONNX Attention op (opset 23): the mask goes in as its attn_mask, added to the scores
      // before its softmax; its probabilities come out of qk_matmul_output in mode 3.
      const site = sites[fused];
      if (n.input?.[3]) throw new UserError(`${file}: Attention node ${site.nodeName} has its own attn_mask, which the eviction mask cannot be combined with yet; export the model with eager attention`);
      const cast = `${maskInputs[fused]}/like_queries`;
      out.push(onnx.NodeProto.create({ name: cast, opType: 'CastLike', input: [maskInputs[fused], n.input?.[0] ?? ''], output: [cast] }));
      const input = [...(n.input ?? [])];
      while (input.length < 3) input.push('');
      input[3] = cast;
      const output = [...(n.output ?? [])];
      while (output.length < 4) output.push('');
      output[3] = site.output;
      const attribute = [...(n.attribute ?? []).filter((a) => a.name !== 'qk_matmul_output_mode'), { name: 'qk_matmul_output_mode', type: T.INT, i: 3 }];
      out.push(onnx.NodeProto.create({ ...n, input, output, attribute }));
      return;
    }
    const i = n.opType === 'Softmax' ? bySoftmaxOutput.get(n.output?.[0] ?? '') : undefined;
    if (i === undefined) {
      out.push(n);
      return;
    }
    const scores = n.input?.[0] ?? '';
    let mask = maskInputs[i];
    // Half-precision graphs: the float32 mask takes the scores' type (CastLike, opset 15+).
    if (opset >= 15) {
      const cast = `${mask}/like_scores`;
      out.push(onnx.NodeProto.create({ name: cast, opType: 'CastLike', input: [mask, scores], output: [cast] }));
      mask = cast;
    }
    const masked = `${mask}/masked_scores`;
    out.push(onnx.NodeProto.create({ name: masked, opType: 'Add', input: [scores, mask], output: [masked] }));
    out.push(onnx.NodeProto.create({ ...n, input: [masked, ...(n.input ?? []).slice(1)] }));
  });
  // The Attention op multiplies by its third input (V); elsewhere the MatMul reading the map does.
  const values = sites.map((s) => (s.fusedNode !== undefined ? nodes[s.fusedNode].input?.[2] || undefined : valuesOf(nodes, s.output)));
  const logits = logitsName(graph);
  const F = onnx.TensorProto.DataType.FLOAT;
  // Own symbolic dims per mask: layers may differ in head count.
  const inputs = maskInputs.map((name, i) => ({
    name,
    type: { tensorType: { elemType: F, shape: { dim: [{ dimParam: `mask_heads_${i}` }, { dimParam: `mask_queries_${i}` }, { dimParam: `mask_keys_${i}` }] } } },
  }));
  const withInputs = onnx.ModelProto.create({
    ...model,
    graph: onnx.GraphProto.create({ ...graph, node: out, input: [...(graph.input ?? []), ...inputs] }),
  });
  const exposed = [...sites.map((s) => s.output), ...values.filter((v): v is string => v !== undefined)];
  return { model: withExtraOutputs(withInputs, exposed), maskInputs, probs: sites.map((s) => s.output), values, logits };
}
