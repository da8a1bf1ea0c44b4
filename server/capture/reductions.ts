/**
 * What the panel shows first, computed by ONNX ops next to each layer's probabilities, on the
 * execution provider, so a layer reads back O(heads · (n + p²)) numbers instead of its
 * heads · n² map:
 * - `stats` [heads, 6] float64: per head, sums over query rows of the row figures of docs/views.md
 *   (entropy in nats, distance |q − k|, mass on key 0, on key q − 1 (rows q ≥ 1), on key q,
 *   share of the row's mass in its top-k keys); the host divides by the row counts;
 * - `colsum` [heads, keys]: mass each key receives, summed over queries (sink detection);
 * - `pooled` [heads, ⌈q/p⌉, ⌈k/p⌉]: block maxima at pool factor p (fed per run);
 * - `headsum` [⌈q/p⌉, ⌈k/p⌉]: the map summed over heads and over each block (mean over heads
 *   for rollout, exact at p = 1).
 * Probabilities of any layout ([b*h, q, k], [b, h, q, k], fp16) are read as [heads, q, k].
 *
 * Cost is what decides the op choices: on the CPU provider every op that writes a full
 * [heads, q, k] tensor costs about as much as the model's own softmax (a fresh allocation
 * touched page by page), while a reduction that only reads it costs a fraction of that. So
 * - entropy comes from the softmax's own input s when it is reachable: −Σ p log p =
 *   m · (s_j − log p_j) − Σ p s, with j the row's top key (log p_j + lse = s_j), one Mul where the
 *   direct form needs Max, Log and Mul; rows where that loses precision (large or infinite
 *   scores) switch the layer to the direct form.
 */
import type { onnx } from 'onnx-proto';
import { GraphBuilder } from '../onnx/graphBuilder';
import { intAttr } from '../onnx/nodeAttributes';
import type { SiteDecoration } from './segmentedGraph';

/** Inputs every reduced segment is fed at each run. */
export const POOL_INPUT = 'attention_inspector_pool';
export const TOPK_INPUT = 'attention_inspector_topk';
/**
 * Absolute index of the first query row the probabilities hold: query blocks
 * (server/capture/queryBlocks.ts) feed the block's start, whole maps 0. Distance, previous and
 * self compare a row's index with its keys', so they need it.
 */
export const ROW_OFFSET_INPUT = 'attention_inspector_row_offset';

/** Every name the reductions make starts with this (prefixed again per site when spliced in). */
const OWN = 'attention_inspector_reduction/';

/** Ops used here need opset 11 (Range, Pad with pads as input, Gather with negative indices). */
export const MIN_REDUCTION_OPSET = 11;

/**
 * Largest |s_j| (a row's top score) for which entropy is taken from the scores: Σ p s in float32
 * carries an error of about 6e-8 · Σ p |s|, which stays under the 1e-6 the statistics are held to.
 */
export const SCORE_ENTROPY_LIMIT = 16;

export interface ReductionParts {
  /** Block maxima and block sums over heads at the fed pool factor. */
  pooled: boolean;
  /** When > 0, also the probabilities as this many outputs `head<h>` [1, q, k], one per head. */
  heads?: number;
}

type Reduce = (g: GraphBuilder, op: 'ReduceSum' | 'ReduceMax', x: string, axes: number[], keepdims?: number) => string;

/**
 * The softmax input and axis when `producer` is a Softmax (what the probabilities are of); the
 * graph checks at run time that the axis is the last one (before opset 13 a softmax over the
 * last axis is also the only one that normalises each row alone).
 */
export function softmaxScores(producer: onnx.INodeProto | undefined, opset: number): { scores: string; axis: number } | undefined {
  if (!producer || producer.opType !== 'Softmax' || (producer.domain ?? '') !== '') return undefined;
  const axis = intAttr(producer, 'axis') ?? (opset >= 13 ? -1 : 1);
  const scores = (producer.input ?? [])[0];
  return scores && (axis === -1 || axis >= 0) ? { scores, axis } : undefined;
}

/**
 * The decoration for one site: nodes reading `probs`, with every internal name prefixed so
 * nothing collides with the model's own names. Undefined below MIN_REDUCTION_OPSET. `producer`
 * is the node computing `probs`, when the segment holds it.
 */
