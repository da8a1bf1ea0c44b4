/**
 * The model-family catalog: for each Hugging Face model_type the runtime can run, the graph
 * builder that builds it (buildModel.ts), the config.json keys that builder reads, the family's
 * quirks, and its sliding-window rule, which the efficiency estimator's shape (modelShape.ts)
 * uses too. A new family close to an existing one is one line in FAMILIES. Also what every
 * family builder provides: a model is embed -> layers -> head; the same three pieces are
 * composed into one graph (all in memory) or run as separate stages (layer mode).
 */
import { UserError } from '../../common/errors';
import type { FamilyCatalogEntry } from '../../protocol/catalog';
import type { BuildCtx } from './binder';

export interface FamilyGraph {
  /** [T, hidden] from the host inputs. */
  embed(ctx: BuildCtx): string;
  /** One block: the new hidden state and its attention probabilities [1, heads, T, T]. */
  layer(ctx: BuildCtx, index: number, x: string): { x: string; probs: string };
  /** Logits [T, V] (or the final hidden state for encoders saved without a head). */
  head(ctx: BuildCtx, x: string): string;
}

/** The graph builders (server/hf/build*.ts). */
export type Builder = 'gpt2' | 'bert' | 'llama';

/** The config.json keys each builder reads (config.ts, normaliseConfig), for hovers and the docs. */
export const BUILDER_KEYS: Record<Builder, string[]> = {
  gpt2: ['n_embd', 'n_head', 'n_layer', 'vocab_size', 'n_inner', 'n_positions', 'layer_norm_epsilon', 'activation_function', 'tie_word_embeddings', 'scale_attn_by_inverse_layer_idx', 'scale_attn_weights'],
  bert: ['hidden_size', 'num_attention_heads', 'num_hidden_layers', 'vocab_size', 'intermediate_size', 'max_position_embeddings', 'layer_norm_eps', 'hidden_act', 'tie_word_embeddings', 'type_vocab_size', 'position_embedding_type'],
  llama: ['hidden_size', 'num_attention_heads', 'num_hidden_layers', 'num_key_value_heads', 'head_dim', 'vocab_size', 'intermediate_size', 'max_position_embeddings', 'rms_norm_eps', 'hidden_act', 'tie_word_embeddings', 'rope_theta', 'rope_scaling', 'attention_bias', 'mlp_bias'],
};

type Json = Record<string, unknown>;

export interface FamilySpec {
  /** config.json model_type. */
  modelType: string;
  builder: Builder;
  /** Short citation of the model's paper or release. */
  paper: string;
  /** Keys read beyond the builder's own. */
  extraKeys?: string[];
  /** RoBERTa numbers positions from pad_token_id + 1 (create_position_ids_from_input_ids). */
  positionsAfterPadding?: boolean;
  /** Q, K and V projections always carry a bias (Qwen2). */
  qkvBias?: boolean;
  /**
   * Which layers slide, given the configured window: the family's own rule (transformers'
   * configuration class). Without one, `sliding_window` applies to every layer when set
   * (generic rules in layerWindows).
   */
  slidingLayers?(cfg: Json, layers: number): boolean[];
  /** The family never slides, whatever the config says. */
  noWindow?: boolean;
  /** Token embeddings multiplied by √hidden_size before the first layer (Gemma's normalizer). */
  scaleEmbeddings?: boolean;
  /** RMSNorm scales by (1 + weight) rather than weight (Gemma stores the offset from 1). */
  normWeightOffset?: number;
  /** The MLP's activation key and its default when absent (Llama: hidden_act, silu). */
  activation?: { key: string; fallback: string };
  /** The output head is tied to the embeddings unless tie_word_embeddings is false. */
  tiedByDefault?: boolean;
}

export const FAMILIES: FamilySpec[] = [
  { modelType: 'gpt2', builder: 'gpt2', paper: 'Radford et al. 2019, Language Models are Unsupervised Multitask Learners' },
  { modelType: 'bert', builder: 'bert', paper: 'Devlin et al. 2019, BERT' },
  { modelType: 'roberta', builder: 'bert', paper: 'Liu et al. 2019, RoBERTa', extraKeys: ['pad_token_id'], positionsAfterPadding: true },
  { modelType: 'llama', builder: 'llama', paper: 'Touvron et al. 2023, LLaMA', noWindow: true },
  { modelType: 'mistral', builder: 'llama', paper: 'Jiang et al. 2023, Mistral 7B', extraKeys: ['sliding_window'] },
  {
    modelType: 'qwen2', builder: 'llama', paper: 'Yang et al. 2024, Qwen2 Technical Report', qkvBias: true,
    extraKeys: ['sliding_window', 'use_sliding_window', 'max_window_layers'],
    slidingLayers: qwenSlidingLayers,
  },
  {
    modelType: 'gemma', builder: 'llama', paper: 'Gemma Team 2024, Gemma: Open Models Based on Gemini Research and Technology', noWindow: true,
    extraKeys: ['hidden_activation'], scaleEmbeddings: true, normWeightOffset: 1, tiedByDefault: true,
    // transformers' GemmaConfig: hidden_activation overrides the legacy hidden_act, default tanh GELU.
    activation: { key: 'hidden_activation', fallback: 'gelu_pytorch_tanh' },
  },
];

