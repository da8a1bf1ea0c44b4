/**
 * Luong et al. 2015, "Effective Approaches to Attention-based Neural Machine Translation", §3.1,
 * score(h_t, h̄_s) = h_tᵀ h̄_s: the dot score without the 1/√d scaling of Vaswani et al.
 * On a layer's own Q and K this shows what the scaling does (a sharper map for large d).
 */
import { denseFlops, qkvGraph, scores, softmaxAttend } from './graphParts';
import type { VariantSpec } from './types';
import { fullAttentionCost } from './costModel';

export const luongDot: VariantSpec = {
  id: 'luong-dot',
  paper: 'Luong et al. 2015, Effective Approaches to Attention-based Neural Machine Translation (dot)',
  summary: 'Unscaled dot score qᵀk, softmax over keys',
  exact: false,
  sparse: false,
  defaults: {},
  cost: fullAttentionCost('Luong dot-product attention'),
  build(x) {
    const qkv = qkvGraph('luong_dot', x);
    return softmaxAttend(qkv, x, scores(qkv.g, qkv.q, qkv.k, 1), ['no parameters: the layer\'s Q and K, unscaled']);
  },
  flops: (n, m, d, h) => denseFlops(n, m, d, h, 2 * n * m * d),
  memoryBytes: (n, m, d, h) => 4 * h * (2 * n * m + n * d),
};
