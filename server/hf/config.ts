/**
 * config.json of a Hugging Face folder, normalised per graph builder so the builders read one
 * shape of settings whatever the model_type spells them as. Which model_types run, with which
 * builder and quirks, is the family catalog (family.ts). Defaults follow the transformers
 * configuration classes of each model type.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../common/errors';
import { requireRegularFile } from '../regularFile';
import { FAMILIES, findFamily, layerWindows, scalarText, type Builder } from './family';

/** The graph builder a config is built with (the family catalog, family.ts, maps model_type to it). */
export type Family = Builder;
export type Activation = 'gelu' | 'gelu_new' | 'relu' | 'silu';

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
  /** Factor on the token embeddings (1, or √hidden for Gemma). */
  embedScale: number;
  /** Added to every RMSNorm weight (0, or 1 for Gemma's (1 + w)). */
  normWeightOffset: number;
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
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new UserError(`${file}: not a JSON object; fix or re-download config.json.`);
  const modelType = typeof c.model_type === 'string' ? c.model_type : '';
  const spec = findFamily(modelType);
  if (!spec) {
    throw new UserError(
      `${file}: model_type ${JSON.stringify(c.model_type ?? null)} is not supported; supported: ${FAMILIES.map((f) => f.modelType).join(', ')}.`,
    );
  }
  const family = spec.builder;
  const found = (key: string) => JSON.stringify(c[key])?.slice(0, 40) ?? 'undefined';
  // A key written as null is not a missing key: transformers would fail on it, and reading
  // the default instead (n_head: null as 12) would run a different model without a word.
  const present = (key: string): boolean => {
    if (c[key] === null) throw new UserError(`${file}: "${key}" is null; give its value or remove the key to use the default.`);
    return c[key] !== undefined;
  };
  const num = (key: string, fallback?: number): number => {
    const v = present(key) ? c[key] : fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new UserError(`${file}: "${key}" must be a non-negative number (found ${found(key)}).`);
    }
    return v;
  };
  /** Counts and sizes: whole numbers of at least `min` ("n_layer: 2.5" is a broken config, not a missing tensor). */
  const count = (key: string, fallback?: number, min = 1): number => {
    const v = num(key, fallback);
    if (!Number.isSafeInteger(v) || v < min) {
      throw new UserError(`${file}: "${key}" must be a whole number of at least ${min} (found ${found(key)}); fix the value in config.json.`);
    }
    return v;
  };
  /** Must be above zero: a zero or negative value makes every attention map NaN. */
  const positive = (key: string, fallback: number): number => {
    const v = num(key, fallback);
    if (!(v > 0)) throw new UserError(`${file}: "${key}" must be above 0 (found ${found(key)}); with it every attention map would be NaN. Fix the value in config.json.`);
    return v;
  };
  // A per-layer table is built from it; an absurd count must be a message, not a RangeError or a huge array.
  const layerCount = (key: string, fallback: number): number => {
    const v = count(key, fallback);
    if (v > MAX_LAYERS) throw new UserError(`${file}: "${key}" must be a whole number up to ${MAX_LAYERS} (found ${v}).`);
    return v;
  };
  const act = (key: string, fallback: string): Activation => {
    const name = present(key) ? scalarText(c[key]) : fallback;
    const a = Object.hasOwn(ACTS, name) ? ACTS[name] : undefined;
    if (!a) throw new UserError(`${file}: ${key} "${name}" is not supported; supported: ${Object.keys(ACTS).join(', ')}.`);
    return a;
  };
  const base = {
    family,
    modelType,
    architectures: Array.isArray(c.architectures) ? c.architectures.map(scalarText) : [],
    scaleByInverseLayer: false,
    scaleAttnWeights: true,
    typeVocabSize: 0,
    positionOffset: 0,
    ropeTheta: 10000,
    slidingWindow: [] as number[],
    qkvBias: false,
    oBias: false,
    mlpBias: false,
    embedScale: 1,
    normWeightOffset: 0,
  };
  let cfg: HfConfig;
  if (family === 'gpt2') {
    const hidden = count('n_embd', 768);
    const heads = count('n_head', 12);
    cfg = {
      ...base,
      vocabSize: count('vocab_size', 50257),
      hidden,
      layers: layerCount('n_layer', 12),
      heads,
      kvHeads: heads,
      headDim: hidden / heads,
      // transformers writes n_inner: null for "4 × n_embd".
      intermediate: c.n_inner == null ? 4 * hidden : count('n_inner'),
      maxPositions: count('n_positions', 1024),
      eps: num('layer_norm_epsilon', 1e-5),
      activation: act('activation_function', 'gelu_new'),
      tieWordEmbeddings: c.tie_word_embeddings !== false,
      scaleByInverseLayer: c.scale_attn_by_inverse_layer_idx === true,
      scaleAttnWeights: c.scale_attn_weights !== false,
    };
  } else if (family === 'bert') {
    const pe = c.position_embedding_type ?? 'absolute';
    if (pe !== 'absolute') throw new UserError(`${file}: position_embedding_type ${JSON.stringify(pe).slice(0, 40)} is not supported; only "absolute".`);
    const hidden = count('hidden_size', 768);
    const heads = count('num_attention_heads', 12);
    cfg = {
      ...base,
      vocabSize: count('vocab_size', 30522),
      hidden,
      layers: layerCount('num_hidden_layers', 12),
      heads,
      kvHeads: heads,
      headDim: hidden / heads,
      intermediate: count('intermediate_size', 3072),
      maxPositions: count('max_position_embeddings', 512),
      eps: num('layer_norm_eps', 1e-12),
      activation: act('hidden_act', 'gelu'),
      tieWordEmbeddings: c.tie_word_embeddings !== false,
      typeVocabSize: count('type_vocab_size', 2, 0),
      // RoBERTa numbers positions from padding_idx + 1 (create_position_ids_from_input_ids).
      positionOffset: spec.positionsAfterPadding ? count('pad_token_id', 1, 0) + 1 : 0,
    };
  } else {
    const hidden = count('hidden_size', 4096);
    const heads = count('num_attention_heads', 32);
    const layers = layerCount('num_hidden_layers', 32);
    const kvHeads = count('num_key_value_heads', heads);
    if (heads % kvHeads !== 0) throw new UserError(`${file}: num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}.`);
    if (c.max_window_layers != null) count('max_window_layers', layers, 0);
    const windowValue = c.sliding_window != null && !spec.noWindow ? count('sliding_window') : null;
    const windows = layerWindows(c, layers, windowValue).map((w) => w ?? 0);
    cfg = {
      ...base,
      vocabSize: count('vocab_size', 32000),
      hidden,
      layers,
      heads,
      kvHeads,
      headDim: c.head_dim == null ? hidden / heads : count('head_dim'),
      intermediate: count('intermediate_size', 11008),
      maxPositions: count('max_position_embeddings', 2048),
      eps: num('rms_norm_eps', 1e-6),
      activation: act(spec.activation?.key ?? 'hidden_act', spec.activation?.fallback ?? 'silu'),
      tieWordEmbeddings: spec.tiedByDefault ? c.tie_word_embeddings !== false : c.tie_word_embeddings === true,
      // 0 or less makes every rotary frequency infinite or NaN, and so every map.
      ropeTheta: positive('rope_theta', 10000),
      ropeScaling: ropeScaling(file, c.rope_scaling),
      slidingWindow: windows,
      qkvBias: spec.qkvBias === true || c.attention_bias === true,
      oBias: c.attention_bias === true,
      mlpBias: c.mlp_bias === true,
      embedScale: spec.scaleEmbeddings ? Math.sqrt(hidden) : 1,
      normWeightOffset: spec.normWeightOffset ?? 0,
    };
  }
  if (!Number.isInteger(cfg.headDim) || cfg.headDim <= 0) {
    throw new UserError(`${file}: hidden size ${cfg.hidden} does not divide into ${cfg.heads} heads.`);
  }
  if (cfg.family === 'llama' && cfg.headDim % 2 !== 0) {
    throw new UserError(`${file}: head dimension ${cfg.headDim} is odd; rotary position embeddings rotate pairs, so it must be even.`);
  }
  return cfg;
}

