/**
 * The contract between the capture engine (server/capture/*) and its callers: the LSP handlers
 * (server/main.ts), the CLI (server/cli.ts), tests and benchmarks. Callers depend on these types
 * only, so the engine can change how it runs a model without touching them.
 */
import type { ExecutionProviderSetting, LayerInfo, ModelInfo, CaptureTimings } from '../../protocol/runtime';
import type { LayerReductions } from './layerReductions';

/** One attention layer's probabilities, C order [heads, queries, keys]. */
export interface LayerMap {
  index: number;
  kind: 'self' | 'cross';
  heads: number;
  queries: number;
  keys: number;
  data: Float32Array;
}

/** Rows start .. start + rows - 1 of a layer's map: C order [heads, rows, keys] of [heads, queries, keys]. */
export interface LayerRows {
  index: number;
  kind: 'self' | 'cross';
  heads: number;
  queries: number;
  keys: number;
  start: number;
  rows: number;
  data: Float32Array;
}

export interface CaptureInput {
  text?: string;
  /** A UTF-8 text file, read only as far as tokenizing within maxTokens needs (--text-file). */
  textFile?: string;
  ids?: number[];
  /** Encoder-decoder models: the decoder's input (target) as text or ids; default the source ids. */
  targetText?: string;
  targetIds?: number[];
}

export interface CaptureOptions {
  maxTokens?: number;
  executionProvider?: ExecutionProviderSetting;
  /**
   * The bound on one attention layer's [heads, n, n] tensors (default 512 MiB): a layer above it
   * runs by blocks of query rows that fit it, where its graph allows (server/capture/queryBlocks.ts).
   */
  memoryBudgetBytes?: number;
  /** Checked between layers; when it returns true the run stops and resolves with cancelled. */
  isCancelled?: () => boolean;
  /** Called once per layer in graph order, as soon as that layer's map is available ('full' maps). */
  onLayer?: (map: LayerMap) => void | Promise<void>;
  /**
   * 'full' (default): every layer's full map reaches onLayer. 'none': full maps never leave the
   * execution provider; only the reductions do (onReductions), and onLayer is not called.
   */
  maps?: 'full' | 'none';
  /**
   * 'full' maps of a layer run by query blocks (its map passes memoryBudgetBytes): when given,
   * called for each block of rows in order instead of onLayer, so the whole map never sits in
   * memory (the CLI writes it to its file block by block); when absent, the blocks are joined
   * and onLayer gets the whole map.
   */
  onLayerRows?: (block: LayerRows) => void | Promise<void>;
  /** Called once per layer, right after its segment, with the statistics computed beside its map. */
  onReductions?: (r: LayerReductions) => void | Promise<void>;
  /** k of the top-k mass statistic (default 3, the panel's default). */
  topK?: number;
  /** Pool factor of layer i's block-max map when maps are 'none' (default 1: no pooled map). */
  poolFactor?: (layer: number, heads: number, queries: number, keys: number) => number;
  /** Called once, after tokenization and before the first onLayer, with the input's tokens. */
  onTokens?: (tokens: string[], ids: number[], target?: { tokens: string[]; ids: number[] }) => void;
  /** Called with a fraction in [0, 1] and a short message. */
  onProgress?: (fraction: number, message: string) => void;
  /** Log sink for one-line notes (provider fallbacks, timings). */
  log?: (line: string) => void;
  /** One-line warnings about the input (most tokens unknown), before onTokens. */
  onWarning?: (line: string) => void;
}

export interface CaptureResult {
  tokens: string[];
  ids: number[];
  /** Encoder-decoder models: the decoder's tokens (queries of cross layers; keys are `tokens`). */
  targetTokens?: string[];
  targetIds?: number[];
  layers: LayerInfo[];
  /** Segment runs of this capture (one per attention layer when the model runs as segments). */
  segmentRuns?: number;
  /** Milliseconds from the start of the capture to its first layer's map or reductions. */
  firstLayerMs?: number;
  executionProvider: string;
  providerNotes: string[];
  timings: CaptureTimings;
  cancelled: boolean;
  peakRssBytes: number;
  /**
   * Recomputes one layer's full map by re-running only its segment from the boundary
   * activations this capture kept (absent where a model cannot, e.g. layer-by-layer checkpoints).
   */
  recompute?: (layer: number) => Promise<LayerMap>;
  /**
   * Rows q0..q1-1 of one layer's map for a tile, recomputed from the kept boundaries within the
   * capture's memory budget: by query blocks of those rows only where the whole map would pass
   * it (server/capture/blockedLayers.ts), else the whole map (`head` absent, all rows).
   */
  recomputeRows?: RowsRecompute;
}

/** Rows q0..q1-1 of one head's keys k0..k1-1 (default: all keys) for a tile, and what else fits. */
export type RowsRecompute = (layer: number, head: number, q0: number, q1: number, k0?: number, k1?: number) => Promise<RecomputedRows>;

/** What recomputeRows returns: rows start..start+rows-1 of every head, or of `head` only. */
export interface RecomputedRows extends LayerRows {
  /** Set when `data` holds this head's rows only; else [heads, rows, keys]. */
  head?: number;
  /**
   * Keys firstKey..firstKey+keyCount-1 are held (all keys unless one head's rows of every key
   * would pass the memory budget): `data` is [rows, keyCount] when `head` is set.
   */
  firstKey: number;
  keyCount: number;
}

/** A model opened by the runtime: what it is, and how to run it. */
export interface OpenedModel {
  info: ModelInfo;
  /** Absolute path of the model file or folder. */
  path: string;
  capture(input: CaptureInput, options?: CaptureOptions): Promise<CaptureResult>;
  /** Whether every capture's result carries `recompute` (the model runs as segments). */
  recomputes?: boolean;
  /**
   * Whether a file the model's sessions read weights from changed on disk since it was opened
   * (server/onnx/weightReferences.ts): the runtime then opens it again instead of reusing it.
   */
  changed?(): boolean;
  dispose(): Promise<void>;
}

