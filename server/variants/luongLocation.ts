/**
 * Luong et al. 2015, §3.1, location-based score a_t = softmax(W_a h_t): the alignment depends
 * on the query alone, W_a [m, d] mapping it to one logit per source position. The checkpoint has
 * no W_a; it is seeded N(0, 1/d) per head, so the map shows a content-blind positional prior.
 */
import { denseFlops, qkvGraph, softmaxAttend } from './graphParts';
import { gaussian, subSeed } from './rng';
import type { VariantSpec } from './types';

export const luongLocation: VariantSpec = {
  id: 'luong-location',
  paper: 'Luong et al. 2015, Effective Approaches to Attention-based Neural Machine Translation (location)',
  summary: 'Location-based a_t = softmax(W_a q_t) over positions, seeded W_a, keys unused',
  exact: false,
  sparse: false,
  defaults: {},
  cost: { name: 'Luong location-based attention', from: 'analytic' },
  build(x) {
    const { heads: h, d, m } = x;
    const qkv = qkvGraph('luong_location', x);
    const wa = qkv.g.f32('W_a', [h, d, m], gaussian(h * d * m, subSeed(x.seed, 31), 1 / Math.sqrt(d)));
    return softmaxAttend(qkv, x, qkv.g.node('MatMul', [qkv.q, wa]), [
      `W_a [${m}×${d}] per head seeded N(0, 1/d) (seed ${x.seed}); keys not used by this score`,
    ]);
  },
  flops: (n, m, d, h) => denseFlops(n, m, d, h, 2 * n * m * d),
  memoryBytes: (n, m, d, h) => 4 * h * (2 * n * m + d * m),
};