export function reductionDecoration(
  probs: string,
  site: number,
  opset: number,
  parts: ReductionParts,
  producer?: onnx.INodeProto,
): SiteDecoration | undefined {
  if (opset < MIN_REDUCTION_OPSET) return undefined;
  // Made-up names, and the outputs', start with a prefix no model uses: the decoration reads model tensors by name
  // (the probabilities, the softmax's scores), and a model graph made by a builder like this one
  // (query blocks' parts) may hold names such as Where_119_out0_120 that it would make too.
  const g = new GraphBuilder('reductions', opset, OWN);
  const own = (x: string) => `${OWN}${x}`;
  const i64 = (b: GraphBuilder, name: string, v: number[]) => b.i64(name, v);
  const reduce: Reduce = (b, op, x, axes, keepdims = 0) => {
    // Axes moved from an attribute to an input: ReduceSum at 13, the other reductions at 18.
    const asInput = op === 'ReduceSum' ? opset >= 13 : opset >= 18;
    return asInput
      ? b.node(op, [x, i64(b, `${op}_axes`, axes)], { attrs: { keepdims } })
      : b.node(op, [x], { attrs: { axes, keepdims } });
  };
  const double = (b: GraphBuilder, x: string) => b.node('Cast', [x], { attrs: { to: 11 } });
  const squeezed = (b: GraphBuilder, x: string) => (opset >= 13 ? b.node('Squeeze', [x, i64(b, 'sq_axes', [0])]) : b.node('Squeeze', [x], { attrs: { axes: [0] } }));
  const unsq = (b: GraphBuilder, x: string, axis: number) => (opset >= 13 ? b.node('Unsqueeze', [x, i64(b, 'unsq', [axis])]) : b.node('Unsqueeze', [x], { attrs: { axes: [axis] } }));
  const rangeOf = (b: GraphBuilder, start: string, stop: string) => b.node('Range', [squeezed(b, start), squeezed(b, stop), b.i64('step', [1], [])]);
  const ifs: { name: string; then: onnx.IGraphProto; else: onnx.IGraphProto }[] = [];
  /** An If node whose branches each return tensors of the given ONNX element types. */
  const chooseN = (cond: string, then: (b: GraphBuilder) => string[], otherwise: (b: GraphBuilder) => string[], types: number[]): string[] => {
    const name = g.fresh('choice');
    const outs = g.nodeN('If', [cond], { name, outputs: types.length });
    ifs.push({ name, then: branch(`${name}/then`, then, types), else: branch(`${name}/else`, otherwise, types) });
    return outs;
  };
  /** An If node whose branches each return one float64 tensor. */
  const choose = (cond: string, then: (b: GraphBuilder) => string, otherwise: (b: GraphBuilder) => string): string =>
    chooseN(cond, (b) => [then(b)], (b) => [otherwise(b)], [11])[0];
  const branch = (tag: string, build: (b: GraphBuilder) => string[], types: number[]): onnx.IGraphProto => {
    const b = new GraphBuilder(tag, opset);
    const outs = build(b).map((x, i) => b.node('Identity', [x], { outputs: [`out${i}`] }));
    return ownNames(b.toModel().graph ?? {}, `${tag}/`, outs.map((name, i) => ({ name, type: { tensorType: { elemType: types[i] } } })));
  };

  const shape = g.node('Shape', [probs]);
  const qk = g.node('Gather', [shape, i64(g, 'last_two', [-2, -1])], { attrs: { axis: 0 } });
  const Q = g.node('Gather', [qk, i64(g, 'zero', [0])], { attrs: { axis: 0 } });
  const K = g.node('Gather', [qk, i64(g, 'one', [1])], { attrs: { axis: 0 } });
  const asHeads = (x: string) => g.node('Reshape', [g.node('Cast', [x], { attrs: { to: 1 } }), g.node('Concat', [i64(g, 'minus_one', [-1]), qk], { attrs: { axis: 0 } })]);
  const P = asHeads(probs);

  // Sums over rows run in float64: a float32 sum over thousands of rows drifts past 1e-6.
  const overRows = (b: GraphBuilder, x: string) => reduce(b, 'ReduceSum', double(b, x), [1]); // [H, Q(, 1)] -> [H] float64
  const sumRows = (b: GraphBuilder, x: string) => overRows(b, reduce(b, 'ReduceSum', x, [2])); // [H, Q, *] -> [H]
  const zero = i64(g, 'z', [0]);
  const offset = g.input(ROW_OFFSET_INPUT, 'int64', [1]);
  const rq = g.node('Cast', [g.node('Add', [rangeOf(g, zero, Q), offset])], { attrs: { to: 1 } });
  const rk = g.node('Cast', [rangeOf(g, zero, K)], { attrs: { to: 1 } });

  /** What the pooled statistics and maps read from the map's blocks of b rows. */
  function rowBlockParts() {
    const b = g.input(POOL_INPUT, 'int64', [1]);
    const padQ = g.node('Mod', [g.node('Sub', [b, g.node('Mod', [Q, b])]), b]);
    const padK = g.node('Mod', [g.node('Sub', [b, g.node('Mod', [K, b])]), b]);
    const R = g.node('Div', [g.node('Add', [Q, padQ]), b]);
    const C = g.node('Div', [g.node('Add', [K, padK]), b]);
    // Mass and key moment per row, relative to the row block's first row so that a head looking
    // near the diagonal does not subtract two numbers near q (distance). Query blocks: local
    // row-block r starts at absolute row offset + r·b (offset is a multiple of b).
    const rb = g.node('Cast', [g.node('Add', [g.node('Mul', [rangeOf(g, zero, R), b]), offset])], { attrs: { to: 1 } });
    const moment = g.node('Sub', [unsq(g, rk, 0), unsq(g, rb, 1)]); // [R, K]
    const ones = g.node('Expand', [g.scalar('one_f', 1), g.node('Concat', [R, K], { attrs: { axis: 0 } })]);
    const weights = g.node('Concat', [unsq(g, ones, 2), unsq(g, moment, 2)], { attrs: { axis: 2 } }); // [R, K, 2]
    // Rows first: the b rows of a block are contiguous, so reducing over them walks the map
    // once in order; only the [H, R, K] results are then padded and reduced over key blocks.
    // The full map gets zero rows appended (probabilities are never negative) only when b does
    // not divide its rows: that Concat copies the whole map, even with nothing to append, so an
    // If keeps it off the common path (query blocks leave the remainder rows to a block alone).
    const zeroRows = g.node('ConstantOfShape', [g.node('Concat', [g.node('Gather', [g.node('Shape', [P]), i64(g, 'head_axis', [0])], { attrs: { axis: 0 } }), padQ, K], { attrs: { axis: 0 } })]);
    const rowParts = (bb: GraphBuilder, map: string) => {
      const rowBlocks = bb.node('Reshape', [map, bb.node('Concat', [i64(bb, 'm1', [-1]), R, b, K], { attrs: { axis: 0 } })]); // [H, R, b, K]
      return [reduce(bb, 'ReduceMax', rowBlocks, [2]), reduce(bb, 'ReduceSum', rowBlocks, [2]), bb.node('MatMul', [rowBlocks, weights])];
    };
    const [rowMax, rowSum, both] = chooseN(
      squeezed(g, g.node('Greater', [padQ, zero])),
      (bb) => rowParts(bb, bb.node('Concat', [P, zeroRows], { attrs: { axis: 1 } })),
      (bb) => rowParts(bb, P),
      [1, 1, 1],
    ); // [H, R, K], [H, R, K], [H, R, b, 2]
    // The row masses are the MatMul's first column; the padded rows are cut off.
    const rowMass = g.node('Reshape', [g.node('Gather', [both, i64(g, 'mass_col', [0])], { attrs: { axis: 3 } }), i64(g, 'mass_flat', [0, -1])]); // [H, R·b]
    const mass = unsq(g, g.node('Slice', [rowMass, zero, Q, i64(g, 'mass_axis', [1])]), 2); // [H, Q, 1]
    return { b, padK, R, C, rowMax, rowSum, both, mass, colsum: reduce(g, 'ReduceSum', rowSum, [1]) };
  }

  // Pooled captures read the map's row blocks once for the block maxima, the block sums and one
  // MatMul (mass and key moment per row); the mass per row and per key come from those instead
  // of two more reads of the map.
  const pooled = parts.pooled ? rowBlockParts() : undefined;
  const mass = pooled?.mass ?? reduce(g, 'ReduceSum', P, [2], 1); // [H, Q, 1]

  const topk = g.input(TOPK_INPUT, 'int64', [1]);
  const k = g.node('Where', [g.node('Less', [K, topk]), K, topk]);
  const [topValues, topKeys] = g.nodeN('TopK', [P, k], { attrs: { axis: -1 }, outputs: 2 });
  const share = reduce(g, 'ReduceSum', double(g, g.node('Div', [reduce(g, 'ReduceSum', topValues, [2], 1), mass])), [1, 2]);

  const directEntropy = (b: GraphBuilder) => b.node('Neg', [sumRows(b, b.node('Mul', [P, b.node('Log', [b.node('Max', [P, b.scalar('tiny', 1e-30)])])]))]);
  const softmax = softmaxScores(producer, opset);
  const scores = softmax?.scores;
  let entropy: string;
  if (softmax) {
    const S = asHeads(softmax.scores);
    // j is the key the TopK put first: its score is read at its index (one value per row)
    // rather than found by a ReduceMax over S, which would read the whole map once more.
    const pTop = g.node('Gather', [topValues, i64(g, 'first_val', [0])], { attrs: { axis: 2 } });
    const sTop = g.node('GatherElements', [S, g.node('Gather', [topKeys, i64(g, 'first_key', [0])], { attrs: { axis: 2 } })], { attrs: { axis: 2 } }); // [H, Q, 1]
    // S first: the Mul is S's last reader, so its output may take S's buffer instead of a fresh one.
    const dot = reduce(g, 'ReduceSum', g.node('Mul', [S, P]), [2], 1);
    // Per row, in float64: m (s_j − log p_j) − Σ p s (log p_j + lse = s_j for any key j; the top
    // one, as its p_j is the most precise).
    const lse = g.node('Sub', [double(g, sTop), double(g, g.node('Log', [pTop]))]);
    const rows = g.node('Sub', [g.node('Mul', [double(g, mass), lse]), double(g, dot)]);
    const fromScores = reduce(g, 'ReduceSum', rows, [1, 2]); // [H]
    const total = reduce(g, 'ReduceSum', fromScores, [0]);
    const finite = g.node('Not', [g.node('Or', [g.node('IsNaN', [total]), g.node('IsInf', [total])])]);
    const small = g.node('Not', [g.node('Greater', [reduce(g, 'ReduceMax', g.node('Abs', [sTop]), [0, 1, 2]), g.scalar('score_limit', SCORE_ENTROPY_LIMIT)])]);
    let usable = g.node('And', [finite, small]);
    if (softmax.axis >= 0) usable = g.node('And', [usable, g.node('Equal', [g.node('Size', [shape]), g.i64('last_axis', [softmax.axis + 1], [])])]);
    entropy = choose(usable, (b) => b.node('Identity', [fromScores]), directEntropy);
  } else {
    entropy = directEntropy(g);
  }

  const fullDistance = (b: GraphBuilder) => {
    const dist = b.node('Abs', [b.node('Sub', [unsq(b, rq, 1), unsq(b, rk, 0)])]);
    return sumRows(b, b.node('Mul', [P, dist]));
  };
  const first = sumRows(g, g.node('Gather', [P, i64(g, 'key0', [0])], { attrs: { axis: 2 } }));
  // Diagonals by flat index: key q of row q sits at q * (K + 1); key q - 1 one before.
  const flat = g.node('Reshape', [P, i64(g, 'flat_shape', [0, -1])]);
  const K1 = g.node('Add', [K, i64(g, 'one_b', [1])]);
  // Row r of a block starting at row `offset` is query r + offset: its own key sits at
  // r * (K + 1) + offset, the key before one earlier; rows whose key is past K have none.
  const min = (a: string, b: string) => g.node('Where', [g.node('Less', [a, b]), a, b]);
  const max = (a: string, b: string) => g.node('Where', [g.node('Less', [a, b]), b, a]);
  const selfRows = min(Q, max(zero, g.node('Sub', [K, offset])));
  const prevFirst = max(zero, g.node('Sub', [i64(g, 'o', [1]), offset]));
  const prevEnd = max(prevFirst, min(Q, g.node('Sub', [K1, offset])));
  const selfIdx = g.node('Add', [g.node('Mul', [rangeOf(g, zero, selfRows), K1]), offset]);
  const prevIdx = g.node('Sub', [g.node('Add', [g.node('Mul', [rangeOf(g, prevFirst, prevEnd), K1]), offset]), i64(g, 'o2', [1])]);
  const diag = (idx: string) => overRows(g, g.node('Gather', [flat, idx], { attrs: { axis: 1 } }));
  const self = diag(selfIdx);
  const previous = diag(prevIdx);

  const outputs: Record<string, string> = { stats: own('stats'), colsum: own('colsum'), dims: own('dims') };
  g.node('Identity', [shape], { outputs: [outputs.dims] });
  g.node('Identity', [pooled?.colsum ?? reduce(g, 'ReduceSum', P, [1])], { outputs: [outputs.colsum] });

  let distance: string;
  if (pooled) {
    const { b, padK, R, C, rowMax, rowSum, both } = pooled;
    const keyBlocks = (x: string, lead: string[]) => {
      const pads = g.node('Concat', [i64(g, 'kpads0', Array(lead.length * 2 + 1).fill(0)), padK], { attrs: { axis: 0 } });
      return g.node('Reshape', [g.node('Pad', [x, pads]), g.node('Concat', [...lead, C, b], { attrs: { axis: 0 } })]);
    };
    const H = i64(g, 'm2', [-1]);
    const blockMax = reduce(g, 'ReduceMax', keyBlocks(rowMax, [H, R]), [3]); // [H, R, C]
    outputs.pooled = own('pooled');
    outputs.headsum = own('headsum');
    g.node('Identity', [blockMax], { outputs: [outputs.pooled] });
    const rowSums = reduce(g, 'ReduceSum', rowSum, [0]); // [R, K]
    g.node('Identity', [reduce(g, 'ReduceSum', keyBlocks(rowSums, [R]), [2])], { outputs: [outputs.headsum] });

    // Σ (q − k) p per row from the MatMul of the row blocks with [1, k − r·b] per key, then in
    // float64 (q − r·b) m − Σ (k − r·b) p.
    const m = double(g, g.node('Gather', [both, i64(g, 'col0', [0])], { attrs: { axis: 3 } }));
    const km = double(g, g.node('Gather', [both, i64(g, 'col1', [1])], { attrs: { axis: 3 } }));
    const inBlock = g.node('Reshape', [g.node('Cast', [rangeOf(g, zero, b)], { attrs: { to: 11 } }), i64(g, 'col_shape', [-1, 1])]); // [b, 1]
    const signed = reduce(g, 'ReduceSum', g.node('Sub', [g.node('Mul', [m, inBlock]), km]), [1, 2, 3]); // [H]
    // |q − k| = (q − k) + 2 (k − q) where k > q. Cells above the diagonal lie in blocks right of
    // the diagonal block (all their cells) or in it (those with k > q): the block maxima tell
    // whether any of the first kind holds mass; then the exact |q − k| product is taken.
    const rr = unsq(g, g.node('Add', [rangeOf(g, zero, R), g.node('Div', [offset, b])]), 1);
    const cc = unsq(g, rangeOf(g, zero, C), 0);
    const aboveMask = g.node('Greater', [cc, rr]); // [R, C]
    const aboveBlocks = reduce(g, 'ReduceMax', g.node('Where', [aboveMask, blockMax, g.scalar('zero_f', 0)]), [0, 1, 2]);
    // Otherwise only the diagonal block's cells of each row count: keys ⌊q/b⌋·b + t, q < key < K.
    // qs: local rows; qa: their absolute indices (query blocks start at `offset`).
    const qs = rangeOf(g, zero, Q);
    const qa = g.node('Add', [qs, offset]);
    const keys = g.node('Add', [unsq(g, g.node('Mul', [g.node('Div', [qa, b]), b]), 1), unsq(g, rangeOf(g, zero, b), 0)]); // [Q, b]
    const inKeys = g.node('Less', [keys, K]);
    const above = g.node('And', [g.node('Greater', [keys, unsq(g, qa, 1)]), inKeys]);
    const lastKey = g.node('Sub', [K, i64(g, 'one_c', [1])]);
    const cellIdx = g.node('Reshape', [g.node('Add', [g.node('Where', [inKeys, keys, lastKey]), unsq(g, g.node('Mul', [qs, K]), 1)]), i64(g, 'flat1', [-1])]);
    const twice = g.node('Mul', [g.node('Sub', [keys, unsq(g, qa, 1)]), i64(g, 'two', [2])]);
    const weight = g.node('Cast', [g.node('Reshape', [g.node('Where', [above, twice, i64(g, 'zero_w', [0])]), i64(g, 'flat2', [-1])])], { attrs: { to: 11 } });
    const band = double(g, g.node('Gather', [flat, cellIdx], { attrs: { axis: 1 } })); // [H, Q·b]
    const banded = g.node('Add', [signed, reduce(g, 'ReduceSum', g.node('Mul', [band, weight]), [1])]);
    distance = choose(g.node('Greater', [aboveBlocks, g.scalar('zero_g', 0)]), fullDistance, (bb) => bb.node('Identity', [banded]));
  } else {
    distance = fullDistance(g);
  }
  const column = (x: string) => unsq(g, x, 1);
  g.node('Concat', [entropy, distance, first, previous, self, share].map(column), { attrs: { axis: 1 }, outputs: [outputs.stats] });

  const heads = parts.heads ?? 0;
  if (heads > 0) {
    const names = Array.from({ length: heads }, (_, h) => own(`head${h}`));
    const ones = Array<number>(heads).fill(1);
    if (opset >= 13) g.nodeN('Split', [P, i64(g, 'split', ones)], { attrs: { axis: 0 }, outputs: names });
    else g.nodeN('Split', [P], { attrs: { axis: 0, split: ones }, outputs: names });
    names.forEach((n, h) => (outputs[`head${h}`] = n));
  }
  const graph = g.toModel().graph ?? {};
  const GRAPH = 5; // onnx.AttributeProto.AttributeType.GRAPH
  for (const c of ifs) {
    const node = (graph.node ?? []).find((n) => n.name === c.name);
    if (node) node.attribute = [{ name: 'then_branch', type: GRAPH, g: c.then }, { name: 'else_branch', type: GRAPH, g: c.else }];
  }
  return prefixed(graph, [probs, ...(scores ? [scores] : [])], `attention_inspector/${site}/`, outputs);
}

