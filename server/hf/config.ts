/**
 * config.json of a Hugging Face folder, normalised per family so the graph builders read one
 * shape of settings whatever the model_type spells them as. Defaults follow the transformers
 * configuration classes of each model type.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../capture/types';
import { requireRegularFile } from '../regularFile';

export type Family = 'gpt2' | 'bert' | 'llama';
export type Activation = 'gelu' | 'gelu_new' | 'relu' | 'silu';

export const SUPPORTED_MODEL_TYPES: Record<string, Family> = {
  gpt2: 'gpt2',
  bert: 'bert',
  roberta: 'bert',
  llama: 'llama',
  mistral: 'llama',
  qwen2: 'llama',
};

export interface RopeScaling {
  type: 'linear' | 'llama3';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositions: number;
}

export interface HfConfig {
  family: Family;
  modelType: string;
  architectures: string[];
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  maxPositions: number;
  eps: number;
  activation: Activation;
  tieWordEmbeddings: boolean;
  /** gpt2: scores also divided by (layer + 1). */
  scaleByInverseLayer: boolean;
  /** gpt2: scale_attn_weights=false leaves scores undivided by sqrt(headDim). */
  scaleAttnWeights: boolean;
  /** bert/roberta: token type vocabulary and the first position id (roberta: padding_idx + 1). */
  typeVocabSize: number;
  positionOffset: number;
  /** llama family */
  ropeTheta: number;
  ropeScaling?: RopeScaling;
  /** Per layer: the sliding window size, or 0 for full causal attention. */
  slidingWindow: number[];
  qkvBias: boolean;
  oBias: boolean;
  mlpBias: boolean;
}

const ACTS: Record<string, Activation> = {
  gelu: 'gelu',
  gelu_new: 'gelu_new',
  gelu_pytorch_tanh: 'gelu_new',
  gelu_fast: 'gelu_new',
  relu: 'relu',
  silu: 'silu',
  swish: 'silu',
};

export function readHfConfig(folder: string): HfConfig {
  const file = path.join(folder, 'config.json');
  if (!existsSync(file)) throw new UserError(`${folder}: no config.json; a Hugging Face folder needs config.json next to the weights.`);
  requireRegularFile(file, 'config.json', 'keep the config.json that came with the checkpoint');
  let c: Record<string, unknown>;
  try {
    c = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new UserError(`${file}: not valid JSON; fix or re-download config.json.`);
  }
  return normaliseConfig(file, c);
}

/** Far above any real model (the deepest are a few hundred layers). */
const MAX_LAYERS = 10_000;

