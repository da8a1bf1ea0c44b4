/**
 * Luong et al. 2015, §3.1, "general" score(h_t, h̄_s) = h_tᵀ W_a h̄_s with one W_a [d, d] per
 * head. The checkpoint has no W_a; the layer's own score is this form with W_a = I/√d, so W_a is
 * seeded as I/√d + N(0, noise²/d): noise = 0 reproduces exact attention, larger noise shows how
 * sensitive the map is to the bilinear form.
 */
import { denseFlops, qkvGraph, scores, softmaxAttend } from './graphParts';
import { gaussian, subSeed } from './rng';
import type { VariantSpec } from './types';
import { fullAttentionCost } from './costModel';

export const luongGeneral: VariantSpec = {
  id: 'luong-general',
  paper: 'Luong et al. 2015, Effective Approaches to Attention-based Neural Machine Translation (general)',
  summary: 'Bilinear score qᵀ W_a k, W_a seeded around the layer\'s implied I/√d',
  exact: false,
  sparse: false,
  defaults: { noise: 0.1 },
  // The bilinear form q W_a: one d x d product per query and head.
  cost: fullAttentionCost('Luong general (bilinear) attention', (c) => c.heads * 2 * c.n * c.headDim * c.headDim),
  build(x, params) {
    const noise = params.noise ?? 0.1;
    const { heads: h, d } = x;
    const w = gaussian(h * d * d, subSeed(x.seed, 11), noise / Math.sqrt(d));
    for (let i = 0; i < h; i++) for (let j = 0; j < d; j++) w[i * d * d + j * d + j] += 1 / Math.sqrt(d);
    const qkv = qkvGraph('luong_general', x);
    const qw = qkv.g.node('MatMul', [qkv.q, qkv.g.f32('W_a', [h, d, d], w)]);
    return softmaxAttend(qkv, x, scores(qkv.g, qw, qkv.k, 1), [
      `W_a seeded (seed ${x.seed}): I/√d + N(0, (${noise}/√d)²) per head; no fitting`,
    ]);
  },
  flops: (n, m, d, h) => denseFlops(n, m, d, h, 2 * n * d * d + 2 * n * m * d),
  memoryBytes: (n, m, d, h) => 4 * h * (2 * n * m + 2 * n * d + d * d),
};
