/**
 * Query blocks: one attention layer's segment rewritten so it runs for a range of query rows
 * (start, rows) at a time, for inputs whose [heads, n, n] maps do not fit the memory budget.
 *
 * The segment is split in two parts:
 * - `once`: every node that does not depend on the query rows (the layer norm and Q/K/V
 *   projections of all n rows, RoPE, masks). It runs once per capture, as in an unblocked run.
 * - `block`: the queries' rows are gathered right before the scores MatMul (Q Kᵀ), and every
 *   node downstream of them runs on those rows only, against all keys: scores, mask, softmax,
 *   probabilities times V, the output projection, the residual add, the MLP. Attention output
 *   rows are independent given all keys, and what follows a transformer's attention works row
 *   by row, so the blocks' outputs, put side by side on their row axis, are the segment's
 *   outputs, and every node of the segment is still computed once per row.
 * Tensors the block part reads from the once part on the row axis (the residual stream, a
 * [n, n] causal mask) are gathered to the block's rows; a mask broadcast over rows ([1, 1, 1, n])
 * is gathered at row 0 (indices clamped to its length), so broadcasting is kept.
 *
 * Only ops whose row semantics are known are rewritten; anything else downstream of the
 * queries makes the segment unblockable (planQueryBlocks returns why), and such a layer runs
 * whole or is refused with the largest length that fits (layerMemory.ts).
 */
import type { onnx } from 'onnx-proto';
import { attr, intAttr, intsAttr } from '../onnx/nodeAttributes';
import { nodeReads, type SegmentSpec } from './segments';
import { ELEMENTWISE, inferRank, rowsInShape, shapeEntries, tensorInts, vectorLength } from './shapeReading';

/** Fed to every block run: first query row and row count, int64 [1]. */
export const BLOCK_START_INPUT = 'attention_inspector_block_start';
export const BLOCK_ROWS_INPUT = 'attention_inspector_block_rows';

export interface QueryBlockPlan {
  /** Nodes that do not depend on the query rows: run once per capture. */
  once: onnx.INodeProto[];
  onceInputs: string[];
  /** What the block part (or a later segment) reads from the once part. */
  onceOutputs: string[];
  /** Nodes run per block, with the row gathers added. */
  block: onnx.INodeProto[];
  /** Tensors the block part reads (segment inputs and once outputs), besides the block inputs. */
  blockInputs: string[];
  /** Segment outputs the block part makes, with their row axis counted from the end (< 0). */
  rowOutputs: Map<string, number>;
  /** The queries before their rows are gathered ([..., n, d]): their axis -2 counts the rows. */
  queries: string;
}

/** Ops that turn a length into positions (masks, indices): wrong when the length is a block's. */
const POSITIONAL = new Set(['Range', 'Trilu', 'EyeLike', 'CumSum', 'OneHot']);

/** Ops that read their first input at computed indices. */
const INDEXING = new Set(['Slice', 'Gather', 'GatherElements', 'GatherND']);

/** ONNX TensorProto.DataType of bool (masks an Attention op's own mask is combined with). */
const BOOL = 9;

/** Ops whose output is bool, and ops whose output has their first input's element type. */
const BOOLEAN = new Set(['Not', 'And', 'Or', 'Xor', 'Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual', 'IsNaN', 'IsInf']);
const SAME_TYPE = new Set(['Add', 'Sub', 'Mul', 'Div', 'Neg', 'Min', 'Max', 'Expand', 'Reshape', 'Unsqueeze', 'Squeeze', 'Slice', 'Gather', 'Transpose', 'Identity', 'Tile', 'Concat']);

/** Ops between the scores MatMul and the probabilities (attentionFinder.ts's pass-through set). */
const SCORE_PATH = new Set(['Softmax', 'Mul', 'Div', 'Add', 'Sub', 'Where', 'Reshape', 'Cast', 'Transpose', 'Expand', 'Unsqueeze', 'Squeeze', 'Identity', 'Tanh', 'Neg', 'Clip', 'Max', 'Min']);

