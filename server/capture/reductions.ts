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
 */
import type { onnx } from 'onnx-proto';
import { GraphBuilder } from '../onnx/graphBuilder';
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

/** Ops used here need opset 11 (Range, Pad with pads as input, Gather with negative indices). */
export const MIN_REDUCTION_OPSET = 11;

export interface ReductionParts {
  /** Block maxima and block sums over heads at the fed pool factor. */
  pooled: boolean;
  /** When > 0, also the probabilities as this many outputs `head<h>` [1, q, k], one per head. */
  heads?: number;
}

/**
 * The decoration for one site: nodes reading `probs`, with every internal name prefixed so
 * nothing collides with the model's own names. Undefined below MIN_REDUCTION_OPSET.
 */
export function reductionDecoration(probs: string, site: number, opset: number, parts: ReductionParts): SiteDecoration | undefined {
  if (opset < MIN_REDUCTION_OPSET) return undefined;
  const g = new GraphBuilder('reductions', opset);
  const i64 = (name: string, v: number[]) => g.i64(name, v);
  const reduce = (op: 'ReduceSum' | 'ReduceMax', x: string, axes: number[], keepdims = 0): string => {
    // Axes moved from an attribute to an input: ReduceSum at 13, the other reductions at 18.
    const asInput = op === 'ReduceSum' ? opset >= 13 : opset >= 18;
    return asInput
      ? g.node(op, [x, i64(`${op}_axes`, axes)], { attrs: { keepdims } })
      : g.node(op, [x], { attrs: { axes, keepdims } });
  };
  const shape = g.node('Shape', [probs]);
  const qk = g.node('Gather', [shape, i64('last_two', [-2, -1])], { attrs: { axis: 0 } });
  const Q = g.node('Gather', [qk, i64('zero', [0])], { attrs: { axis: 0 } });
  const K = g.node('Gather', [qk, i64('one', [1])], { attrs: { axis: 0 } });
  const floatProbs = g.node('Cast', [probs], { attrs: { to: 1 } });
  const P = g.node('Reshape', [floatProbs, g.node('Concat', [i64('minus_one', [-1]), qk], { attrs: { axis: 0 } })]);

  // Sums over rows run in float64: a float32 sum over thousands of rows drifts past 1e-6.
  const double = (x: string) => g.node('Cast', [x], { attrs: { to: 11 } });
  const overRows = (x: string) => reduce('ReduceSum', double(x), [1]); // [H, Q] -> [H] float64
  const sumRows = (x: string) => overRows(reduce('ReduceSum', x, [2])); // [H, Q, *] -> [H]
  const entropy = g.node('Neg', [sumRows(g.node('Mul', [P, g.node('Log', [g.node('Max', [P, g.scalar('tiny', 1e-30)])])]))]);
  const squeezed = (x: string) => (opset >= 13 ? g.node('Squeeze', [x, i64('sq_axes', [0])]) : g.node('Squeeze', [x], { attrs: { axes: [0] } }));
  const rangeOf = (start: string, stop: string) => g.node('Range', [squeezed(start), squeezed(stop), g.i64('step', [1], [])]);
  const unsq = (x: string, axis: number) => (opset >= 13 ? g.node('Unsqueeze', [x, i64('unsq', [axis])]) : g.node('Unsqueeze', [x], { attrs: { axes: [axis] } }));
  const zero = i64('z', [0]);
  const offset = g.input(ROW_OFFSET_INPUT, 'int64', [1]);
  const rq = g.node('Cast', [g.node('Add', [rangeOf(zero, Q), offset])], { attrs: { to: 1 } });
  const rk = g.node('Cast', [rangeOf(zero, K)], { attrs: { to: 1 } });
  const dist = g.node('Abs', [g.node('Sub', [unsq(rq, 1), unsq(rk, 0)])]);
  const distance = sumRows(g.node('Mul', [P, dist]));
  const first = sumRows(g.node('Gather', [P, i64('key0', [0])], { attrs: { axis: 2 } }));
  // Diagonals by flat index: key q of row q sits at q * (K + 1); key q - 1 one before.
  const flat = g.node('Reshape', [P, i64('flat_shape', [0, -1])]);
  const K1 = g.node('Add', [K, i64('one_b', [1])]);
  // Row r of a block starting at row `offset` is query r + offset: its own key sits at
  // r * (K + 1) + offset, the key before one earlier; rows whose key is past K have none.
  const min = (a: string, b: string) => g.node('Where', [g.node('Less', [a, b]), a, b]);
  const max = (a: string, b: string) => g.node('Where', [g.node('Less', [a, b]), b, a]);
  const selfRows = min(Q, max(zero, g.node('Sub', [K, offset])));
  const prevFirst = max(zero, g.node('Sub', [i64('o', [1]), offset]));
  const prevEnd = max(prevFirst, min(Q, g.node('Sub', [K1, offset])));
  const selfIdx = g.node('Add', [g.node('Mul', [rangeOf(zero, selfRows), K1]), offset]);
  const prevIdx = g.node('Sub', [g.node('Add', [g.node('Mul', [rangeOf(prevFirst, prevEnd), K1]), offset]), i64('o2', [1])]);
  const diag = (idx: string) => overRows(g.node('Gather', [flat, idx], { attrs: { axis: 1 } }));
  const self = diag(selfIdx);
  const previous = diag(prevIdx);
  const topk = g.input(TOPK_INPUT, 'int64', [1]);
  const k = g.node('Where', [g.node('Less', [K, topk]), K, topk]);
  const [topValues] = g.nodeN('TopK', [P, k], { attrs: { axis: -1 }, outputs: 2 });
  const rowMass = reduce('ReduceSum', P, [2]);
  const share = overRows(g.node('Div', [reduce('ReduceSum', topValues, [2]), rowMass]));
  const column = (x: string) => unsq(x, 1);
  g.node('Concat', [entropy, distance, first, previous, self, share].map(column), { attrs: { axis: 1 }, outputs: ['stats'] });
  const outputs: Record<string, string> = { stats: 'stats', colsum: 'colsum', dims: 'dims' };
  g.node('Identity', [shape], { outputs: ['dims'] });
  g.node('Identity', [reduce('ReduceSum', P, [1])], { outputs: ['colsum'] });

  if (parts.pooled) {
    const b = g.input(POOL_INPUT, 'int64', [1]);
    const padQ = g.node('Mod', [g.node('Sub', [b, g.node('Mod', [Q, b])]), b]);
    const padK = g.node('Mod', [g.node('Sub', [b, g.node('Mod', [K, b])]), b]);
    const pads = g.node('Concat', [i64('pads0', [0, 0, 0, 0]), padQ, padK], { attrs: { axis: 0 } });
    const padded = g.node('Pad', [P, pads]);
    const R = g.node('Div', [g.node('Add', [Q, padQ]), b]);
    const C = g.node('Div', [g.node('Add', [K, padK]), b]);
    // Two contiguous reductions, keys then rows: one over axes (2, 4) of [H, R, b, C, b] is a
    // strided walk that cost 3x the whole forward at 8,192 tokens.
    const Qp = g.node('Add', [Q, padQ]);
    const keyBlocks = g.node('Reshape', [padded, g.node('Concat', [i64('m1', [-1]), Qp, C, b], { attrs: { axis: 0 } })]);
    const rowBlocks = (x: string) => g.node('Reshape', [x, g.node('Concat', [i64('m2', [-1]), R, b, C], { attrs: { axis: 0 } })]);
    const maxOverKeys = reduce('ReduceMax', keyBlocks, [3]); // [H, Q', C]
    g.node('Identity', [reduce('ReduceMax', rowBlocks(maxOverKeys), [2])], { outputs: ['pooled'] });
    const sumOverKeys = reduce('ReduceSum', keyBlocks, [3]);
    g.node('Identity', [reduce('ReduceSum', rowBlocks(sumOverKeys), [0, 2])], { outputs: ['headsum'] });
    outputs.pooled = 'pooled';
    outputs.headsum = 'headsum';
  }
  const heads = parts.heads ?? 0;
  if (heads > 0) {
    const names = Array.from({ length: heads }, (_, h) => `head${h}`);
    const ones = Array<number>(heads).fill(1);
    if (opset >= 13) g.nodeN('Split', [P, i64('split', ones)], { attrs: { axis: 0 }, outputs: names });
    else g.nodeN('Split', [P], { attrs: { axis: 0, split: ones }, outputs: names });
    for (const n of names) outputs[n] = n;
  }
  return prefixed(g.toModel().graph ?? {}, probs, `attention_inspector/${site}/`, outputs);
}

/** Every name but the probabilities and the fed inputs gets `prefix`. */
function prefixed(graph: onnx.IGraphProto, probs: string, prefix: string, outputs: Record<string, string>): SiteDecoration {
  const keep = new Set([probs, '', ...(graph.input ?? []).map((v) => v.name ?? '')]);
  const rename = (x: string) => (keep.has(x) ? x : `${prefix}${x}`);
  return {
    nodes: (graph.node ?? []).map((n) => ({ ...n, name: rename(n.name ?? ''), input: (n.input ?? []).map(rename), output: (n.output ?? []).map(rename) })),
    initializers: (graph.initializer ?? []).map((t) => ({ ...t, name: rename(t.name ?? '') })),
    inputs: graph.input ?? [],
    outputs: Object.fromEntries(Object.entries(outputs).map(([key, name]) => [key, rename(name)])),
  };
}
