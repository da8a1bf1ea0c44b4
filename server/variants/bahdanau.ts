/**
 * Bahdanau et al. 2015, "Neural Machine Translation by Jointly Learning to Align and Translate",
 * appendix A.1.2: additive (concat) score e_ij = vᵀ tanh(W1 q_i + W2 k_j). The checkpoint has no
 * W1, W2, v; they are seeded Gaussians (std 1/√d for W1, W2 and 1/√units for v), so the map
 * shows what an untrained additive scorer makes of the layer's Q and K. The [h, n, m, units]
 * tanh tensor makes it the most memory-hungry scorer.
 */
import { denseFlops, qkvGraph, softmaxAttend } from './graphParts';
import { gaussian, subSeed } from './rng';
import type { VariantSpec } from './types';

export const bahdanauAdditive: VariantSpec = {
  id: 'bahdanau-additive',
  paper: 'Bahdanau et al. 2015, Neural Machine Translation by Jointly Learning to Align and Translate',
  summary: 'Additive score vᵀ tanh(W1 q + W2 k) with seeded W1, W2, v',
  exact: false,
  sparse: false,
  defaults: { units: 16 },
  cost: { name: 'Bahdanau additive attention', from: 'analytic' },
  build(x, params) {
    const u = Math.max(1, Math.floor(params.units ?? 16));
    const { heads: h, d, n, m } = x;
    const qkv = qkvGraph('bahdanau', x);
    const { g } = qkv;
    const w1 = g.f32('W1', [h, d, u], gaussian(h * d * u, subSeed(x.seed, 21), 1 / Math.sqrt(d)));
    const w2 = g.f32('W2', [h, d, u], gaussian(h * d * u, subSeed(x.seed, 22), 1 / Math.sqrt(d)));
    const v = g.f32('v_a', [h, 1, u, 1], gaussian(h * u, subSeed(x.seed, 23), 1 / Math.sqrt(u)));
    const a = g.node('Reshape', [g.node('MatMul', [qkv.q, w1]), g.i64('shape', [h, n, 1, u])]);
    const b = g.node('Reshape', [g.node('MatMul', [qkv.k, w2]), g.i64('shape', [h, 1, m, u])]);
    const t = g.node('Tanh', [g.node('Add', [a, b])]);
    const e = g.node('Reshape', [g.node('MatMul', [t, v]), g.i64('shape', [h, n, m])]);
    return softmaxAttend(qkv, x, e, [
      `W1, W2 ~ N(0, 1/d), v ~ N(0, 1/${u}) seeded (seed ${x.seed}); ${u} hidden units; untrained`,
    ]);
  },
  flops: (n, m, d, h, p) => {
    const u = p.units || 16;
    return denseFlops(n, m, d, h, 2 * (n + m) * d * u + n * m * u * 4);
  },
  memoryBytes: (n, m, d, h, p) => 4 * h * (n * m * (p.units || 16) + 2 * n * m),
};
