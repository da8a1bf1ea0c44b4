/**
 * Parikh et al. 2016, "A Decomposable Attention Model for Natural Language Inference", §3.1
 * (Attend), eq. 1-2: e_ij = F(a_i)ᵀ F(b_j) with F a feed-forward network with ReLU activations,
 * then softmax over j and the weighted sum. The paper's F has two layers of 200 units; applied to a
 * layer, a = queries, b = keys, and the weighted sum is over the layer's values. The checkpoint has
 * no F, so its weights are seeded (W ~ N(0, 2/fan_in), He initialisation for ReLU; biases
 * N(0, 0.1²)), and the map shows what an untrained decomposable scorer makes of the layer's Q, K.
 */
import { configuredKeys, fullAttentionCost } from './costModel';
import { denseFlops, qkvGraph, softmaxAttend } from './graphParts';
import { gaussian, subSeed } from './rng';
import type { VariantSpec } from './types';

/** FLOPs of F on n + m tokens of one head: two dense layers (2 per multiply-add) plus bias and ReLU. */
const ffnFlops = (tokens: number, d: number, u: number) => tokens * (2 * d * u + 2 * u * u + 4 * u);

export const decomposable: VariantSpec = {
  id: 'decomposable',
  paper: 'Parikh et al. 2016, A Decomposable Attention Model for Natural Language Inference',
  summary: 'Score F(q)ᵀF(k) with F a seeded two-layer ReLU network, softmax, weighted sum of V',
  exact: false,
  sparse: false,
  defaults: { units: 200 },
  // F on every query and key, and scores of width u instead of d.
  cost: fullAttentionCost('Decomposable attention', (c, p) => c.heads * (ffnFlops(c.n + configuredKeys(c), c.headDim, p.units) + 2 * c.n * configuredKeys(c) * (p.units - c.headDim)), { units: 200 }),
  build(x, params) {
    const u = Math.max(1, Math.floor(params.units ?? 200));
    const { heads: h, d } = x;
    const qkv = qkvGraph('decomposable', x);
    const { g } = qkv;
    const w1 = g.f32('F_W1', [h, d, u], gaussian(h * d * u, subSeed(x.seed, 31), Math.sqrt(2 / d)));
    const b1 = g.f32('F_b1', [h, 1, u], gaussian(h * u, subSeed(x.seed, 32), 0.1));
    const w2 = g.f32('F_W2', [h, u, u], gaussian(h * u * u, subSeed(x.seed, 33), Math.sqrt(2 / u)));
    const b2 = g.f32('F_b2', [h, 1, u], gaussian(h * u, subSeed(x.seed, 34), 0.1));
    const F = (t: string) => g.node('Relu', [g.node('Add', [g.node('MatMul', [g.node('Relu', [g.node('Add', [g.node('MatMul', [t, w1]), b1])]), w2]), b2])]);
    const e = g.node('MatMul', [F(qkv.q), g.node('Transpose', [F(qkv.k)], { attrs: { perm: [0, 2, 1] } })]);
    return softmaxAttend(qkv, x, e, [
      `F: two ReLU layers of ${u} units per head, W ~ N(0, 2/fan_in), b ~ N(0, 0.1²), seeded (seed ${x.seed}); untrained`,
      'a = queries, b = keys; the weighted sum is over the layer\'s values (the paper sums the other sentence\'s embeddings)',
    ]);
  },
  flops: (n, m, d, h, p) => {
    const u = p.units || 200;
    return denseFlops(n, m, d, h, ffnFlops(n + m, d, u) + 2 * n * m * u);
  },
  // Scores and probabilities [h, n, m], F of queries and keys [h, n + m, u], the output.
  memoryBytes: (n, m, d, h, p) => 4 * h * (2 * n * m + (n + m) * (p.units || 200) + n * d),
};
