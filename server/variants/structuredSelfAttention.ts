/**
 * Structured self-attention (Lin et al. 2017, "A Structured Self-Attentive Sentence Embedding",
 * eqs. 5-8): r hops of attention over the token states H, A = softmax(W_s2 tanh(W_s1 Hᵀ)),
 * give a sentence embedding M = A H, with the redundancy penalty P = ‖AAᵀ − I‖_F² that pushes
 * the hops apart. W_s1, W_s2 are learned in the paper and seeded here. The result describes the
 * whole sequence, so output and map are not per-token: see outputDims and mapDims.
 */
import { finish, qkvGraph, softmax } from './graphParts';
import { gaussian, subSeed } from './rng';
import { tokenStates } from './tokenStates';
import type { VariantSpec } from './types';

export const structuredSelfAttention: VariantSpec = {
  id: 'structured-self-attention',
  paper: 'Lin et al. 2017, A Structured Self-Attentive Sentence Embedding',
  summary: 'r attention hops over the tokens, A = softmax(W_s2 tanh(W_s1 Hᵀ)), embedding M = AH, penalty ‖AAᵀ−I‖²',
  exact: false,
  sparse: false,
  defaults: { hops: 4, da: 64 },
  cost: { name: 'Structured self-attention', from: 'analytic' },
  build(x, params) {
    const r = Math.max(1, Math.round(params.hops ?? 4));
    const da = Math.max(1, Math.round(params.da ?? 64));
    const qkv = qkvGraph('structured-self-attention', x);
    const { g } = qkv;
    const H = tokenStates(qkv, x, 'query');
    const u = H.dim;
    // Stored transposed so the graph multiplies row-major states directly: H W_s1ᵀ, (·) W_s2ᵀ.
    const ws1T = g.f32('w_s1_t', [u, da], gaussian(u * da, subSeed(x.seed, 61), 1 / Math.sqrt(u)));
    const ws2T = g.f32('w_s2_t', [da, r], gaussian(da * r, subSeed(x.seed, 62), 1 / Math.sqrt(da)));
    const logits = g.node('MatMul', [g.node('Tanh', [g.node('MatMul', [H.name, ws1T])]), ws2T]); // [n, r]
    const A = softmax(g, g.node('Transpose', [logits], { attrs: { perm: [1, 0] } })); // [r, n]
    const M = g.node('MatMul', [A, H.name]); // [r, u]
    const aat = g.node('MatMul', [A, g.node('Transpose', [A], { attrs: { perm: [1, 0] } })]);
    const eye = new Float32Array(r * r);
    for (let i = 0; i < r; i++) eye[i * r + i] = 1;
    const diff = g.node('Sub', [aat, g.f32('eye', [r, r], eye)]);
    const penalty = g.node('ReduceSum', [g.node('Mul', [diff, diff])], { attrs: { keepdims: 0 } });
    g.output(g.node('Identity', [penalty], { outputs: ['penalty'] }));
    const built = finish(
      qkv,
      g.node('Reshape', [M, g.i64('shape', [1, r, u])]),
      g.node('Reshape', [A, g.i64('shape', [1, r, x.n])]),
      [
        H.note,
        `W_s1 [${da}×${u}] and W_s2 [${r}×${da}] seeded N(0, 1/fan_in) from seed ${x.seed} (learned in the paper)`,
        'a sentence embedding: no queries, so causality does not apply and the output is not comparable with per-token attention',
        'redundancy penalty ‖AAᵀ − I‖_F² is the extra output "penalty" (0 = hops attend to disjoint single tokens)',
      ],
      `hop attention A [1, ${r}, n]: each of the ${r} rows is a distribution over the tokens`,
    );
    return {
      ...built,
      outputDims: [1, r, u],
      mapDims: [1, r, x.n],
      extraOutputs: { penalty: 'Lin et al. redundancy penalty ‖AAᵀ − I‖_F² (scalar)' },
    };
  },
  // u = heads·d stands for the state width when the hidden size is not known here.
  flops: (n, _m, d, h, p) => {
    const u = h * d, da = p.da ?? 64, r = p.hops ?? 4;
    return 2 * n * u * da + 2 * n * da * r + 5 * r * n + 2 * r * n * u + 2 * r * r * n;
  },
  memoryBytes: (n, _m, d, h, p) => 4 * (n * (p.da ?? 64) + 2 * (p.hops ?? 4) * n + (p.hops ?? 4) * h * d),
};
