/**
 * Mega (Ma et al. 2022, "Mega: Moving Average Equipped Gated Attention", eqs. 3 and 6-13): one
 * attention head whose queries and keys come from a damped multi-dimensional EMA of the token
 * states, with a reset gate on the attention output and an update gate mixing the result back
 * into the residual stream. The layer's own values (all heads concatenated) are what the single
 * head mixes, so the output stays [heads, n, d]; every other parameter is seeded (megaParams.ts).
 */
import { UserError } from '../../common/errors';
import { causal, finish, qkvGraph, scores, softmax, wantMap } from './graphParts';
import { emaKernel, megaParams } from './megaParams';
import { concatHeads, splitHeads, tokenStates } from './tokenStates';
import type { VariantSpec } from './types';

export const mega: VariantSpec = {
  id: 'mega',
  paper: 'Ma et al. 2022, Mega: Moving Average Equipped Gated Attention',
  summary: 'Single-headed gated attention over a damped EMA of the tokens, reset and update gates',
  exact: false,
  sparse: false,
  defaults: { emaDim: 16, zDim: 64 },
  cost: { name: 'Mega gated single-head attention', from: 'analytic' },
  build(x, params) {
    if (x.n !== x.m) {
      throw new UserError(`mega: single-headed self-attention needs as many keys as queries (n=${x.n}, m=${x.m}); capture without a cached prefix`);
    }
    const e = Math.max(1, Math.round(params.emaDim ?? 16));
    const z = Math.max(1, Math.round(params.zDim ?? 64));
    const { n, heads: H, d } = x;
    const vDim = H * d;
    const qkv = qkvGraph('mega', x);
    const { g } = qkv;
    const X = tokenStates(qkv, x, 'query');
    const D = X.dim;
    const p = megaParams(D, e, z, vDim, x.seed);

    // EMA as one depthwise convolution over the sequence (what Mega computes with an FFT).
    const fwd = emaKernel(p.fwd, D, e, n);
    const bwd = x.causal ? undefined : emaKernel(p.bwd, D, e, n);
    const L = bwd ? 2 * n - 1 : n;
    const w = new Float32Array(D * L);
    for (let c = 0; c < D; c++) {
      // Conv is a cross-correlation: tap t reads x[i + t − (n−1)], i.e. lag n−1−t.
      for (let t = 0; t < L; t++) {
        const off = t - (n - 1);
        let val = off <= 0 ? fwd[c * n - off] : 0;
        if (bwd && off >= 0) val += bwd[c * n + off];
        w[c * L + t] = val;
      }
    }
    // Pre-norm as in Mega's blocks (no affine): the EMA and gates read normalised states, the
    // update gate mixes back into the raw residual.
    const xn = g.node('LayerNormalization', [X.name, g.f32('ln_scale', [D], new Float32Array(D).fill(1)), g.f32('ln_bias', [D], new Float32Array(D))], {
      attrs: { axis: -1, epsilon: { float: 1e-5 } },
    });
    const xt = g.node('Reshape', [g.node('Transpose', [xn], { attrs: { perm: [1, 0] } }), g.i64('shape', [1, D, n])]);
    const conv = g.node('Conv', [xt, g.f32('ema_kernel', [D, 1, L], w)], {
      attrs: { group: D, kernel_shape: [L], pads: [n - 1, bwd ? n - 1 : 0] },
    });
    const xe = g.node('Transpose', [g.node('Reshape', [conv, g.i64('shape', [D, n])])], { attrs: { perm: [1, 0] } }); // X' [n, D]

    const silu = (t: string) => g.node('Mul', [t, g.node('Sigmoid', [t])]);
    const affine = (a: string, wName: string, wDims: number[], wData: Float32Array, b: Float32Array) =>
      g.node('Add', [g.node('MatMul', [a, g.f32(wName, wDims, wData)]), g.f32(`${wName}_b`, [b.length], b)]);
    const Z = silu(affine(xe, 'w_z', [D, z], p.wz, p.bz));
    const Qm = g.node('Add', [g.node('Mul', [Z, g.f32('kappa_q', [z], p.kq)]), g.f32('mu_q', [z], p.mq)]);
    const Km = g.node('Add', [g.node('Mul', [Z, g.f32('kappa_k', [z], p.kk)]), g.f32('mu_k', [z], p.mk)]);
    let s = scores(g, Qm, Km, 1 / Math.sqrt(z), 2);
    if (x.causal) s = causal(g, s, x, 0, n, 0, n);
    const P = softmax(g, s); // [n, n]
    const O = g.node('MatMul', [P, concatHeads(qkv, qkv.v, H, n, d)]); // [n, H·d]
    const gamma = silu(affine(xe, 'w_gamma', [D, vDim], p.wg, p.bg));
    const gated = g.node('Mul', [gamma, O]);

    // The rest of the Mega sub-layer (eqs. 12-13), reported as an extra output.
    const hHat = silu(g.node('Add', [affine(xe, 'w_h', [D, D], p.wh, p.bh), g.node('MatMul', [gated, g.f32('u_h', [vDim, D], p.uh)])]));
    const phi = g.node('Sigmoid', [affine(xe, 'w_phi', [D, D], p.wf, p.bf)]);
    const Y = g.node('Add', [g.node('Mul', [phi, hHat]), g.node('Mul', [g.node('Sub', [g.scalar('one', 1), phi]), X.name])]);
    g.output(g.node('Identity', [Y], { outputs: ['layer'] }));

    const map = wantMap(params) ? g.node('Reshape', [P, g.i64('shape', [1, n, n])]) : undefined;
    const built = finish(
      qkv, splitHeads(qkv, gated, H, n, d), map,
      [
        X.note,
        'token states layer-normalised (no affine) before the EMA and gates, as in Mega\'s pre-norm blocks',
        `seeded parameters (seed ${x.seed}): EMA α, δ, β, η (h' = ${e}), Wz (z = ${z}), κ, μ, reset gate Wγ, update gate Wφ, Wh, Uh`,
        x.causal ? 'EMA: causal (left to right)' : 'EMA: bidirectional (a forward and a backward EMA summed), as Mega does for encoders',
        'values: the layer\'s own V of all heads concatenated (no SiLU value projection); relative position bias omitted',
        'output: γ ⊙ (softmax(QKᵀ/√z) V) split back into heads; "layer" = φ⊙Ĥ + (1−φ)⊙X, the gated sub-layer output',
      ],
      'the single Mega head\'s softmax probabilities [1, n, n], shared by all value channels',
    );
    return { ...built, mapDims: map ? [1, n, n] : undefined, extraOutputs: { layer: `Mega sub-layer output Y [${n}, ${D}]` } };
  },
  flops: (n, _m, d, h, p) => {
    const D = h * d, z = p.zDim ?? 64, v = h * d;
    // EMA as a direct convolution, projections, one n×n head over v channels, gates.
    return 2 * D * n * n + 2 * n * D * (z + v + 2 * D) + 2 * n * v * D + 2 * n * n * z + 2 * n * n * v + 5 * n * n;
  },
  memoryBytes: (n, _m, d, h, p) => 4 * (2 * n * n + n * ((p.zDim ?? 64) * 3 + 3 * h * d) + h * d * n),
};
