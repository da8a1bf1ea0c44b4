/**
 * Graves et al. 2014, "Neural Turing Machines", §3.3.1 content-based addressing:
 * w(i) = softmax_j(β K[q_i, k_j]) with K the cosine similarity and β the key strength. Cosine
 * scores lie in [-1, 1], so β alone sets how peaked the map can get.
 */
import type { GraphBuilder } from '../onnx/graphBuilder';
import { denseFlops, qkvGraph, scores, softmaxAttend } from './graphParts';
import type { VariantSpec } from './types';
import { fullAttentionCost } from './costModel';

function unit(g: GraphBuilder, t: string): string {
  const norm = g.node('ReduceL2', [t, g.i64('axes', [-1])], { attrs: { keepdims: 1 } });
  return g.node('Div', [t, g.node('Max', [norm, g.scalar('eps', 1e-8)])]);
}

export const gravesCosine: VariantSpec = {
  id: 'graves-cosine',
  paper: 'Graves et al. 2014, Neural Turing Machines (content-based addressing)',
  summary: 'Cosine similarity of q and k sharpened by a key strength β, softmax over keys',
  exact: false,
  sparse: false,
  defaults: { beta: 8 },
  // Norms of every query and key.
  cost: fullAttentionCost('Graves cosine attention', (c) => c.heads * 3 * (c.n + c.m) * c.headDim, { beta: 8 }),
  build(x, params) {
    const beta = params.beta ?? 8;
    const qkv = qkvGraph('graves_cosine', x);
    const s = scores(qkv.g, unit(qkv.g, qkv.q), unit(qkv.g, qkv.k), beta);
    return softmaxAttend(qkv, x, s, [`key strength β = ${beta} (fixed, not learned)`]);
  },
  flops: (n, m, d, h) => denseFlops(n, m, d, h, 2 * n * m * d + 3 * (n + m) * d),
  memoryBytes: (n, m, d, h) => 4 * h * (2 * n * m + (n + m) * d),
};