/** A branch graph with the names it makes (not those it reads from outside) under `prefix`. */
function ownNames(graph: onnx.IGraphProto, prefix: string, output: onnx.IValueInfoProto[]): onnx.IGraphProto {
  const own = new Set<string>([...(graph.node ?? []).flatMap((n) => n.output ?? []), ...(graph.initializer ?? []).map((t) => t.name ?? '')]);
  own.delete('');
  const rename = (x: string) => (own.has(x) ? `${prefix}${x}` : x);
  return {
    name: graph.name,
    node: (graph.node ?? []).map((n) => ({ ...n, name: `${prefix}${n.name ?? ''}`, input: (n.input ?? []).map(rename), output: (n.output ?? []).map(rename) })),
    initializer: (graph.initializer ?? []).map((t) => ({ ...t, name: rename(t.name ?? '') })),
    output: output.map((o) => ({ ...o, name: rename(o.name ?? '') })),
  };
}

/** Every name but the model's own tensors read and the fed inputs gets `prefix`, in branches too. */
function prefixed(graph: onnx.IGraphProto, modelTensors: string[], prefix: string, outputs: Record<string, string>): SiteDecoration {
  const keep = new Set([...modelTensors, '', ...(graph.input ?? []).map((v) => v.name ?? '')]);
  const rename = (x: string) => (keep.has(x) ? x : `${prefix}${x}`);
  const renameGraph = (sub: onnx.IGraphProto): onnx.IGraphProto => ({
    ...sub,
    node: (sub.node ?? []).map(renameNode),
    initializer: (sub.initializer ?? []).map((t) => ({ ...t, name: rename(t.name ?? '') })),
    output: (sub.output ?? []).map((o) => ({ ...o, name: rename(o.name ?? '') })),
  });
  const renameNode = (n: onnx.INodeProto): onnx.INodeProto => ({
    ...n,
    name: rename(n.name ?? ''),
    input: (n.input ?? []).map(rename),
    output: (n.output ?? []).map(rename),
    attribute: (n.attribute ?? []).map((a) => (a.g ? { ...a, g: renameGraph(a.g) } : a)),
  });
  return {
    nodes: (graph.node ?? []).map(renameNode),
    initializers: (graph.initializer ?? []).map((t) => ({ ...t, name: rename(t.name ?? '') })),
    inputs: graph.input ?? [],
    outputs: Object.fromEntries(Object.entries(outputs).map(([key, name]) => [key, rename(name)])),
  };
}
