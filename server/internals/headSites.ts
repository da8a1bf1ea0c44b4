/**
 * What sits around one attention layer in an ONNX graph, found by structure (exporters name
 * nodes arbitrarily): the score factor between MatMul(Q, Kᵀ) and the Softmax, the output
 * projection that reads the heads side by side, and the residual stream it is added to.
 * Q, Kᵀ, V and P come from the same walk the variants use (qkvCapture.locate).
 */
import type { onnx } from 'onnx-proto';
import { UserError } from '../../common/errors';
import { findAttention } from '../onnx/attentionFinder';
import { locate } from '../variants/qkvCapture';
import type { ConstTensor, GraphConstants } from './constants';

export interface OutProjection {
  /** Index in graph.node of the MatMul/Gemm. */
  node: number;
  /** Its activation input: the heads side by side, [.., n, heads·dHead]. */
  input: string;
  /** Its output (bias not yet added for MatMul forms). */
  output: string;
  /** [heads·dHead, dModel] */
  dims: [number, number];
  /** The weight as [heads·dHead, dModel] (x·W), whatever the stored orientation; read on first use. */
  weight(): ConstTensor;
}

export interface HeadSite {
  layer: number;
  q: string;
  kt: string;
  v: string;
  probs: string;
  /** The product of constant factors between Q·Kᵀ and the Softmax; undefined when it is not one (softcapping). */
  scale?: number;
  outProj?: OutProjection;
  /** The residual stream the attention output is added to (the layer's input for the usual blocks). */
  residual?: string;
  notes: string[];
}

const LAYOUT = new Set(['Transpose', 'Reshape', 'Identity', 'Cast', 'Squeeze', 'Unsqueeze']);
const MASKING = new Set(['Add', 'Sub', 'Where', 'Reshape', 'Cast', 'Transpose', 'Identity', 'Expand', 'Squeeze', 'Unsqueeze', 'Max', 'Min']);

function consumers(nodes: onnx.INodeProto[], t: string): number[] {
  const out: number[] = [];
  nodes.forEach((n, i) => (n.input ?? []).includes(t) && out.push(i));
  return out;
}

/** Constant factors on the path from the scores MatMul to the Softmax (depth-first, short paths). */
function scoreFactor(nodes: onnx.INodeProto[], c: GraphConstants, from: string, softmaxIn: Set<string>, depth = 0): number | undefined {
  if (softmaxIn.has(from)) return 1;
  if (depth > 10) return undefined;
  for (const i of consumers(nodes, from)) {
    const n = nodes[i];
    const op = n.opType ?? '';
    const other = (n.input ?? []).find((x) => x !== from);
    let f: number | undefined;
    if ((op === 'Mul' || op === 'Div') && other) {
      const s = c.scalar(other);
      if (s === undefined) continue;
      f = op === 'Mul' ? s : 1 / s;
    } else if (MASKING.has(op)) f = 1;
    else continue;
    const rest = scoreFactor(nodes, c, n.output![0], softmaxIn, depth + 1);
    if (rest !== undefined) return f * rest;
  }
  return undefined;
}

function findOutProjection(nodes: onnx.INodeProto[], c: GraphConstants, v: string): OutProjection | undefined {
  const pv = nodes.find((n) => n.opType === 'MatMul' && n.input?.[1] === v);
  if (!pv) return undefined;
  let t = pv.output![0];
  for (let hop = 0; hop < 8; hop++) {
    const users = consumers(nodes, t);
    const proj = users.find((i) => ['MatMul', 'Gemm'].includes(nodes[i].opType ?? '') && nodes[i].input?.[0] === t && c.isConst(nodes[i].input?.[1] ?? ''));
    if (proj !== undefined) {
      const n = nodes[proj];
      const name = n.input![1];
      const stored = c.dims(name);
      if (!stored || stored.length !== 2) return undefined;
      const transposed = n.opType === 'Gemm' && Number((n.attribute ?? []).find((a) => a.name === 'transB')?.i ?? 0) === 1;
      let cached: ConstTensor | undefined;
      // Read only when value norms need it: a large model's projections are gigabytes.
      const weight = (): ConstTensor => {
        if (cached) return cached;
        const w = c.get(name)!;
        if (!transposed) return (cached = w);
        const [o, i] = w.dims;
        const data = new Float32Array(w.data.length);
        for (let r = 0; r < o; r++) for (let k = 0; k < i; k++) data[k * o + r] = w.data[r * i + k];
        return (cached = { dims: [i, o], data });
      };
      const dims: [number, number] = transposed ? [stored[1], stored[0]] : [stored[0], stored[1]];
      return { node: proj, input: t, output: n.output![0], dims, weight };
    }
    const next = users.find((i) => LAYOUT.has(nodes[i].opType ?? '') && nodes[i].input?.[0] === t);
    if (next === undefined) return undefined;
    t = nodes[next].output![0];
  }
  return undefined;
}

/** Follows the projection's output through its bias (and reshapes) to the residual Add; the other operand is the stream. */
function findResidual(nodes: onnx.INodeProto[], c: GraphConstants, out: string): string | undefined {
  let t = out;
  for (let hop = 0; hop < 5; hop++) {
    const users = consumers(nodes, t).map((i) => nodes[i]);
    const add = users.find((n) => n.opType === 'Add');
    const layout = users.find((n) => LAYOUT.has(n.opType ?? '') && n.input?.[0] === t);
    if (!add && layout) {
      t = layout.output![0];
      continue;
    }
    if (!add) return undefined;
    const other = (add.input ?? []).find((x) => x !== t);
    if (!other) return undefined;
    if (!c.isConst(other)) return other;
    t = add.output![0];
  }
  return undefined;
}

/** Every attention layer's site, in graph order. */
export function headSites(model: onnx.IModelProto, c: GraphConstants, file: string): HeadSite[] {
  const nodes = model.graph?.node ?? [];
  const sites = findAttention(model, file).filter((s) => s.kind === 'self');
  if (sites.length === 0) throw new UserError(`${file}: no self-attention layer found; internals read MatMul(Q, Kᵀ) → Softmax → MatMul(P, V) graphs`);
  return sites.map((s, layer) => {
    const { names } = locate(model, s.index, file);
    const [q, kt, v, probs] = names;
    const notes: string[] = [];
    const scoresOut = nodes.find((n, i) => (n.name || `${n.opType}_${i}`) === s.scoresNode)?.output?.[0] ?? '';
    const softmax = nodes.find((n) => n.output?.[0] === s.output);
    const scale = scoreFactor(nodes, c, scoresOut, new Set(softmax?.input ?? []));
    if (scale === undefined) notes.push('the scores pass through a non-linear op before the Softmax; the score factor is measured from the probabilities');
    const outProj = findOutProjection(nodes, c, v);
    if (!outProj) notes.push('no output projection with a constant weight after P·V; value-weighted norms and ablation need one');
    const residual = outProj && findResidual(nodes, c, outProj.output);
    if (outProj && !residual) notes.push('no residual Add after the output projection; the mixing ratio needs one');
    return { layer, q, kt, v, probs, scale, outProj, residual, notes };
  });
}
