/**
 * Graph surgery: exposing intermediate tensors (the attention probabilities) as graph
 * outputs so onnxruntime returns them. The user's model object is left untouched; a shallow
 * copy with a longer output list is serialized (weights are shared, not copied).
 */
import { onnx } from 'onnx-proto';
import type { AttentionSite } from './attentionFinder';

export function withExtraOutputs(model: onnx.IModelProto, names: string[]): onnx.ModelProto {
  const graph = model.graph ?? {};
  const existing = new Set((graph.output ?? []).map((o) => o.name));
  // No type: onnxruntime infers it; a wrong declared shape would make it reject the model.
  const extra = names.filter((n) => !existing.has(n)).map((name) => ({ name }));
  return onnx.ModelProto.create({
    ...model,
    graph: onnx.GraphProto.create({ ...graph, output: [...(graph.output ?? []), ...extra] }),
  });
}

export function serializeModel(model: onnx.IModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

/**
 * The model with every site's probabilities as a graph output. ONNX Attention nodes are
 * rewritten to emit qk_matmul_output after the softmax (mode 3); the rest of the graph is shared.
 */
export function exposeAttention(model: onnx.IModelProto, sites: AttentionSite[]): onnx.ModelProto {
  const fused = new Map(sites.filter((s) => s.fusedNode !== undefined).map((s) => [s.fusedNode as number, s.output]));
  const withOutputs = withExtraOutputs(model, sites.map((s) => s.output));
  if (fused.size === 0) return withOutputs;
  const T = onnx.AttributeProto.AttributeType;
  const graph = withOutputs.graph ?? {};
  const node = (graph.node ?? []).map((n, i) => {
    const out = fused.get(i);
    if (out === undefined) return n;
    const outputs = [...(n.output ?? [])];
    while (outputs.length < 4) outputs.push('');
    outputs[3] = out;
    const attribute = [...(n.attribute ?? []).filter((a) => a.name !== 'qk_matmul_output_mode'), { name: 'qk_matmul_output_mode', type: T.INT, i: 3 }];
    return onnx.NodeProto.create({ ...n, output: outputs, attribute });
  });
  return onnx.ModelProto.create({ ...withOutputs, graph: onnx.GraphProto.create({ ...graph, node }) });
}
