/**
 * GPT-2 (GPT2Model / GPT2LMHeadModel): learned positions, pre-LN blocks, Conv1D projections
 * stored [in, out], fused c_attn, causal attention, head tied to wte unless lm_head is saved.
 */
import type { BuildCtx } from './binder';
import type { HfConfig } from './config';
import { findPrefix, type FamilyGraph } from './family';
import { activation, attention, layerNorm, linear, splitHeads } from './graphOps';

export function gpt2Graph(cfg: HfConfig, has: (name: string) => boolean, file: string): FamilyGraph {
  const p = findPrefix(has, 'wte.weight', ['', 'transformer.', 'model.'], file);
  const d = cfg.headDim;
  const ln = (ctx: BuildCtx, x: string, name: string) =>
    layerNorm(ctx.g, x, ctx.b.w(`${p}${name}.weight`), ctx.b.w(`${p}${name}.bias`), cfg.eps);
  const conv = (ctx: BuildCtx, x: string, name: string) =>
    linear(ctx.g, x, ctx.b.w(`${p}${name}.weight`), ctx.b.w(`${p}${name}.bias`), true);
  return {
    embed(ctx) {
      const tok = ctx.b.rows(`${p}wte.weight`, ctx.input('input_ids'));
      const pos = ctx.b.rows(`${p}wpe.weight`, ctx.input('position_ids'));
      return ctx.g.node('Add', [tok, pos]);
    },
    layer(ctx, i, x) {
      const { g } = ctx;
      const h = `h.${i}`;
      const qkv = conv(ctx, ln(ctx, x, `${h}.ln_1`), `${h}.attn.c_attn`);
      const [q, k, v] = g.nodeN('Split', [qkv], { attrs: { axis: 1 }, outputs: 3 }).map((t) => splitHeads(g, t, cfg.heads, d));
      const scale = (cfg.scaleAttnWeights ? 1 / Math.sqrt(d) : 1) / (cfg.scaleByInverseLayer ? i + 1 : 1);
      const a = attention(g, q, k, v, ctx.input('attn_bias_causal0'), scale, cfg.heads, d);
      const x1 = g.node('Add', [x, conv(ctx, a.out, `${h}.attn.c_proj`)]);
      const m = conv(ctx, activation(g, conv(ctx, ln(ctx, x1, `${h}.ln_2`), `${h}.mlp.c_fc`), cfg.activation), `${h}.mlp.c_proj`);
      return { x: g.node('Add', [x1, m]), probs: a.probs };
    },
    head(ctx, x) {
      const out = ln(ctx, x, 'ln_f');
      const w = has('lm_head.weight') ? 'lm_head.weight' : `${p}wte.weight`;
      return linear(ctx.g, out, ctx.b.vocab(w), undefined);
    },
  };
}
