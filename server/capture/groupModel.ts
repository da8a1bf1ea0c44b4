/**
 * The model cut down to one group of layers, for long inputs. onnxruntime keeps every graph
 * output alive until a run ends, whether it was fetched or not, so a model exposing all 12 maps
 * of a 4096-token GPT-2-small held 9.6 GB in each run even when one layer was asked for
 * (measured: 13.7 GB peak). A group's model declares only that group's maps as outputs and keeps
 * only the nodes they depend on, so a run holds one group's maps and stops at its last layer.
 */
import { onnx } from 'onnx-proto';
import type { AttentionSite } from '../onnx/attentionFinder';
import { exposeAttention } from '../onnx/surgery';

/** Nodes with subgraphs (If, Loop, Scan) may read outer values by name: never prune those graphs. */
function hasSubgraphs(nodes: onnx.INodeProto[]): boolean {
  return nodes.some((n) => (n.attribute ?? []).some((a) => a.g || (a.graphs && a.graphs.length > 0)));
}

/** Indices of the nodes `outputs` depend on, in graph order. */
export function neededNodes(nodes: onnx.INodeProto[], outputs: string[]): number[] {
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => (n.output ?? []).forEach((o) => o && producer.set(o, i)));
  const keep = new Set<number>();
  const stack = [...outputs];
  const seen = new Set(stack);
  while (stack.length > 0) {
    const i = producer.get(stack.pop()!);
    if (i === undefined || keep.has(i)) continue;
    keep.add(i);
    for (const x of nodes[i].input ?? []) {
      if (x && !seen.has(x)) {
        seen.add(x);
        stack.push(x);
      }
    }
  }
  return [...keep].sort((a, b) => a - b);
}

export function groupModel(model: onnx.IModelProto, sites: AttentionSite[]): onnx.ModelProto {
  const exposed = exposeAttention(model, sites);
  const graph = exposed.graph ?? {};
  const nodes = graph.node ?? [];
  const names = sites.map((s) => s.output);
  const kept = hasSubgraphs(nodes) ? nodes : neededNodes(nodes, names).map((i) => nodes[i]);
  const used = new Set(kept.flatMap((n) => n.input ?? []));
  // Weights no kept node reads would only be loaded for nothing (onnxruntime warns about them);
  // older exports also list weights as inputs, and a listed weight without data would be a feed.
  const initializer = (graph.initializer ?? []).filter((t) => used.has(t.name ?? ''));
  const dropped = new Set((graph.initializer ?? []).filter((t) => !used.has(t.name ?? '')).map((t) => t.name ?? ''));
  const input = (graph.input ?? []).filter((v) => !dropped.has(v.name ?? ''));
  return onnx.ModelProto.create({
    ...exposed,
    graph: onnx.GraphProto.create({ ...graph, node: kept, initializer, input, output: names.map((name) => ({ name })) }),
  });
}
