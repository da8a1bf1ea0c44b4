/**
 * The reference: scaled dot-product attention, softmax(Q Kᵀ / √d) V
 * (Vaswani et al. 2017, "Attention Is All You Need", eq. 1). Every other variant is measured
 * against this one.
 */
import { exactProbs, finish, qkvGraph } from './graphParts';
import type { VariantSpec } from './types';
import { configuredKeys, materialised } from './costModel';

export const exact: VariantSpec = {
  id: 'exact',
  paper: 'Vaswani et al. 2017, Attention Is All You Need',
  summary: 'Scaled dot-product attention softmax(QKᵀ/√d)V, materialising the full n×m map',
  exact: true,
  sparse: false,
  defaults: {},
  cost: {
    name: 'Exact (standard) attention', source: 'IO of Dao et al. 2022 Algorithm 0',
    defaults: () => ({}),
    layer: (c) => materialised(c, configuredKeys(c), c.kvHeads),
  },
  build(x) {
    const qkv = qkvGraph('exact', x);
    const p = exactProbs(qkv, x);
    const out = qkv.g.node('MatMul', [p, qkv.v]);
    return finish(qkv, out, p, ['reference: the layer\'s own softmax attention']);
  },
  flops: (n, m, d, h) => h * (4 * n * m * d + 5 * n * m),
  // scores and probabilities [h,n,m] are both live at the softmax.
  memoryBytes: (n, m, d, h) => 4 * h * (2 * n * m + n * d),
};
