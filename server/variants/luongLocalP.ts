/**
 * Luong et al. 2015, §3.2, local attention with predictive alignment (local-p): each query
 * predicts a centre p_t = S·sigmoid(v_pᵀ tanh(W_p h_t)) in the source of length S, attends to
 * the window [p_t - D, p_t + D] and the softmax alignment is multiplied by a Gaussian
 * exp(-(s - p_t)² / 2σ²), σ = D/2 (eq. 10). As in the paper the weights do not sum to one.
 * W_p and v_p are not in the checkpoint and are seeded; the score is the layer's own q·k/√d.
 */
import { NEG, causal, finish, qkvGraph, scores } from './graphParts';
import { gaussian, subSeed } from './rng';
import type { VariantSpec } from './types';

export const luongLocalP: VariantSpec = {
  id: 'luong-local-p',
  paper: 'Luong et al. 2015, Effective Approaches to Attention-based Neural Machine Translation (local-p)',
  summary: 'Predicted centre p_t, window ±D, softmax times a Gaussian with σ = D/2',
  exact: false,
  sparse: true,
  defaults: { D: 8 },
  cost: { name: 'Luong local-p attention', from: 'analytic' },
  build(x, params) {
    const D = Math.max(0, params.D ?? 8);
    const sigma = Math.max(D / 2, 1e-6);
    const { heads: h, d, m } = x;
    const qkv = qkvGraph('luong_local_p', x);
    const { g } = qkv;
    const wp = g.f32('W_p', [h, d, d], gaussian(h * d * d, subSeed(x.seed, 51), 1 / Math.sqrt(d)));
    const vp = g.f32('v_p', [h, d, 1], gaussian(h * d, subSeed(x.seed, 52), 1 / Math.sqrt(d)));
    const logit = g.node('MatMul', [g.node('Tanh', [g.node('MatMul', [qkv.q, wp])]), vp]);
    const centre = g.node('Mul', [g.node('Sigmoid', [logit]), g.scalar('S', m)]);
    const pos = g.f32('positions', [1, m], Float32Array.from({ length: m }, (_, j) => j));
    const dist = g.node('Sub', [pos, centre]);
    let s = g.node('Where', [
      g.node('LessOrEqual', [g.node('Abs', [dist]), g.scalar('D', D)]),
      scores(g, qkv.q, qkv.k, 1 / Math.sqrt(d)),
      g.scalar('neg', NEG),
    ]);
    if (x.causal) s = causal(g, s, x, 0, x.n, 0, m);
    // Rows whose window holds no visible key get zero weights instead of a uniform softmax.
    const inside = g.node('Cast', [g.node('Greater', [s, g.scalar('half_neg', NEG / 2)])], { attrs: { to: 1 } });
    const align = g.node('Mul', [g.node('Softmax', [s], { attrs: { axis: -1 } }), inside]);
    const gauss = g.node('Exp', [g.node('Mul', [g.node('Mul', [dist, dist]), g.scalar('inv2s2', -1 / (2 * sigma * sigma))])]);
    const a = g.node('Mul', [align, gauss]);
    return finish(qkv, g.node('MatMul', [a, qkv.v]), a, [
      `D = ${D}, σ = D/2; W_p, v_p seeded N(0, 1/d) (seed ${x.seed}); weights are not renormalised (paper eq. 10)`,
    ], 'local-p weights: windowed softmax times a Gaussian (rows sum below 1)');
  },
  flops: (n, m, d, h) => h * (2 * n * d * d + 2 * n * d + 4 * n * m * d + 12 * n * m),
  memoryBytes: (n, m, d, h) => 4 * h * (3 * n * m + n * d),
};
