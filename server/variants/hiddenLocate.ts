/**
 * Where the hidden states entering an attention layer live in an ONNX graph: walking back from
 * the query side of MatMul(Q, Kᵀ) through the ops that only reshape, split, bias, scale or rotate
 * it (head split, RoPE, 1/√d) to the projection, a MatMul or Gemm whose weight is a constant. The
 * projection's activation input is the hidden state ([1, n, dModel] or [n, dModel]); for pre-norm
 * blocks that is the normalised residual stream, which is what the layer's Q/K/V are computed from.
 */
import type { onnx } from 'onnx-proto';

/** Ops that pass the query through with only its first input carrying it. */
const FIRST_ONLY = new Set(['Reshape', 'Transpose', 'Split', 'Slice', 'Squeeze', 'Unsqueeze', 'Cast', 'Identity', 'Dropout', 'Neg', 'Expand']);
/** Elementwise ops where any non-constant input may carry the query (bias, scale, RoPE halves). */
const ANY_INPUT = new Set(['Add', 'Sub', 'Mul', 'Div', 'Concat']);
/** Ops that keep a constant constant (a weight stored transposed or in another dtype). */
const CONST_PASS = new Set(['Transpose', 'Cast', 'Identity', 'Reshape', 'Unsqueeze', 'Squeeze']);
const MAX_HOPS = 16;

export interface HiddenSite {
  /** The tensor to expose: the projection's activation input. */
  name: string;
  /** The projection node's name (or op_index), for notes. */
  projection: string;
}

/** The activation entering the projection that makes `q` (a MatMul(Q, Kᵀ) input), if the walk finds one. */
export function locateHidden(model: onnx.IModelProto, q: string): HiddenSite | undefined {
  const graph = model.graph ?? {};
  const nodes = graph.node ?? [];
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => (n.output ?? []).forEach((o) => producer.set(o, i)));
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  const graphInputs = new Set((graph.input ?? []).map((t) => t.name ?? ''));
  const constMemo = new Map<string, boolean>();
  const isConst = (t: string, depth = 0): boolean => {
    if (initializers.has(t)) return true;
    if (depth > 4 || graphInputs.has(t)) return false;
    const known = constMemo.get(t);
    if (known !== undefined) return known;
    const i = producer.get(t);
    const n = i === undefined ? undefined : nodes[i];
    const c = !!n && (n.opType === 'Constant' || (CONST_PASS.has(n.opType ?? '') && (n.input ?? []).filter((x) => x).every((x) => isConst(x, depth + 1))));
    constMemo.set(t, c);
    return c;
  };

  // Breadth first, so the nearest projection wins (RoPE's two branches meet at the same one).
  let frontier = [q];
  const seen = new Set<string>(frontier);
  for (let hop = 0; hop < MAX_HOPS && frontier.length > 0; hop++) {
    const next: string[] = [];
    for (const t of frontier) {
      const i = producer.get(t);
      if (i === undefined) continue;
      const n = nodes[i];
      const op = n.opType ?? '';
      const ins = n.input ?? [];
      if (op === 'MatMul' || op === 'Gemm') {
        const [x, w] = ins;
        if (x && w && isConst(w) && !isConst(x) && !graphInputs.has(x)) return { name: x, projection: n.name || `${op}_${i}` };
        continue; // a product of two activations (or a weight on the left) is not a projection
      }
      const follow = FIRST_ONLY.has(op) ? ins.slice(0, 1) : ANY_INPUT.has(op) ? ins : [];
      for (const x of follow) {
        if (!x || seen.has(x) || isConst(x) || graphInputs.has(x)) continue;
        seen.add(x);
        next.push(x);
      }
    }
    frontier = next;
  }
  return undefined;
}
