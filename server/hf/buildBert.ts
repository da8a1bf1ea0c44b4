/**
 * BERT and RoBERTa encoders: word + absolute position + token type embeddings, post-LN blocks,
 * bidirectional attention, and the masked-LM head when the checkpoint has one (its decoder tied
 * to the word embeddings unless saved). Without a head, "logits" is the last hidden state.
 */
import type { BuildCtx } from './binder';
import type { HfConfig } from './config';
import { findPrefix, type FamilyGraph } from './family';
import { activation, attention, layerNorm, linear, MASKED, splitHeads } from './graphOps';

/** attention_mask [T] (1 keep, 0 pad) -> additive [1, T] bias over keys, as BERT's extended mask. */
function maskBias(ctx: BuildCtx): string {
  const { g } = ctx;
  const keep = g.node('Cast', [ctx.input('attention_mask')], { attrs: { to: 1 } });
  const bias = g.node('Mul', [g.node('Sub', [g.scalar('one', 1), keep]), g.scalar('masked', MASKED)]);
  return g.node('Unsqueeze', [bias, g.i64('axis0', [0])]);
}

export function bertGraph(cfg: HfConfig, has: (name: string) => boolean, file: string): FamilyGraph {
  const p = findPrefix(has, 'embeddings.word_embeddings.weight', ['', 'bert.', 'roberta.', 'model.'], file);
  const d = cfg.headDim;
  const ln = (ctx: BuildCtx, x: string, name: string) =>
    layerNorm(ctx.g, x, ctx.b.w(`${name}.weight`), ctx.b.w(`${name}.bias`), cfg.eps);
  const dense = (ctx: BuildCtx, x: string, name: string) =>
    linear(ctx.g, x, ctx.b.w(`${name}.weight`), has(`${name}.bias`) ? ctx.b.w(`${name}.bias`) : undefined);
  // BertForMaskedLM keeps its head under cls.predictions, RobertaForMaskedLM under lm_head.
  const mlm = has('cls.predictions.transform.dense.weight')
    ? { dense: 'cls.predictions.transform.dense', norm: 'cls.predictions.transform.LayerNorm', decoder: 'cls.predictions.decoder', bias: 'cls.predictions.bias', act: cfg.activation }
    : has('lm_head.dense.weight')
      ? { dense: 'lm_head.dense', norm: 'lm_head.layer_norm', decoder: 'lm_head.decoder', bias: 'lm_head.bias', act: 'gelu' as const }
      : undefined;
  return {
    embed(ctx) {
      const { g, b } = ctx;
      let e = g.node('Add', [
        b.rows(`${p}embeddings.word_embeddings.weight`, ctx.input('input_ids')),
        b.rows(`${p}embeddings.position_embeddings.weight`, ctx.input('position_ids')),
      ]);
      if (has(`${p}embeddings.token_type_embeddings.weight`)) {
        e = g.node('Add', [e, b.rows(`${p}embeddings.token_type_embeddings.weight`, ctx.input('token_type_ids'))]);
      }
      return ln(ctx, e, `${p}embeddings.LayerNorm`);
    },
    layer(ctx, i, x) {
      const { g } = ctx;
      const l = `${p}encoder.layer.${i}`;
      const [q, k, v] = ['query', 'key', 'value'].map((n) => splitHeads(g, dense(ctx, x, `${l}.attention.self.${n}`), cfg.heads, d));
      const a = attention(g, q, k, v, maskBias(ctx), 1 / Math.sqrt(d), cfg.heads, d);
      const x1 = ln(ctx, g.node('Add', [x, dense(ctx, a.out, `${l}.attention.output.dense`)]), `${l}.attention.output.LayerNorm`);
      const inter = activation(g, dense(ctx, x1, `${l}.intermediate.dense`), cfg.activation);
      const x2 = ln(ctx, g.node('Add', [x1, dense(ctx, inter, `${l}.output.dense`)]), `${l}.output.LayerNorm`);
      return { x: x2, probs: a.probs };
    },
    head(ctx, x) {
      if (!mlm) return ctx.g.node('Identity', [x]);
      const t = ln(ctx, activation(ctx.g, dense(ctx, x, mlm.dense), mlm.act), mlm.norm);
      const w = has(`${mlm.decoder}.weight`) ? `${mlm.decoder}.weight` : `${p}embeddings.word_embeddings.weight`;
      const bias = has(mlm.bias) ? mlm.bias : has(`${mlm.decoder}.bias`) ? `${mlm.decoder}.bias` : undefined;
      return linear(ctx.g, t, ctx.b.vocab(w), bias ? ctx.b.vocab(bias) : undefined);
    },
  };
}