/**
 * Plans the block form of segment `spec` whose site is `spec.sites[0]`. `initializers` are the
 * model's weights by name (ranks and constant shapes), `inputRank` the rank of a segment input.
 * Returns a sentence saying why when the segment cannot run by query blocks.
 */
export function planQueryBlocks(
  spec: SegmentSpec,
  initializers: Map<string, onnx.ITensorProto>,
  inputRank: (name: string) => number | undefined,
  opset: number,
  /** Ranks observed in a run of the segment, for tensors whose rank the ops do not tell. */
  observed?: Map<string, number>,
  /** The ONNX element type of a segment input, where known (an Attention op's mask). */
  inputElem: (name: string) => number | undefined = () => undefined,
): QueryBlockPlan | string {
  const nodes = spec.nodes;
  const site = spec.sites[0];
  const producer = new Map<string, onnx.INodeProto>();
  for (const n of nodes) for (const o of n.output ?? []) if (o) producer.set(o, n);

  // Constant values (weights and what is computed from them only) and their int contents.
  const constant = new Set(initializers.keys());
  const ints = new Map<string, number[]>();
  for (const [name, t] of initializers) {
    const v = t.dataType === 7 || t.dataType === 6 ? tensorInts(t) : undefined;
    if (v) ints.set(name, v);
  }
  const rank = new Map<string, number>();
  for (const [name, t] of initializers) rank.set(name, (t.dims ?? []).length);
  for (const x of spec.inputs) {
    const r = inputRank(x);
    if (r !== undefined) rank.set(x, r);
  }
  const rankOf = (x: string) => (x ? rank.get(x) : undefined);
  for (const n of nodes) {
    const ins = nodeReads(n);
    if (n.opType === 'Constant' || (ins.length > 0 && ins.every((x) => constant.has(x)))) for (const o of n.output ?? []) constant.add(o);
    if (n.opType === 'Constant') {
      const t = attr(n, 'value')?.t;
      const list = attr(n, 'value_ints')?.ints;
      const one = attr(n, 'value_int');
      if (t) {
        rank.set(n.output![0], (t.dims ?? []).length);
        const v = tensorInts(t);
        if (v) ints.set(n.output![0], v);
      } else if (list) {
        rank.set(n.output![0], 1);
        ints.set(n.output![0], list.map(Number));
      } else if (one && one.i !== undefined && one.i !== null) {
        rank.set(n.output![0], 0);
        ints.set(n.output![0], [Number(one.i)]);
      }
      continue;
    }
    const r = inferRank(n, rankOf, ints);
    for (const o of n.output ?? []) {
      const known = r ?? (o ? observed?.get(o) : undefined);
      if (o && known !== undefined) rank.set(o, known);
    }
  }

  // Element types where the graph tells them (what an Attention op's mask is combined with).
  const elemOf = (x: string): number | undefined => {
    const init = initializers.get(x);
    if (init) return init.dataType ?? undefined;
    const p = producer.get(x);
    if (!p) return inputElem(x);
    const op = p.opType ?? '';
    if (op === 'Cast') return intAttr(p, 'to');
    if (op === 'Constant') return attr(p, 'value')?.t?.dataType ?? undefined;
    if (BOOLEAN.has(op)) return BOOL;
    if (op === 'Where') return elemOf(p.input?.[1] ?? '') ?? elemOf(p.input?.[2] ?? '');
    if (op === 'CastLike') return elemOf(p.input?.[1] ?? '');
    return SAME_TYPE.has(op) ? elemOf(p.input?.[0] ?? '') : undefined;
  };

  // The ONNX Attention op (opset 23) makes the probabilities inside one node (its
  // qk_matmul_output): its queries are cut to the block's rows where it reads them.
  const siteNode = producer.get(site);
  const attentionOp = siteNode?.opType === 'Attention' && (!siteNode.domain || siteNode.domain === 'ai.onnx') ? siteNode : undefined;
  if (attentionOp) {
    const [, , , , pastKey, pastValue] = attentionOp.input ?? [];
    const [, presentKey, presentValue] = attentionOp.output ?? [];
    // A cache's present key/value hold every row: no block makes them alone.
    if (pastKey || pastValue || presentKey || presentValue) return `Attention node ${attentionOp.name ?? ''} reads or writes a key/value cache`;
  }
  // The scores MatMul: back from the probabilities through the ops attention puts between them.
  let scores: onnx.INodeProto | undefined = attentionOp;
  const queue = [site];
  const seen = new Set(queue);
  while (queue.length > 0 && !scores) {
    const p = producer.get(queue.shift()!);
    if (!p) continue;
    const data = (p.input ?? []).filter((x) => x && !constant.has(x));
    if (p.opType === 'MatMul' && data.length === 2) scores = p;
    else if (SCORE_PATH.has(p.opType ?? '')) {
      for (const x of data) {
        if (seen.has(x)) continue;
        seen.add(x);
        queue.push(x);
      }
    }
  }
  if (!scores) return 'no MatMul of queries and keys found before the probabilities';

  const added: onnx.INodeProto[] = [];
  let serial = 0;
  const fresh = (what: string) => `attention_inspector/blocks/${what}_${serial++}`;
  const i64 = (values: number[], dims = [values.length]): string => {
    const name = fresh('const');
    added.push({ opType: 'Constant', input: [], output: [name], attribute: [{ name: 'value', type: 4, t: { name, dataType: 7, dims, int64Data: values } }] });
    return name;
  };
  const node = (opType: string, input: string[], attrs: onnx.IAttributeProto[] = []): string => {
    const out = fresh(opType);
    added.push({ opType, input, output: [out], attribute: attrs });
    return out;
  };
  const intAttrProto = (name: string, i: number): onnx.IAttributeProto => ({ name, type: 2, i });
  // Row indices of the block, start .. start + rows - 1.
  // Squeeze took its axes as an attribute before opset 13.
  const scalar = (x: string) => (opset >= 13 ? node('Squeeze', [x, i64([0])]) : node('Squeeze', [x], [{ name: 'axes', type: 7, ints: [0] }]));
  const start = scalar(BLOCK_START_INPUT);
  const end = node('Add', [start, scalar(BLOCK_ROWS_INPUT)]);
  const rowIndex = node('Range', [start, end, i64([1], [])]);
  const gathered = new Map<string, string>();
  /** `x` at the block's rows on axis `axis` (< 0); indices clamped so a length-1 axis broadcasts. */
  const rowsOf = (x: string, axis: number): string => {
    const key = `${axis}:${x}`;
    let g = gathered.get(key);
    if (!g) {
      const length = node('Gather', [node('Shape', [x]), i64([axis], [])], [intAttrProto('axis', 0)]);
      const last = node('Sub', [length, i64([1], [])]);
      const index = node('Where', [node('Less', [rowIndex, length]), rowIndex, last]);
      g = node('Gather', [x, index], [intAttrProto('axis', axis)]);
      gathered.set(key, g);
    }
    return g;
  };

  /** Row axis (< 0) of each tensor holding the block's rows; `derived`: depends on them otherwise (shapes). */
  const rowAxis = new Map<string, number>();
  const derived = new Set<string>();
  const once: onnx.INodeProto[] = [];
  const block: onnx.INodeProto[] = [];
  const scoresAt = nodes.indexOf(scores);
  const qRank = rankOf(scores.input![0]);
  if (qRank === undefined || qRank < 2) return 'the rank of the queries is unknown';

  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i];
    const op = n.opType ?? '';
    const ins = n.input ?? [];
    const outs = (n.output ?? []).filter((o) => o);
    if (i === scoresAt && n === attentionOp) {
      const made = attentionBlock(n, rowsOf, rowIndex, node, i64, rankOf, elemOf);
      if (typeof made === 'string') return made;
      block.push(made);
      for (const o of outs) rowAxis.set(o, -2);
      continue;
    }
    if (i === scoresAt) {
      const q = rowsOf(ins[0], -2);
      block.push({ ...n, input: [q, ...ins.slice(1)] });
      for (const o of outs) rowAxis.set(o, -2);
      continue;
    }
    const rowIns = ins.map((x) => (x ? rowAxis.get(x) : undefined));
    const readsRows = rowIns.some((a) => a !== undefined);
    const readsDerived = nodeReads(n).some((x) => derived.has(x) || rowAxis.has(x));
    if (!readsDerived) {
      once.push(n);
      continue;
    }
    if (!readsRows) {
      // Shapes of block tensors and what is computed from them: consistent with the block already,
      // except positions: a causal mask made from the scores' own row count (Range over it) would
      // number every block's rows from 0. Such a layer runs whole instead of giving wrong maps.
      if (POSITIONAL.has(op)) return `${op} node ${n.name ?? ''} makes positions from a block's own shape`;
      // Likewise a slice of a whole-length tensor (a causal buffer cut at [k - q, k)) whose
      // bounds come from a block's row count would take the last rows for every block.
      if (INDEXING.has(op) && ins[0] && !derived.has(ins[0]) && ins.slice(1).some((x) => derived.has(x))) return `${op} node ${n.name ?? ''} indexes a tensor by a block's own shape`;
      block.push(n);
      for (const o of outs) derived.add(o);
      continue;
    }
    if (nodeReads(n).length !== new Set(ins.filter((x) => x)).size) return `${op} node ${n.name ?? ''} has a subgraph reading the query rows`;
    const a = Math.min(...rowIns.filter((x): x is number => x !== undefined));
    if (rowIns.some((x) => x !== undefined && x !== a)) return `${op} node ${n.name ?? ''} mixes tensors whose rows lie on different axes`;
    const r = rankOf(ins[rowIns.indexOf(a)]);
    const pos = r === undefined ? undefined : r + a;
    const setRows = (axis: number) => {
      for (const o of outs) rowAxis.set(o, axis);
    };
    /** Other operands broadcast against the rows: gathered to them where they have the axis. */
    const align = (x: string, k: number) => {
      if (!x || rowIns[k] !== undefined) return x;
      const xr = rankOf(x);
      if (xr === undefined) return '';
      return xr >= -a ? rowsOf(x, a) : x;
    };
    if (ELEMENTWISE.has(op) || op === 'Concat') {
      if (op === 'Concat') {
        const axis = intAttr(n, 'axis') ?? 0;
        if (r === undefined || (axis < 0 ? axis : axis - r) === a) return 'a Concat along the query rows';
      }
      const input = ins.map(align);
      if (input.some((x, k) => ins[k] && !x)) return `the rank of an operand of ${op} node ${n.name ?? ''} is unknown`;
      block.push({ ...n, input });
      setRows(a);
    } else if (op === 'Softmax' || op === 'LogSoftmax' || op === 'LayerNormalization' || op === 'SimplifiedLayerNormalization') {
      const axis = intAttr(n, 'axis') ?? -1;
      if (r === undefined || (axis < 0 ? axis : axis - r) <= a) return `${op} over the query rows`;
      if (op.endsWith('Softmax') && axis !== -1 && axis !== r - 1) return `${op} over axis ${axis} of ${r}`;
      if (rowIns.slice(1).some((x) => x !== undefined)) return `${op} with row-dependent scale`;
      block.push(n);
      for (const o of outs.slice(1)) if (o) derived.add(o);
      if (outs[0]) rowAxis.set(outs[0], a);
    } else if (op.startsWith('Reduce')) {
      const axes = intsAttr(n, 'axes') ?? (ins[1] ? ints.get(ins[1]) : undefined);
      if (r === undefined || !axes || (intAttr(n, 'keepdims') ?? 1) !== 1) return `${op} without constant axes kept`;
      if (axes.some((x) => (x < 0 ? x : x - r) <= a)) return `${op} over the query rows`;
      block.push(n);
      setRows(a);
    } else if (op === 'MatMul' || op === 'Gemm') {
      if (rowIns[0] === undefined || rowIns[1] !== undefined) return `${op} node ${n.name ?? ''} reads the rows as its second operand`;
      if (a !== -2 || (op === 'Gemm' && intAttr(n, 'transA'))) return `${op} node ${n.name ?? ''} has the rows on axis ${a}`;
      const input = op === 'Gemm' && ins[2] ? [ins[0], ins[1], align(ins[2], 2)] : ins;
      block.push({ ...n, input });
      setRows(-2);
    } else if (op === 'Transpose') {
      const perm = intsAttr(n, 'perm');
      const rr = perm?.length ?? r;
      if (rr === undefined) return 'a Transpose of unknown rank';
      const p = rr + a;
      const j = perm ? perm.indexOf(p) : rr - 1 - p;
      block.push(n);
      setRows(j - rr);
    } else if (op === 'Unsqueeze' || op === 'Squeeze') {
      const axes = intsAttr(n, 'axes') ?? (ins[1] ? ints.get(ins[1]) : undefined);
      if (r === undefined || pos === undefined || !axes) return `${op} without constant axes`;
      const outRank = op === 'Unsqueeze' ? r + axes.length : r - axes.length;
      const norm = axes.map((x) => (x < 0 ? x + (op === 'Unsqueeze' ? outRank : r) : x));
      if (op === 'Squeeze' && norm.includes(pos)) return 'a Squeeze of the query rows';
      let p: number;
      if (op === 'Unsqueeze') {
        // Output position of input axis `pos`: the (pos+1)-th axis not inserted.
        let seenAxes = -1;
        for (p = 0; p < outRank; p++) if (!norm.includes(p) && ++seenAxes === pos) break;
      } else p = pos - norm.filter((x) => x < pos).length;
      block.push(n);
      setRows(p - outRank);
    } else if (op === 'Reshape') {
      // Heads split or merged behind the rows (the layouts attention uses): the leading dims up
      // to the row axis are kept, and the row entry of the target shape becomes the block's rows.
      const shapeLen = vectorLength(ins[1], producer, rankOf, ints);
      if (pos === undefined || shapeLen === undefined || shapeLen <= pos) return `Reshape node ${n.name ?? ''}: its target shape cannot be read (${pos}, ${shapeLen})`;
      if (rowAxis.has(ins[1])) return 'a Reshape to a row-dependent shape';
      const entries = shapeEntries(ins[1], producer, rankOf, ints);
      const minusOne = entries?.indexOf(-1) ?? -1;
      if (minusOne >= 0 && minusOne < shapeLen - 1 && (derived.has(ins[1]) || entries!.slice(minusOne + 1).every((e) => e !== undefined && e > 0))) {
        // [.., -1, d..]: the -1 takes the rows (and a batch of one before them), as merging heads
        // behind the rows ([T, heads, d] -> [-1, heads*d], [1, T, D] -> [-1, D]) writes it.
        block.push(n);
        setRows(minusOne - shapeLen);
        continue;
      }
      if (entries && entries.slice(0, pos + 1).every((e) => e === 0)) {
        // Leading dims copied (0) through the rows: the shape needs no change.
        block.push(n);
        setRows(pos - shapeLen);
        continue;
      }
      if (derived.has(ins[1])) {
        // A shape made from a block tensor's shape (torch's `x.size()[:-1] + (d,)`): the rows sit
        // where that tensor's rows sit among the entries taken from it.
        const at = rowsInShape(ins[1], producer, rankOf, ints, (t) => {
          const ax = rowAxis.get(t);
          const rt = rankOf(t);
          return ax === undefined || rt === undefined ? undefined : rt + ax;
        });
        if (at === undefined) return `Reshape node ${n.name ?? ''} to a shape computed from the rows`;
        block.push(n);
        setRows(at - shapeLen);
        continue;
      }
      // Else the row entry of the target shape (the full length, or 0/-1) becomes the block's rows.
      const shape = node('Concat', [
        node('Slice', [ins[1], i64([0]), i64([pos])]),
        BLOCK_ROWS_INPUT,
        node('Slice', [ins[1], i64([pos + 1]), i64([shapeLen])]),
      ], [intAttrProto('axis', 0)]);
      block.push({ ...n, input: [ins[0], shape] });
      setRows(pos - shapeLen);
    } else if (op === 'Split') {
      const axis = intAttr(n, 'axis') ?? 0;
      if (r === undefined || (axis < 0 ? axis : axis - r) === a) return 'a Split along the query rows';
      block.push(n);
      setRows(a);
    } else if (op === 'Shape') {
      block.push(n);
      for (const o of outs) derived.add(o);
    } else {
      return `${op} node ${n.name ?? ''} after the attention scores has no known row form`;
    }
  }

  if (!rowAxis.has(site) || rowAxis.get(site) !== -2) return 'the probabilities do not keep their query rows second to last';
  const blockNodes = [...added, ...block];
  const made = new Set(blockNodes.flatMap((n) => n.output ?? []));
  const onceMade = new Set(once.flatMap((n) => n.output ?? []));
  const blockReads = new Set(blockNodes.flatMap(nodeReads).filter((x) => !made.has(x) && x !== BLOCK_START_INPUT && x !== BLOCK_ROWS_INPUT && !initializers.has(x)));
  const rowOutputs = new Map<string, number>();
  for (const o of spec.outputs) {
    if (onceMade.has(o)) continue;
    const axis = rowAxis.get(o);
    if (axis === undefined) return `segment output ${o} does not hold query rows`;
    rowOutputs.set(o, axis);
  }
  const onceReads = new Set(once.flatMap(nodeReads));
  return {
    once,
    onceInputs: spec.inputs.filter((x) => onceReads.has(x)),
    onceOutputs: [...new Set([...spec.outputs.filter((o) => onceMade.has(o)), ...[...blockReads].filter((x) => onceMade.has(x))])],
    block: blockNodes,
    blockInputs: [...blockReads],
    rowOutputs,
    queries: scores.input![0],
  };
}

