/**
 * Reads the config.json of any transformer family into one shape: GPT-2's n_layer/n_head/n_embd,
 * T5's num_layers/d_model/d_kv, BART's encoder_layers/decoder_layers, Falcon's multi_query,
 * Llama/Mistral/Qwen's num_key_value_heads and sliding_window, Gemma's alternating windows,
 * and multimodal configs that nest the language model under text_config. Which layers slide is
 * the family catalog's rule (hf/family.ts, layerWindows), the same the graph builders use.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../common/errors';
import { requireRegularFile } from '../regularFile';
import type { Dtype } from './formulas';
import { layerWindows as familyLayerWindows, scalarText } from '../hf/family';

export type ShapeField = 'layers' | 'hiddenSize' | 'heads' | 'kvHeads' | 'headDim' | 'maxPositions' | 'slidingWindow' | 'dtype' | 'ropeScaling' | 'intermediateSize';

/** Key names per field, first match wins; the order puts the Hugging Face standard name first. */
export const KEY_ALIASES: Record<ShapeField, string[]> = {
  layers: ['num_hidden_layers', 'n_layer', 'num_layers', 'n_layers'],
  hiddenSize: ['hidden_size', 'n_embd', 'd_model', 'model_dim', 'dim'],
  heads: ['num_attention_heads', 'n_head', 'num_heads', 'n_heads', 'encoder_attention_heads'],
  kvHeads: ['num_key_value_heads', 'num_kv_heads', 'n_head_kv', 'multi_query', 'multi_query_attention'],
  headDim: ['head_dim', 'd_kv', 'kv_channels', 'attention_head_size'],
  maxPositions: ['max_position_embeddings', 'n_positions', 'n_ctx', 'max_seq_len', 'seq_length', 'max_sequence_length'],
  slidingWindow: ['sliding_window', 'window_size', 'attention_window'],
  dtype: ['torch_dtype', 'dtype'],
  ropeScaling: ['rope_scaling'],
  intermediateSize: ['intermediate_size', 'n_inner', 'ffn_dim', 'd_ff', 'decoder_ffn_dim'],
};

export interface RopeScaling {
  type: string;
  factor?: number;
  originalMaxPositions?: number;
}

export interface ModelShape {
  family: string;
  layers: number;
  hiddenSize: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  maxPositions: number | null;
  /** Attention window of each layer, null where the layer attends to the whole context. */
  layerWindows: (number | null)[];
  /** The configured window (the largest over layers), null when no layer slides. */
  slidingWindow: number | null;
  dtype: Dtype | null;
  ropeScaling: RopeScaling | null;
  intermediateSize: number | null;
  /** Which key of the config gave each field. */
  keys: Partial<Record<ShapeField, string>>;
  /** Assumptions made while reading (defaults, ignored parts). */
  notes: string[];
}

type Json = Record<string, unknown>;

/** True when an object has the keys of a transformer config (heads and a width). */
export function looksLikeTransformerConfig(obj: unknown): obj is Json {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return false;
  const o = (obj as Json).text_config && typeof (obj as Json).text_config === 'object' ? { ...(obj as Json), ...((obj as Json).text_config as Json) } : (obj as Json);
  return KEY_ALIASES.heads.some((k) => k in o) && (KEY_ALIASES.hiddenSize.some((k) => k in o) || 'head_dim' in o);
}

export { scalarText };

/** Far above any real model (the deepest are a few hundred layers). */
const MAX_LAYERS = 10_000;

function pick(cfg: Json, field: ShapeField): { key: string; value: unknown } | undefined {
  for (const key of KEY_ALIASES[field]) {
    if (cfg[key] !== undefined && cfg[key] !== null) return { key, value: cfg[key] };
  }
  return undefined;
}

function positiveInt(value: unknown, key: string, source: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new UserError(`${source}: "${key}" must be a positive integer (found ${JSON.stringify(value)}); fix the value in the config.`);
  }
  return value;
}

export function parseDtype(value: unknown): Dtype | null {
  const s = scalarText(value).toLowerCase().replace(/^torch\./, '');
  if (s === 'float16' || s === 'fp16' || s === 'half') return 'fp16';
  if (s === 'bfloat16' || s === 'bf16') return 'bf16';
  if (s === 'float32' || s === 'fp32' || s === 'float') return 'fp32';
  if (s.startsWith('float8') || s === 'fp8') return 'fp8';
  if (s === 'int8') return 'int8';
  return null;
}

