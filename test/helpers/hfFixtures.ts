/**
 * Tiny random checkpoints per family, named as transformers saves them (canonical names
 * without the model prefix for GPT-2 and BERT, with "model." for Llama). Scales are chosen so
 * attention is far from uniform and the logits are O(1).
 */
import { randomTensor, rng, type Tensors } from './writeCheckpoint';

/** A Hugging Face config.json as the fixtures and the reference passes read it. */
export type HfConfig = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Cfg = HfConfig;

function norm(rand: ReturnType<typeof rng>, t: Tensors, name: string, n: number, bias = true): void {
  t[`${name}.weight`] = randomTensor(rand, [n], 0.2, 1);
  if (bias) t[`${name}.bias`] = randomTensor(rand, [n], 0.1);
}

function linear(rand: ReturnType<typeof rng>, t: Tensors, name: string, out: number, inp: number, bias: boolean, conv1d = false): void {
  t[`${name}.weight`] = randomTensor(rand, conv1d ? [inp, out] : [out, inp], 1.2 / Math.sqrt(inp));
  if (bias) t[`${name}.bias`] = randomTensor(rand, [out], 0.1);
}

export function gpt2Fixture(seed = 1): { config: Cfg; tensors: Tensors } {
  const config = { model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], vocab_size: 40, n_embd: 16, n_head: 4, n_layer: 2, n_positions: 24, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5 };
  const rand = rng(seed);
  const H = 16;
  const t: Tensors = { 'wte.weight': randomTensor(rand, [40, H], 1), 'wpe.weight': randomTensor(rand, [24, H], 0.5) };
  for (let l = 0; l < 2; l++) {
    const p = `h.${l}`;
    norm(rand, t, `${p}.ln_1`, H);
    linear(rand, t, `${p}.attn.c_attn`, 3 * H, H, true, true);
    linear(rand, t, `${p}.attn.c_proj`, H, H, true, true);
    norm(rand, t, `${p}.ln_2`, H);
    linear(rand, t, `${p}.mlp.c_fc`, 4 * H, H, true, true);
    linear(rand, t, `${p}.mlp.c_proj`, H, 4 * H, true, true);
  }
  norm(rand, t, 'ln_f', H);
  return { config, tensors: t };
}

export function bertFixture(modelType: 'bert' | 'roberta', seed = 2): { config: Cfg; tensors: Tensors; heads: string[] } {
  const roberta = modelType === 'roberta';
  const H = 16;
  const I = 32;
  const V = 40;
  const P = 24;
  const config = {
    model_type: modelType,
    architectures: [roberta ? 'RobertaForMaskedLM' : 'BertForMaskedLM'],
    vocab_size: V, hidden_size: H, num_attention_heads: 2, num_hidden_layers: 2, intermediate_size: I,
    hidden_act: 'gelu', max_position_embeddings: P, type_vocab_size: roberta ? 1 : 2, layer_norm_eps: 1e-12,
    pad_token_id: 1,
  };
  const rand = rng(seed);
  const t: Tensors = {
    'embeddings.word_embeddings.weight': randomTensor(rand, [V, H], 1),
    'embeddings.position_embeddings.weight': randomTensor(rand, [P, H], 0.5),
    'embeddings.token_type_embeddings.weight': randomTensor(rand, [config.type_vocab_size, H], 0.3),
  };
  norm(rand, t, 'embeddings.LayerNorm', H);
  for (let l = 0; l < 2; l++) {
    const p = `encoder.layer.${l}`;
    for (const n of ['query', 'key', 'value']) linear(rand, t, `${p}.attention.self.${n}`, H, H, true);
    linear(rand, t, `${p}.attention.output.dense`, H, H, true);
    norm(rand, t, `${p}.attention.output.LayerNorm`, H);
    linear(rand, t, `${p}.intermediate.dense`, I, H, true);
    linear(rand, t, `${p}.output.dense`, H, I, true);
    norm(rand, t, `${p}.output.LayerNorm`, H);
  }
  const [dn, ln, bias] = roberta
    ? ['lm_head.dense', 'lm_head.layer_norm', 'lm_head.bias']
    : ['cls.predictions.transform.dense', 'cls.predictions.transform.LayerNorm', 'cls.predictions.bias'];
  linear(rand, t, dn, H, H, true);
  norm(rand, t, ln, H);
  t[bias] = randomTensor(rand, [V], 0.2);
  return { config, tensors: t, heads: [`${dn}.weight`, `${dn}.bias`, `${ln}.weight`, `${ln}.bias`, bias] };
}

export interface LlamaShape {
  modelType?: 'llama' | 'mistral' | 'qwen2' | 'gemma';
  hidden?: number;
  heads?: number;
  kvHeads?: number;
  layers?: number;
  intermediate?: number;
  vocab?: number;
  tie?: boolean;
  extra?: Cfg;
}

export function llamaFixture(s: LlamaShape = {}, seed = 3): { config: Cfg; tensors: Tensors } {
  const H = s.hidden ?? 16;
  const heads = s.heads ?? 4;
  const kv = s.kvHeads ?? heads;
  const L = s.layers ?? 2;
  const I = s.intermediate ?? 24;
  const V = s.vocab ?? 40;
  const d = H / heads;
  const type = s.modelType ?? 'llama';
  const gemma = type === 'gemma';
  // Gemma configs carry the legacy hidden_act "gelu" and usually no tie_word_embeddings (tied by default).
  const config: Cfg = {
    model_type: type, architectures: [gemma ? 'GemmaForCausalLM' : 'LlamaForCausalLM'], vocab_size: V, hidden_size: H, num_attention_heads: heads,
    num_key_value_heads: kv, num_hidden_layers: L, intermediate_size: I, hidden_act: gemma ? 'gelu' : 'silu', rms_norm_eps: 1e-6,
    max_position_embeddings: 64, rope_theta: 10000, ...(gemma && s.tie === undefined ? {} : { tie_word_embeddings: s.tie ?? false }), ...s.extra,
  };
  const rand = rng(seed);
  const t: Tensors = { 'model.embed_tokens.weight': randomTensor(rand, [V, H], 1) };
  const bias = type === 'qwen2';
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}`;
    norm(rand, t, `${p}.input_layernorm`, H, false);
    linear(rand, t, `${p}.self_attn.q_proj`, heads * d, H, bias);
    linear(rand, t, `${p}.self_attn.k_proj`, kv * d, H, bias);
    linear(rand, t, `${p}.self_attn.v_proj`, kv * d, H, bias);
    linear(rand, t, `${p}.self_attn.o_proj`, H, heads * d, false);
    norm(rand, t, `${p}.post_attention_layernorm`, H, false);
    linear(rand, t, `${p}.mlp.gate_proj`, I, H, false);
    linear(rand, t, `${p}.mlp.up_proj`, I, H, false);
    linear(rand, t, `${p}.mlp.down_proj`, H, I, false);
  }
  norm(rand, t, 'model.norm', H, false);
  if (!(config.tie_word_embeddings ?? gemma)) t['lm_head.weight'] = randomTensor(rand, [V, H], 1.2 / Math.sqrt(H));
  return { config, tensors: t };
}