/**
 * The block form of an ONNX Attention node: its queries (and a mask with rows) cut to the
 * block's rows. `is_causal` numbers the rows the op is given from 0, so a block gets the causal
 * mask explicitly instead: key j is visible to row r when j <= r (r the row's index in the
 * whole input), combined with the node's own mask (And for a bool mask; a float mask keeps its
 * values where visible and -inf elsewhere, as the op adds its causal -inf to it).
 */
function attentionBlock(
  n: onnx.INodeProto,
  rowsOf: (x: string, axis: number) => string,
  rowIndex: string,
  node: (opType: string, input: string[], attrs?: onnx.IAttributeProto[]) => string,
  i64: (values: number[], dims?: number[]) => string,
  rankOf: (x: string) => number | undefined,
  elemOf: (x: string) => number | undefined,
): onnx.INodeProto | string {
  const [q, k, v, given, ...rest] = n.input ?? [];
  // With [batch, n, hidden] inputs onnxruntime's shape inference gives the block's output a
  // width its next MatMul rejects when the inputs' widths are symbolic (as a block's are).
  if (rankOf(q) !== 4) return `Attention node ${n.name ?? ''} takes [batch, n, hidden] queries (blocks need [batch, heads, n, d])`;
  let mask = given ?? '';
  if (mask) {
    const r = rankOf(mask);
    if (r === undefined) return `the rank of Attention node ${n.name ?? ''}'s mask is unknown`;
    // [.., q, k] masks have rows; a [k] mask broadcasts over them.
    if (r >= 2) mask = rowsOf(mask, -2);
  }
  const causal = (intAttr(n, 'is_causal') ?? 0) === 1;
  if (causal) {
    const keys = node('Gather', [node('Shape', [k]), i64([-2], [])], [{ name: 'axis', type: 2, i: 0 }]);
    const cols = node('Range', [i64([0], []), keys, i64([1], [])]);
    const visible = node('LessOrEqual', [node('Unsqueeze', [cols, i64([0])]), node('Unsqueeze', [rowIndex, i64([1])])]);
    if (!mask) mask = visible;
    else {
      const type = elemOf(given);
      if (type === undefined) return `the element type of Attention node ${n.name ?? ''}'s mask is unknown`;
      if (type === BOOL) mask = node('And', [mask, visible]);
      else {
        const minusInf = node('Constant', [], [{ name: 'value', type: 4, t: { dataType: 1, dims: [], floatData: [-Infinity] } }]);
        mask = node('Where', [visible, mask, node('CastLike', [minusInf, mask])]);
      }
    }
  }
  const attribute = (n.attribute ?? []).filter((a) => a.name !== 'is_causal');
  return { ...n, input: [rowsOf(q, -2), k, v, mask, ...rest], attribute };
}
