/**
 * The model from one attention layer on: the residual stream entering that layer becomes a graph
 * input and only the nodes the outputs still need are kept. Removing a head of layer l changes
 * nothing before l, so an ablation run fed the stored stream pays only for layers l and later.
 * The cut is refused (undefined) when it is not clean: a node with subgraphs (If/Loop), or an
 * earlier layer's attention still needed by the outputs (a path around the stream).
 */
import { onnx } from 'onnx-proto';
import type { InternalsGraph } from './internalsGraph';

export function cutAtLayer(model: onnx.IModelProto, g: InternalsGraph, layer: number, outputs: string[]): onnx.ModelProto | undefined {
  const stream = g.sites[layer]?.residual;
  if (!stream || layer === 0) return undefined;
  const graph = model.graph ?? {};
  const nodes = graph.node ?? [];
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => (n.output ?? []).forEach((o) => producer.set(o, i)));
  const inputs = new Set((graph.input ?? []).map((t) => t.name ?? ''));
  const keep = new Set<number>();
  const seen = new Set<string>([stream]);
  const todo = [...outputs];
  while (todo.length > 0) {
    const t = todo.pop()!;
    if (seen.has(t) || inputs.has(t)) continue;
    seen.add(t);
    const i = producer.get(t);
    if (i === undefined || keep.has(i)) continue;
    const n = nodes[i];
    if ((n.attribute ?? []).some((a) => a.g || (a.graphs ?? []).length > 0)) return undefined;
    keep.add(i);
    for (const x of n.input ?? []) if (x) todo.push(x);
  }
  const earlier = new Set(g.sites.filter((s) => s.layer < layer).map((s) => s.probs));
  if ([...keep].some((i) => (nodes[i].output ?? []).some((o) => earlier.has(o)))) return undefined;
  const used = new Set([...keep].flatMap((i) => nodes[i].input ?? []));
  // Old IR versions list initializers among the inputs too: drop those whose initializer went.
  const inits = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  return onnx.ModelProto.create({
    ...model,
    graph: onnx.GraphProto.create({
      ...graph,
      node: nodes.filter((_, i) => keep.has(i)),
      initializer: (graph.initializer ?? []).filter((t) => used.has(t.name ?? '')),
      input: [...(graph.input ?? []).filter((t) => !inits.has(t.name ?? '') || used.has(t.name ?? '')), onnx.ValueInfoProto.create({ name: stream, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } })],
      output: outputs.map((name) => onnx.ValueInfoProto.create({ name })),
      valueInfo: [],
    }),
  });
}