function ropeScaling(file: string, raw: unknown): RopeScaling | undefined {
  if (raw == null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new UserError(`${file}: rope_scaling must be an object such as {"rope_type": "linear", "factor": 2} or null (found ${JSON.stringify(raw).slice(0, 40)}).`);
  const r = raw as Record<string, unknown>;
  const type = scalarText(r.rope_type ?? r.type);
  if (type === 'default') return undefined;
  if (type !== 'linear' && type !== 'llama3') {
    throw new UserError(`${file}: rope_scaling type "${type}" is not supported; supported: default, linear, llama3.`);
  }
  // Each divides a frequency: 0, a negative or a non-number turns every attention map into NaN.
  const n = (k: string, d: number) => {
    const v = r[k] === undefined ? d : r[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new UserError(`${file}: rope_scaling.${k} must be a number above 0 (found ${JSON.stringify(v)?.slice(0, 40)}); with it every attention map would be NaN.`);
    }
    return v;
  };
  const s: RopeScaling = {
    type,
    factor: n('factor', 1),
    lowFreqFactor: n('low_freq_factor', 1),
    highFreqFactor: n('high_freq_factor', 4),
    originalMaxPositions: n('original_max_position_embeddings', 8192),
  };
  if (type === 'llama3' && !(s.highFreqFactor > s.lowFreqFactor)) {
    throw new UserError(`${file}: rope_scaling.high_freq_factor (${s.highFreqFactor}) must be above low_freq_factor (${s.lowFreqFactor}); llama3 scaling divides by their difference.`);
  }
  return s;
}
