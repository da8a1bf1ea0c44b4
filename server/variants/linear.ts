/**
 * Linear attention (Katharopoulos et al. 2020, "Transformers are RNNs: Fast Autoregressive
 * Transformers with Linear Attention", eqs. 4-9): the softmax kernel is replaced by
 * φ(q)·φ(k) with φ(x) = elu(x) + 1, so attention costs O(n d²) instead of O(n² d).
 */
import { finish, qkvGraph, wantMap } from './graphParts';
import { kernelAttention, kernelFlops, kernelMemory } from './kernelAttention';
import type { VariantSpec } from './types';
import * as F from '../efficiency/formulas';

export const linear: VariantSpec = {
  id: 'linear',
  paper: 'Katharopoulos et al. 2020, Transformers are RNNs: Fast Autoregressive Transformers with Linear Attention',
  summary: 'φ(Q)(φ(K)ᵀV) / φ(Q)(φ(K)ᵀ1) with φ = elu + 1; causal through prefix sums (the RNN form)',
  exact: false,
  sparse: false,
  defaults: { chunk: 64 },
  cost: {
    name: 'Linear attention',
    note: 'Causal linear attention decodes as an RNN: its cache is a fixed d x d state per head.',
    defaults: () => ({}),
    layer: (c) => {
      const d = c.headDim;
      const total = F.linearAttentionFlops(c.n, c.m, d);
      const qk = 2 * c.m * d * d;
      const av = 2 * c.n * d * d;
      const state = F.linearAttentionStateElements(d);
      // A decode step reads and writes the state instead of the keys and values.
      const core = c.decode ? c.heads * (2 * c.n * d + 2 * d + 2 * state) : c.heads * 2 * c.n * d + c.kvHeads * 2 * c.m * d;
      return {
        kvHeads: c.kvHeads, qkFlops: qk * c.heads, avFlops: av * c.heads, softmaxFlops: 0,
        otherFlops: (total - qk - av) * c.heads, coreElements: core,
        matrixElements: c.heads * state, cacheElements: c.heads * state, cachePerTokenElements: 0,
      };
    },
  },
  build(x, params) {
    const qkv = qkvGraph('linear', x);
    const { g } = qkv;
    const one = g.scalar('one', 1);
    const phi = (t: string) => g.node('Add', [g.node('Elu', [t], { attrs: { alpha: { float: 1 } } }), one]);
    const { out, map } = kernelAttention(g, phi(qkv.q), phi(qkv.k), qkv.v, { ...x, r: x.d, chunk: params.chunk }, wantMap(params));
    return finish(
      qkv, out, map,
      [
        'no learned parameters: φ(x) = elu(x) + 1 applied to the checkpoint\'s own Q and K (no 1/√d scaling, as in the paper)',
        x.causal ? `causal: chunks of ${params.chunk ?? 64}, past chunks through prefix sums of S = Σ φ(k_j)v_jᵀ (ONNX CumSum)` : 'non-causal: S = φ(K)ᵀV computed once',
      ],
      'implied map φ(q_i)·φ(k_j) / Σ_j φ(q_i)·φ(k_j) (rows sum to 1, never computed by the linear form itself)',
    );
  },
  // φ costs about 3 flops per element (elu, add).
  flops: (n, m, d, h) => kernelFlops(n, m, d, h, d, 3 * d),
  // Causality is not an argument here: the figure is the causal chunked form's (the larger one).
  memoryBytes: (n, m, d, h, p) => kernelMemory(n, m, d, h, d, p.chunk ?? 64),
};
