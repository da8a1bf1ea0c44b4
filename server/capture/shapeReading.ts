/**
 * What the graph says of shape tensors and ranks, for planning query blocks
 * (server/capture/queryBlocks.ts): a shape vector's static length and fixed entries, where the
 * rows sit in a shape built from a block tensor's Shape, and the rank of a node's outputs.
 */
import type { onnx } from 'onnx-proto';
import { intAttr, intsAttr } from '../onnx/nodeAttributes';

/** Ops that work element by element (broadcasting): their rows are their inputs' rows. */
export const ELEMENTWISE = new Set([
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Where', 'Max', 'Min', 'Sum', 'Mean', 'Equal', 'Less', 'LessOrEqual', 'Greater',
  'GreaterOrEqual', 'And', 'Or', 'Xor', 'Not', 'Cast', 'CastLike', 'Tanh', 'Neg', 'Exp', 'Log', 'Sqrt', 'Reciprocal', 'Erf',
  'Sigmoid', 'Relu', 'Abs', 'Clip', 'Identity', 'Softplus', 'Gelu', 'FastGelu', 'HardSigmoid', 'LeakyRelu', 'Elu', 'Sign',
  'IsNaN', 'IsInf', 'Mod', 'Floor', 'Ceil', 'Round', 'Dropout',
]);

/** Values of an int64/int32 tensor proto. */
export function tensorInts(t: onnx.ITensorProto): number[] | undefined {
  if (t.int64Data && t.int64Data.length > 0) return t.int64Data.map(Number);
  if (t.int32Data && t.int32Data.length > 0) return t.int32Data.map(Number);
  const raw = t.rawData;
  if (!raw) return t.dims && t.dims.map(Number).reduce((a, b) => a * b, 1) === 0 ? [] : undefined;
  const bytes = raw instanceof Uint8Array ? raw : new Uint8Array(raw as ArrayBuffer);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (t.dataType === 7) return Array.from({ length: bytes.byteLength / 8 }, (_, i) => Number(view.getBigInt64(i * 8, true)));
  if (t.dataType === 6) return Array.from({ length: bytes.byteLength / 4 }, (_, i) => view.getInt32(i * 4, true));
  return undefined;
}

/** The static length of a 1-D shape tensor, where the graph says it (constants, Concat, Shape). */
export function vectorLength(
  x: string,
  producer: Map<string, onnx.INodeProto>,
  rankOf: (x: string) => number | undefined,
  ints: Map<string, number[]>,
): number | undefined {
  const v = ints.get(x);
  if (v) return v.length;
  const p = producer.get(x);
  if (!p) return undefined;
  const ins = p.input ?? [];
  switch (p.opType) {
    case 'Shape':
      return intAttr(p, 'start') === undefined && intAttr(p, 'end') === undefined ? rankOf(ins[0]) : undefined;
    case 'Concat': {
      const parts = ins.map((i) => vectorLength(i, producer, rankOf, ints));
      return parts.every((l) => l !== undefined) ? parts.reduce((a, b) => a! + b!, 0) : undefined;
    }
    case 'Unsqueeze':
      return rankOf(ins[0]) === 0 ? 1 : undefined;
    case 'Cast':
    case 'Identity':
      return vectorLength(ins[0], producer, rankOf, ints);
    default:
      return undefined;
  }
}

/** Index of the rows in a shape built by Concat from pieces of a block tensor's Shape (Slice from 0, or whole). */
export function rowsInShape(
  x: string,
  producer: Map<string, onnx.INodeProto>,
  rankOf: (x: string) => number | undefined,
  ints: Map<string, number[]>,
  rowPos: (tensor: string) => number | undefined,
): number | undefined {
  const p = producer.get(x);
  if (!p) return undefined;
  const ins = p.input ?? [];
  const fromShape = (v: string): { tensor: string; length: number } | undefined => {
    const q = producer.get(v);
    if (q?.opType === 'Shape' && intAttr(q, 'start') === undefined && intAttr(q, 'end') === undefined) {
      const r = rankOf(q.input![0]);
      return r === undefined ? undefined : { tensor: q.input![0], length: r };
    }
    if (q?.opType === 'Slice') {
      const whole = fromShape(q.input![0]);
      const starts = ints.get(q.input![1]);
      const ends = ints.get(q.input![2]);
      if (!whole || !starts || !ends || starts[0] !== 0 || (q.input![3] && ints.get(q.input![3])?.[0] !== 0)) return undefined;
      return { tensor: whole.tensor, length: Math.min(whole.length, ends[0] < 0 ? whole.length + ends[0] : ends[0]) };
    }
    return undefined;
  };
  const pieces = p.opType === 'Concat' ? ins : [x];
  let offset = 0;
  /** Unsqueeze(Gather(Shape(t), c)): one entry, the rows when c is t's row axis. */
  const isRowEntry = (v: string): boolean => {
    const u = producer.get(v);
    const g = u?.opType === 'Unsqueeze' ? producer.get(u.input![0]) : undefined;
    const sh = g?.opType === 'Gather' ? producer.get(g.input![0]) : undefined;
    if (!g || sh?.opType !== 'Shape') return false;
    const c = ints.get(g.input![1])?.[0];
    const r = rankOf(sh.input![0]);
    const pos = rowPos(sh.input![0]);
    return c !== undefined && r !== undefined && pos !== undefined && (c < 0 ? c + r : c) === pos;
  };
  for (const piece of pieces) {
    if (isRowEntry(piece)) return offset;
    const s = fromShape(piece);
    const pos = s ? rowPos(s.tensor) : undefined;
    if (s && pos !== undefined && pos < s.length) return offset + pos;
    const len = s?.length ?? vectorLength(piece, producer, rankOf, ints);
    if (len === undefined) return undefined;
    offset += len;
  }
  return undefined;
}

