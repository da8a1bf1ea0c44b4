/**
 * The Llama builder (llama, mistral, qwen2, gemma: family.ts): RMSNorm pre-norm blocks, rotary
 * positions (tables fed by the host, see rope.ts), grouped-query attention, gated MLP, causal
 * mask with an optional sliding window, q/k/v biases for qwen2, Gemma's √hidden embedding scale
 * and (1 + w) norms, head tied to embed_tokens when configured.
 */
import type { BuildCtx } from './binder';
import type { HfConfig } from './config';
import { findPrefix, type FamilyGraph } from './family';
import { activation, attention, linear, repeatKv, rmsNorm, rope, splitHeads } from './graphOps';

export function llamaGraph(cfg: HfConfig, has: (name: string) => boolean, file: string): FamilyGraph {
  const p = findPrefix(has, 'embed_tokens.weight', ['model.', '', 'transformer.'], file);
  const d = cfg.headDim;
  const proj = (ctx: BuildCtx, x: string, name: string) =>
    linear(ctx.g, x, ctx.b.w(`${name}.weight`), has(`${name}.bias`) ? ctx.b.w(`${name}.bias`) : undefined);
  const norm = (ctx: BuildCtx, x: string, name: string) => {
    const w = ctx.b.w(`${name}.weight`);
    return rmsNorm(ctx.g, x, cfg.normWeightOffset ? ctx.g.node('Add', [w, ctx.g.scalar('norm_offset', cfg.normWeightOffset)]) : w, cfg.eps);
  };
  return {
    embed(ctx) {
      const e = ctx.b.rows(`${p}embed_tokens.weight`, ctx.input('input_ids'));
      return cfg.embedScale === 1 ? e : ctx.g.node('Mul', [e, ctx.g.scalar('embed_scale', cfg.embedScale)]);
    },
    layer(ctx, i, x) {
      const { g } = ctx;
      const l = `${p}layers.${i}`;
      const h = norm(ctx, x, `${l}.input_layernorm`);
      const cos = ctx.input('rope_cos');
      const sin = ctx.input('rope_sin');
      const q = rope(g, splitHeads(g, proj(ctx, h, `${l}.self_attn.q_proj`), cfg.heads, d), cos, sin);
      const k = rope(g, splitHeads(g, proj(ctx, h, `${l}.self_attn.k_proj`), cfg.kvHeads, d), cos, sin);
      const v = splitHeads(g, proj(ctx, h, `${l}.self_attn.v_proj`), cfg.kvHeads, d);
      const rep = cfg.heads / cfg.kvHeads;
      const bias = ctx.input(`attn_bias_causal${cfg.slidingWindow[i] ?? 0}`);
      const a = attention(g, q, repeatKv(g, k, cfg.kvHeads, rep, d), repeatKv(g, v, cfg.kvHeads, rep, d), bias, 1 / Math.sqrt(d), cfg.heads, d);
      const x1 = g.node('Add', [x, proj(ctx, a.out, `${l}.self_attn.o_proj`)]);
      const h2 = norm(ctx, x1, `${l}.post_attention_layernorm`);
      const gate = activation(g, proj(ctx, h2, `${l}.mlp.gate_proj`), cfg.activation);
      const up = proj(ctx, h2, `${l}.mlp.up_proj`);
      return { x: g.node('Add', [x1, proj(ctx, g.node('Mul', [gate, up]), `${l}.mlp.down_proj`)]), probs: a.probs };
    },
    head(ctx, x) {
      const out = norm(ctx, x, `${p}norm`);
      // Tied checkpoints usually omit lm_head.weight; when saved it equals embed_tokens anyway.
      const w = has('lm_head.weight') ? 'lm_head.weight' : `${p}embed_tokens.weight`;
      return linear(ctx.g, out, ctx.b.vocab(w), undefined);
    },
  };
}