export function normaliseConfig(file: string, c: Record<string, unknown>): HfConfig {
  const modelType = String(c.model_type ?? '');
  const family = SUPPORTED_MODEL_TYPES[modelType];
  if (!family) {
    throw new UserError(
      `${file}: model_type ${JSON.stringify(c.model_type ?? null)} is not supported; supported: ${Object.keys(SUPPORTED_MODEL_TYPES).join(', ')}.`,
    );
  }
  const num = (key: string, fallback?: number): number => {
    const v = c[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new UserError(`${file}: "${key}" must be a non-negative number (found ${JSON.stringify(c[key] ?? null)}).`);
    }
    return v;
  };
  const act = (key: string, fallback: string): Activation => {
    const name = String(c[key] ?? fallback);
    const a = ACTS[name];
    if (!a) throw new UserError(`${file}: ${key} "${name}" is not supported; supported: ${Object.keys(ACTS).join(', ')}.`);
    return a;
  };
  const base = {
    family,
    modelType,
    architectures: Array.isArray(c.architectures) ? c.architectures.map(String) : [],
    scaleByInverseLayer: false,
    scaleAttnWeights: true,
    typeVocabSize: 0,
    positionOffset: 0,
    ropeTheta: 10000,
    slidingWindow: [] as number[],
    qkvBias: false,
    oBias: false,
    mlpBias: false,
  };
  let cfg: HfConfig;
  if (family === 'gpt2') {
    const hidden = num('n_embd', 768);
    const heads = num('n_head', 12);
    cfg = {
      ...base,
      vocabSize: num('vocab_size', 50257),
      hidden,
      layers: num('n_layer', 12),
      heads,
      kvHeads: heads,
      headDim: hidden / heads,
      intermediate: c.n_inner == null ? 4 * hidden : num('n_inner'),
      maxPositions: num('n_positions', 1024),
      eps: num('layer_norm_epsilon', 1e-5),
      activation: act('activation_function', 'gelu_new'),
      tieWordEmbeddings: c.tie_word_embeddings !== false,
      scaleByInverseLayer: c.scale_attn_by_inverse_layer_idx === true,
      scaleAttnWeights: c.scale_attn_weights !== false,
    };
  } else if (family === 'bert') {
    const pe = c.position_embedding_type ?? 'absolute';
    if (pe !== 'absolute') throw new UserError(`${file}: position_embedding_type "${pe}" is not supported; only "absolute".`);
    const hidden = num('hidden_size', 768);
    const heads = num('num_attention_heads', 12);
    cfg = {
      ...base,
      vocabSize: num('vocab_size', 30522),
      hidden,
      layers: num('num_hidden_layers', 12),
      heads,
      kvHeads: heads,
      headDim: hidden / heads,
      intermediate: num('intermediate_size', 3072),
      maxPositions: num('max_position_embeddings', 512),
      eps: num('layer_norm_eps', 1e-12),
      activation: act('hidden_act', 'gelu'),
      tieWordEmbeddings: c.tie_word_embeddings !== false,
      typeVocabSize: num('type_vocab_size', 2),
      // RoBERTa numbers positions from padding_idx + 1 (create_position_ids_from_input_ids).
      positionOffset: modelType === 'roberta' ? num('pad_token_id', 1) + 1 : 0,
    };
  } else {
    const hidden = num('hidden_size', 4096);
    const heads = num('num_attention_heads', 32);
    const layers = num('num_hidden_layers', 32);
    // A per-layer table is built below; an absurd count must be a message, not a RangeError or a huge array.
    if (!Number.isInteger(layers) || layers > MAX_LAYERS) {
      throw new UserError(`${file}: "num_hidden_layers" must be a whole number up to ${MAX_LAYERS} (found ${layers}).`);
    }
    const kvHeads = num('num_key_value_heads', heads);
    if (heads % kvHeads !== 0) throw new UserError(`${file}: num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}.`);
    let window = 0;
    const sw = c.sliding_window;
    if (modelType === 'mistral' && sw != null) window = num('sliding_window');
    const windows = Array.from({ length: layers }, () => window);
    if (modelType === 'qwen2' && c.use_sliding_window === true && sw != null) {
      // Qwen2 slides only from layer max_window_layers on.
      const from = num('max_window_layers', layers);
      for (let i = from; i < layers; i++) windows[i] = num('sliding_window');
    }
    cfg = {
      ...base,
      vocabSize: num('vocab_size', 32000),
      hidden,
      layers,
      heads,
      kvHeads,
      headDim: c.head_dim == null ? hidden / heads : num('head_dim'),
      intermediate: num('intermediate_size', 11008),
      maxPositions: num('max_position_embeddings', 2048),
      eps: num('rms_norm_eps', 1e-6),
      activation: act('hidden_act', 'silu'),
      tieWordEmbeddings: c.tie_word_embeddings === true,
      ropeTheta: num('rope_theta', 10000),
      ropeScaling: ropeScaling(file, c.rope_scaling),
      slidingWindow: windows,
      qkvBias: modelType === 'qwen2' || c.attention_bias === true,
      oBias: c.attention_bias === true,
      mlpBias: c.mlp_bias === true,
    };
  }
  if (!Number.isInteger(cfg.headDim) || cfg.headDim <= 0) {
    throw new UserError(`${file}: hidden size ${cfg.hidden} does not divide into ${cfg.heads} heads.`);
  }
  return cfg;
}

function ropeScaling(file: string, raw: unknown): RopeScaling | undefined {
  if (raw == null) return undefined;
  const r = raw as Record<string, unknown>;
  const type = String(r.rope_type ?? r.type ?? '');
  if (type === 'default') return undefined;
  if (type !== 'linear' && type !== 'llama3') {
    throw new UserError(`${file}: rope_scaling type "${type}" is not supported; supported: default, linear, llama3.`);
  }
  const n = (k: string, d: number) => (typeof r[k] === 'number' ? (r[k] as number) : d);
  return {
    type,
    factor: n('factor', 1),
    lowFreqFactor: n('low_freq_factor', 1),
    highFreqFactor: n('high_freq_factor', 4),
    originalMaxPositions: n('original_max_position_embeddings', 8192),
  };
}
