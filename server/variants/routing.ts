/**
 * Top-k expert selection shared by Mixture of Attention Heads (Zhang et al. 2022), whose gates
 * are a softmax renormalised over the chosen experts, and SwitchHead (Csordás et al. 2023), whose
 * gates are independent sigmoids used as they are. Gates come back dense with zeros for experts
 * not chosen, which is both what the graph multiplies by and what the inspector shows.
 */
import type { GraphBuilder } from '../onnx/graphBuilder';

export type GateKind = 'softmax-topk' | 'sigmoid-topk';

/** logits [..., E] -> dense gates [..., E]. */
export function topKGates(g: GraphBuilder, logits: string, k: number, kind: GateKind): string {
  const scoresIn = kind === 'sigmoid-topk' ? g.node('Sigmoid', [logits]) : logits;
  const [vals, idx] = g.nodeN('TopK', [scoresIn, g.i64('k', [k])], { outputs: 2, attrs: { axis: -1, largest: 1, sorted: 1 } });
  const weights = kind === 'softmax-topk' ? g.node('Softmax', [vals], { attrs: { axis: -1 } }) : vals;
  const zeros = g.node('ConstantOfShape', [g.node('Shape', [logits])]);
  return g.node('ScatterElements', [zeros, idx, weights], { attrs: { axis: -1 } });
}

/** Seeded router weights [inDim, E] (or [groups, inDim, E]) scaled so logits are O(1). */
export function routerStd(inDim: number, scale: number): number {
  return scale / Math.sqrt(inDim);
}