/** Reads a parsed config object. `source` names the file in error messages. */
export function readModelShape(raw: Json, source = 'config.json'): ModelShape {
  const notes: string[] = [];
  let cfg = raw;
  if (!KEY_ALIASES.heads.some((k) => k in raw) && raw.text_config && typeof raw.text_config === 'object') {
    cfg = { ...(raw.text_config as Json) };
    if (cfg.model_type === undefined) cfg.model_type = raw.model_type;
    notes.push('Figures are for the language model under text_config.');
  }
  const keys: ModelShape['keys'] = {};
  const need = (field: ShapeField, what: string): number => {
    const hit = pick(cfg, field);
    if (!hit) throw new UserError(`${source}: no ${what} key (${KEY_ALIASES[field].join(', ')}); add one so the cost can be computed.`);
    keys[field] = hit.key;
    return positiveInt(hit.value, hit.key, source);
  };

  let layers: number;
  if (typeof cfg.encoder_layers === 'number' && typeof cfg.decoder_layers === 'number') {
    layers = positiveInt(cfg.encoder_layers, 'encoder_layers', source) + positiveInt(cfg.decoder_layers, 'decoder_layers', source);
    keys.layers = 'encoder_layers';
    notes.push('Encoder and decoder self-attention layers are counted; cross-attention is not.');
  } else {
    layers = need('layers', 'layer count');
    if (typeof cfg.num_decoder_layers === 'number' && cfg.num_decoder_layers > 0) {
      layers += positiveInt(cfg.num_decoder_layers, 'num_decoder_layers', source);
      notes.push('Encoder and decoder self-attention layers are counted; cross-attention is not.');
    }
  }
  // Per-layer tables follow; an absurd count must be a message, not a RangeError or a huge array.
  if (layers > MAX_LAYERS) throw new UserError(`${source}: ${layers} layers is beyond any real model (at most ${MAX_LAYERS}); fix the layer count.`);
  const heads = need('heads', 'attention-head count');
  const hiddenHit = pick(cfg, 'hiddenSize');
  const headDimHit = pick(cfg, 'headDim');
  if (headDimHit) keys.headDim = headDimHit.key;
  if (!hiddenHit && !headDimHit) need('hiddenSize', 'hidden size');
  let headDim: number;
  let hiddenSize: number;
  if (hiddenHit) {
    keys.hiddenSize = hiddenHit.key;
    hiddenSize = positiveInt(hiddenHit.value, hiddenHit.key, source);
    headDim = headDimHit ? positiveInt(headDimHit.value, headDimHit.key, source) : hiddenSize / heads;
  } else {
    headDim = positiveInt(headDimHit!.value, headDimHit!.key, source);
    hiddenSize = heads * headDim;
  }
  if (!Number.isInteger(headDim)) {
    throw new UserError(`${source}: ${keys.hiddenSize} = ${hiddenSize} is not divisible by ${keys.heads} = ${heads}; fix one of them or set head_dim.`);
  }

  let kvHeads = heads;
  const kvHit = pick(cfg, 'kvHeads');
  if (kvHit) {
    keys.kvHeads = kvHit.key;
    if (typeof kvHit.value === 'boolean') {
      kvHeads = kvHit.value ? 1 : heads;
    } else {
      kvHeads = positiveInt(kvHit.value, kvHit.key, source);
    }
  }
  if (kvHeads > heads || heads % kvHeads !== 0) {
    throw new UserError(`${source}: ${keys.heads} = ${heads} is not a multiple of ${keys.kvHeads} = ${kvHeads}; grouped-query attention needs whole groups.`);
  }

  let maxPositions: number | null = null;
  const posHit = pick(cfg, 'maxPositions');
  if (posHit && typeof posHit.value === 'number' && posHit.value > 0) {
    keys.maxPositions = posHit.key;
    maxPositions = posHit.value;
  }

  let windowValue: number | null = null;
  const winHit = pick(cfg, 'slidingWindow');
  if (winHit) {
    // A loop, not Math.max(...list): a spread of a long list overflows the call stack.
    const v = Array.isArray(winHit.value) ? (winHit.value as unknown[]).reduce<number>((m, x) => (typeof x === 'number' && x > m ? x : m), Number.NEGATIVE_INFINITY) : winHit.value;
    if (typeof v === 'number' && v > 0) {
      keys.slidingWindow = winHit.key;
      windowValue = v;
    }
  }
  const layerWindows = familyLayerWindows(cfg, layers, windowValue, notes);
  const slidingWindow = layerWindows.some((w) => w != null) ? windowValue : null;

  const dtypeHit = pick(cfg, 'dtype');
  const dtype = dtypeHit ? parseDtype(dtypeHit.value) : null;
  if (dtypeHit) keys.dtype = dtypeHit.key;

  let ropeScaling: RopeScaling | null = null;
  const rope = cfg.rope_scaling;
  if (rope && typeof rope === 'object') {
    const r = rope as Json;
    keys.ropeScaling = 'rope_scaling';
    ropeScaling = {
      type: scalarText(r.rope_type ?? r.type) || 'unknown',
      factor: typeof r.factor === 'number' ? r.factor : undefined,
      originalMaxPositions: typeof r.original_max_position_embeddings === 'number' ? r.original_max_position_embeddings : undefined,
    };
  }
  const ffn = pick(cfg, 'intermediateSize');
  const intermediateSize = ffn && typeof ffn.value === 'number' ? ffn.value : null;
  if (ffn) keys.intermediateSize = ffn.key;

  return {
    family: scalarText(cfg.model_type ?? raw.model_type) || 'unknown',
    layers, hiddenSize, heads, kvHeads, headDim, maxPositions, layerWindows, slidingWindow,
    dtype, ropeScaling, intermediateSize, keys, notes,
  };
}

/** Reads config.json from a file path or a model folder. */
export function loadModelShape(path: string): ModelShape {
  let file = path;
  try {
    if (statSync(path).isDirectory()) file = join(path, 'config.json');
  } catch {
    throw new UserError(`${path}: no such file; pass a config.json or a model folder that holds one.`);
  }
  requireRegularFile(file, 'a model config', 'pass a config.json or a model folder that holds one');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UserError(`${file}: cannot be read; pass a config.json or a model folder that holds one.`);
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    // V8 quotes the offending text, which may hold newlines: the message must stay one line.
    throw new UserError(`${file}: not valid JSON (${(e as Error).message.replace(/\s+/g, ' ')}); fix the file.`);
  }
  if (!looksLikeTransformerConfig(obj)) {
    throw new UserError(`${file}: not a transformer config (no heads/hidden-size keys); pass the model's config.json.`);
  }
  return readModelShape(obj, file);
}
