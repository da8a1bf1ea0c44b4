/**
 * Mixture of Attention Heads (Zhang et al. 2022, "Mixture of Attention Heads: Selecting
 * Attention Heads Per Token", eqs. 2-5): a router picks the top-k heads for each query token,
 * G(q_t) = TopK(softmax(x_t W_g), k), and the output is y_t = Σ_{i∈G} w_{i,t} E_i(q_t, K, V)
 * with w renormalised over the chosen heads. The layer's heads are the experts; the router W_g
 * is seeded (the checkpoint has none).
 */
import { finish, exactProbs, qkvGraph } from './graphParts';
import { gaussian, subSeed } from './rng';
import { routerStd, topKGates } from './routing';
import { tokenStates } from './tokenStates';
import type { VariantSpec } from './types';

export const moa: VariantSpec = {
  id: 'moa',
  paper: 'Zhang et al. 2022, Mixture of Attention Heads: Selecting Attention Heads Per Token',
  summary: 'Per-token router picks the top-k heads; output is their gate-weighted mixture',
  exact: false,
  sparse: false,
  defaults: { topK: 2, routerScale: 1 },
  cost: { name: 'Mixture of attention heads', from: 'analytic' },
  build(x, params) {
    const H = x.heads;
    const k = Math.min(H, Math.max(1, Math.round(params.topK ?? 2)));
    const scale = params.routerScale ?? 1;
    const qkv = qkvGraph('moa', x);
    const { g } = qkv;
    const states = tokenStates(qkv, x, 'query');
    const wg = g.f32('w_router', [states.dim, H], gaussian(states.dim * H, subSeed(x.seed, 41), routerStd(states.dim, scale)));
    const gates = topKGates(g, g.node('MatMul', [states.name, wg]), k, 'softmax-topk'); // [n, H]
    // Every head's attention is computed (experts share K and V); unselected heads get weight 0.
    const headOut = g.node('MatMul', [exactProbs(qkv, x), qkv.v]);
    const w = g.node('Reshape', [g.node('Transpose', [gates], { attrs: { perm: [1, 0] } }), g.i64('shape', [H, x.n, 1])]);
    const out = g.node('Mul', [headOut, w]);
    const map = g.node('Reshape', [gates, g.i64('shape', [1, x.n, H])]);
    const built = finish(
      qkv, out, map,
      [
        states.note,
        scale === 0
          ? 'router weights zero: uniform routing'
          : `router W_g [${states.dim}×${H}] seeded N(0, ${scale}²/${states.dim}) from seed ${x.seed}`,
        `experts = the layer's ${H} heads, top-${k} per token, gates = softmax renormalised over the chosen heads`,
        'output[i] = w_i · head_i (0 when not chosen): concatenating and applying the layer\'s W_o gives Σ_i w_i W_o^i E_i',
      ],
      `routing gates [1, n, heads]: weight of head i for query token t (0 = not selected, rows sum to 1)`,
    );
    return { ...built, mapDims: [1, x.n, H] };
  },
  // Router, all heads' attention (this graph computes every head; a sparse kernel would do k of H).
  flops: (n, m, d, h, p) => 2 * n * h * d * h + (Math.min(h, p.topK ?? 2) / h) * h * (4 * n * m * d + 5 * n * m) + 2 * n * h * d,
  memoryBytes: (n, m, d, h) => 4 * (h * (2 * n * m + 2 * n * d) + 2 * n * h),
};