/**
 * Qwen2 (and the configs that copy its keys: qwen2_moe, qwen3) slides only when
 * use_sliding_window is true, and then from layer max_window_layers on.
 */
function qwenSlidingLayers(cfg: Json, layers: number): boolean[] {
  const from = typeof cfg.max_window_layers === 'number' ? cfg.max_window_layers : layers;
  return Array.from({ length: layers }, (_, i) => cfg.use_sliding_window === true && i >= from);
}

/** The family of a model_type; own keys only ("__proto__" is an unsupported type, not Object's). */
export function findFamily(modelType: string): FamilySpec | undefined {
  return FAMILIES.find((f) => f.modelType === modelType);
}

/** Every key a family's builder reads. */
export function familyKeys(f: FamilySpec): string[] {
  return [...BUILDER_KEYS[f.builder], ...(f.extraKeys ?? [])];
}

/**
 * A config value as text when it is a string, number or boolean, else ''. String() of an
 * object from a hostile file can throw ({"toString": 1}) or run nothing useful.
 */
export function scalarText(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
}

/**
 * The attention window of each layer (null where the layer attends to the whole context), read
 * the same way by the graph builders (config.ts) and the estimator (modelShape.ts). `notes`
 * collects what was assumed.
 */
export function layerWindows(cfg: Json, layers: number, windowValue: number | null, notes: string[] = []): (number | null)[] {
  const all = (w: number | null) => Array.from({ length: layers }, () => w);
  if (windowValue == null) return all(null);
  const family = findFamily(scalarText(cfg.model_type));
  if (family?.noWindow) return all(null);
  if (cfg.use_sliding_window === false) {
    notes.push('sliding_window is set but use_sliding_window is false: every layer attends to the full context.');
    return all(null);
  }
  if (Array.isArray(cfg.layer_types) && cfg.layer_types.length === layers) {
    return cfg.layer_types.map((t) => (scalarText(t).includes('sliding') ? windowValue : null));
  }
  const rule = family?.slidingLayers ?? (typeof cfg.max_window_layers === 'number' ? qwenSlidingLayers : undefined);
  if (rule) return rule(cfg, layers).map((s) => (s ? windowValue : null));
  if (scalarText(cfg.model_type) === 'gemma2') return Array.from({ length: layers }, (_, i) => (i % 2 === 0 ? windowValue : null));
  if (typeof cfg.sliding_window_pattern === 'number' && cfg.sliding_window_pattern > 0) {
    const p = cfg.sliding_window_pattern;
    return Array.from({ length: layers }, (_, i) => ((i + 1) % p === 0 ? null : windowValue));
  }
  if (Array.isArray(cfg.attention_types)) {
    // GPT-Neo: [[["global", "local"], 12]] expands to alternating global/local layers.
    const kinds: string[] = [];
    for (const entry of cfg.attention_types as unknown[]) {
      // Malformed entries are skipped, and the expansion stops past the layer count (it is then ignored).
      if (!Array.isArray(entry) || !Array.isArray(entry[0]) || typeof entry[1] !== 'number') continue;
      for (let r = 0; r < entry[1] && kinds.length <= layers; r++) kinds.push(...(entry[0] as unknown[]).map(scalarText));
    }
    if (kinds.length === layers) return kinds.map((k) => (k === 'local' ? windowValue : null));
  }
  return all(windowValue);
}

/** The first prefix under which `probe` exists, e.g. "transformer." for GPT2LMHeadModel. */
export function findPrefix(has: (name: string) => boolean, probe: string, prefixes: string[], file: string): string {
  for (const p of prefixes) if (has(p + probe)) return p;
  throw new UserError(`${file}: no tensor "${probe}" (tried prefixes ${prefixes.map((p) => JSON.stringify(p)).join(', ')}); the weights do not match config.json's model_type.`);
}

/** The family catalog as the runtime serves it (attention/listFamilies). */
export function familyCatalog(): FamilyCatalogEntry[] {
  return FAMILIES.map((f) => ({ modelType: f.modelType, builder: f.builder, paper: f.paper, configKeys: familyKeys(f) }));
}
