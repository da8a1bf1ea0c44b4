/** Every tensor of an ONNX graph that may carry data, for the readers that check or move it. */
import type { onnx } from 'onnx-proto';

/**
 * Initializers, Constant-style attributes and subgraphs' tensors, each with whether it is an
 * initializer of the top-level graph (the only tensors a session's segments are built from).
 */
export function* tensorsOf(graph: onnx.IGraphProto | null | undefined, top = true): Generator<[onnx.ITensorProto, boolean]> {
  if (!graph) return;
  for (const t of graph.initializer ?? []) yield [t, top];
  for (const n of graph.node ?? []) {
    for (const a of n.attribute ?? []) {
      if (a.t) yield [a.t, false];
      for (const t of a.tensors ?? []) yield [t, false];
      yield* tensorsOf(a.g, false);
      for (const g of a.graphs ?? []) yield* tensorsOf(g, false);
    }
  }
}
