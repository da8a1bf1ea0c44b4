/** Reading a node's attributes (the graph surgery, the attention finder and query blocks all do). */
import type { onnx } from 'onnx-proto';

export function attr(n: onnx.INodeProto, name: string): onnx.IAttributeProto | undefined {
  return (n.attribute ?? []).find((a) => a.name === name);
}

/** An INT attribute; undefined when the node does not set it. */
export function intAttr(n: onnx.INodeProto, name: string): number | undefined {
  const a = attr(n, name);
  return a && a.i !== undefined && a.i !== null ? Number(a.i) : undefined;
}

/** An INTS attribute; undefined when the node does not set it or sets it empty. */
export function intsAttr(n: onnx.INodeProto, name: string): number[] | undefined {
  const a = attr(n, name);
  return a && a.ints && a.ints.length > 0 ? a.ints.map(Number) : undefined;
}
