/**
 * SwitchHead (Csordás et al. 2023, "SwitchHead: Accelerating Transformers with Mixture-of-Experts
 * Attention", eqs. 6-10): queries and keys stay dense; the value and output projections of each
 * head are mixtures of E experts chosen per token by independent sigmoid gates (top-k, not
 * renormalised). Source-side gates pick value experts per key token, destination-side gates
 * pick output experts per query token. Here expert e of head h is the checkpoint's projection
 * followed by a seeded d×d map R = I + N(0, σ²), and the selection weights are seeded.
 */
import { exactProbs, finish, qkvGraph } from './graphParts';
import { gaussian, subSeed } from './rng';
import { routerStd, topKGates } from './routing';
import { tokenStates } from './tokenStates';
import type { VariantSpec } from './types';
import type { GraphBuilder } from '../onnx/graphBuilder';

/** Seeded expert maps [H, E, d, d]: identity plus N(0, noise²). */
export function expertMaps(H: number, E: number, d: number, noise: number, seed: number): Float32Array {
  const r = gaussian(H * E * d * d, seed, noise);
  for (let b = 0; b < H * E; b++) for (let i = 0; i < d; i++) r[b * d * d + i * d + i] += 1;
  return r;
}

/** Σ_e gate[h,t,e] · (t_h R_{h,e}): t [H,rows,d], gates [H,rows,E], R [H,E,d,d] -> [H,rows,d]. */
function mixExperts(g: GraphBuilder, t: string, gates: string, R: string, H: number, rows: number, E: number, d: number): string {
  const per = g.node('MatMul', [g.node('Reshape', [t, g.i64('shape', [H, 1, rows, d])]), R]); // [H,E,rows,d]
  const w = g.node('Reshape', [g.node('Transpose', [gates], { attrs: { perm: [0, 2, 1] } }), g.i64('shape', [H, E, rows, 1])]);
  return g.node('ReduceSum', [g.node('Mul', [per, w]), g.i64('axes', [1])], { attrs: { keepdims: 0 } });
}

export const switchHead: VariantSpec = {
  id: 'switchhead',
  paper: 'Csordás et al. 2023, SwitchHead: Accelerating Transformers with Mixture-of-Experts Attention',
  summary: 'Dense Q/K; value and output projections as sigmoid-gated top-k mixtures of experts per head',
  exact: false,
  sparse: false,
  defaults: { experts: 4, topK: 2, expertNoise: 0.1, routerScale: 1 },
  cost: { name: 'SwitchHead', from: 'analytic' },
  build(x, params) {
    const { heads: H, n, m, d } = x;
    const E = Math.max(1, Math.round(params.experts ?? 4));
    const k = Math.min(E, Math.max(1, Math.round(params.topK ?? 2)));
    const noise = params.expertNoise ?? 0.1;
    const scale = params.routerScale ?? 1;
    const qkv = qkvGraph('switchhead', x);
    const { g } = qkv;
    const src = tokenStates(qkv, x, 'key');
    const dst = tokenStates(qkv, x, 'query');
    const router = (states: { name: string; dim: number }, salt: number) => {
      const w = g.f32('w_sel', [H, states.dim, E], gaussian(H * states.dim * E, subSeed(x.seed, salt), routerStd(states.dim, scale)));
      return g.node('MatMul', [states.name, w]); // [rows, dim] x [H, dim, E] -> [H, rows, E]
    };
    const gv = topKGates(g, router(src, 51), k, 'sigmoid-topk'); // [H, m, E]
    const go = topKGates(g, router(dst, 52), k, 'sigmoid-topk'); // [H, n, E]
    const Rv = g.f32('r_value', [H, E, d, d], expertMaps(H, E, d, noise, subSeed(x.seed, 53)));
    const Ro = g.f32('r_output', [H, E, d, d], expertMaps(H, E, d, noise, subSeed(x.seed, 54)));
    const v2 = mixExperts(g, qkv.v, gv, Rv, H, m, E, d);
    const att = g.node('MatMul', [exactProbs(qkv, x), v2]);
    const out = mixExperts(g, att, go, Ro, H, n, E, d);
    g.output(g.node('Identity', [gv], { outputs: ['valueGates'] }));
    const built = finish(
      qkv, out, go,
      [
        src.note === dst.note ? src.note : `${dst.note}; ${src.note}`,
        `${E} experts per head, top-${k} by sigmoid gates (not renormalised)`,
        `expert maps R = I + N(0, ${noise}²) [d×d] after the checkpoint's V and before W_o, seeded from ${x.seed}`,
        scale === 0 ? 'selection weights zero: every gate is σ(0) = 0.5' : `selection weights W_S, W_D seeded N(0, ${scale}²/fan_in)`,
      ],
      'output-expert gates [heads, n, experts] (sigmoid value where chosen, 0 elsewhere); value-expert gates are the extra output valueGates [heads, m, experts]',
    );
    return { ...built, mapDims: [H, n, E], extraOutputs: { valueGates: `value-expert gates [${H}, ${m}, ${E}]` } };
  },
  // Selection, k expert maps on each side, and the dense attention of every head.
  flops: (n, m, d, h, p) => {
    const E = p.experts ?? 4, k = Math.min(E, p.topK ?? 2);
    return h * (2 * (n + m) * h * d * E + 2 * k * (n + m) * d * d + 4 * n * m * d + 5 * n * m);
  },
  memoryBytes: (n, m, d, h, p) => 4 * h * (2 * n * m + (p.experts ?? 4) * Math.max(n, m) * d + 2 * n * d),
};