/** The entries of a 1-D shape tensor the graph fixes (constants), undefined for the others. */
export function shapeEntries(
  x: string,
  producer: Map<string, onnx.INodeProto>,
  rankOf: (x: string) => number | undefined,
  ints: Map<string, number[]>,
): (number | undefined)[] | undefined {
  const v = ints.get(x);
  if (v) return v;
  const p = producer.get(x);
  if (!p) return undefined;
  const ins = p.input ?? [];
  if (p.opType === 'Concat') {
    const parts = ins.map((i) => shapeEntries(i, producer, rankOf, ints));
    return parts.every((e) => e !== undefined) ? parts.flat() : undefined;
  }
  if (p.opType === 'Cast' || p.opType === 'Identity') return shapeEntries(ins[0], producer, rankOf, ints);
  const len = vectorLength(x, producer, rankOf, ints);
  return len === undefined ? undefined : Array<number | undefined>(len).fill(undefined);
}

/** Rank of a node's outputs where its op and input ranks say it; undefined otherwise. */
export function inferRank(n: onnx.INodeProto, rankOf: (x: string) => number | undefined, ints: Map<string, number[]>): number | undefined {
  const op = n.opType ?? '';
  const ins = n.input ?? [];
  const r0 = rankOf(ins[0]);
  const maxRank = () => {
    const rs = ins.filter((x) => x).map(rankOf);
    return rs.every((r) => r !== undefined) ? Math.max(...(rs as number[])) : undefined;
  };
  if (ELEMENTWISE.has(op) || op === 'PRelu') return maxRank();
  switch (op) {
    case 'MatMul':
      return maxRank();
    case 'Gemm':
      return 2;
    case 'Shape':
    case 'Range':
    case 'NonZero':
      return op === 'NonZero' ? 2 : 1;
    case 'Transpose':
      return intsAttr(n, 'perm')?.length ?? r0;
    case 'Reshape':
    case 'Expand':
    case 'ConstantOfShape': {
      const shape = op === 'ConstantOfShape' ? ins[0] : ins[1];
      const v = ints.get(shape);
      const len = v?.length ?? (rankOf(shape) === 1 ? undefined : undefined);
      if (op === 'Expand' && len !== undefined && r0 !== undefined) return Math.max(len, r0);
      return op === 'Expand' ? undefined : len;
    }
    case 'Gather': {
      const ri = rankOf(ins[1]);
      return r0 !== undefined && ri !== undefined ? r0 - 1 + ri : undefined;
    }
    case 'Unsqueeze':
    case 'Squeeze': {
      const axes = intsAttr(n, 'axes') ?? (ins[1] ? ints.get(ins[1]) : undefined);
      if (r0 === undefined || !axes) return undefined;
      return op === 'Unsqueeze' ? r0 + axes.length : r0 - axes.length;
    }
    case 'Softmax':
    case 'LogSoftmax':
    case 'LayerNormalization':
    case 'SimplifiedLayerNormalization':
    case 'Concat':
    case 'Split':
    case 'Slice':
    case 'Tile':
    case 'Pad':
    case 'Trilu':
    case 'CumSum':
      return r0;
    case 'ReduceMean':
    case 'ReduceSum':
    case 'ReduceMax':
    case 'ReduceMin':
    case 'ReduceProd':
    case 'ReduceL2': {
      if ((intAttr(n, 'keepdims') ?? 1) === 1) return r0;
      const axes = intsAttr(n, 'axes') ?? (ins[1] ? ints.get(ins[1]) : undefined);
      return r0 !== undefined && axes ? r0 - axes.length : undefined;
    }
    default:
      return undefined;
  }
}
