/**
 * The runtime channel: custom LSP methods between the extension (client) and the runtime
 * process (server). One namespace per message: its method name, its type, and its direction.
 * Float arrays travel as base64 of little-endian float32 (see protocol/encoding.ts): a third of
 * the bytes of a JSON number list and no precision lost.
 */
import { NotificationType, RequestType } from 'vscode-languageserver-protocol';

export type ExecutionProviderSetting = 'auto' | 'cuda' | 'dml' | 'coreml' | 'webgpu' | 'cpu';

export interface LayerInfo {
  /** Index in graph order, from 0; the same index as layer_<i>.npy. */
  index: number;
  /** 'self' for self-attention, 'cross' for decoder cross-attention (source x target). */
  kind: 'self' | 'cross';
  heads: number;
  /** Name of the graph node (Softmax or fused op) the map comes from. */
  source: string;
}

export interface ModelInfo {
  modelId: string;
  /** Display name (folder or file name); never used to address files from the webview. */
  name: string;
  format: 'onnx' | 'huggingface';
  layers: LayerInfo[];
  /** Heads of the widest layer. */
  heads: number;
  hasTokenizer: boolean;
}

export interface CaptureTimings {
  loadMs: number;
  tokenizeMs: number;
  runMs: number;
  totalMs: number;
}

export interface CaptureSummary {
  captureId: string;
  modelId: string;
  tokens: string[];
  ids: number[];
  layers: LayerInfo[];
  executionProvider: string;
  /** Why other providers were not used (one line each), for the log and the summary. */
  providerNotes: string[];
  timings: CaptureTimings;
  cancelled: boolean;
  /** Peak resident memory of the runtime during the run, bytes. */
  peakRssBytes: number;
  /**
   * Encoder-decoder models: the decoder's (target) tokens. `tokens` are then the source:
   * encoder layers are source x source, decoder self layers target x target, and 'cross'
   * layers have target queries over source keys ([heads, target, source]).
   */
  targetTokens?: string[];
  targetIds?: number[];
}

/** client -> server: load (or reuse) a model from a local path and describe it. */
export namespace OpenModelRequest {
  export const method = 'attention/openModel';
  export interface Params {
    path: string;
    executionProvider?: ExecutionProviderSetting;
  }
  export const type = new RequestType<Params, ModelInfo, void>(method);
}

/**
 * client -> server: tokenize and run a text (or ids) through an opened model. Accepts a
 * workDoneToken: the server reports per-layer progress on it, and the client's cancellation
 * ($/cancelRequest) stops the run between layers. Maps arrive as LayerNotification before
 * the response resolves.
 */
export namespace CaptureRequest {
  export const method = 'attention/capture';
  export interface Params {
    modelId: string;
    text?: string;
    ids?: number[];
    /** Encoder-decoder models: the decoder's input; default the source ids. */
    targetText?: string;
    targetIds?: number[];
    maxTokens?: number;
    executionProvider?: ExecutionProviderSetting;
    /**
     * Bound on the bytes of full maps the runtime holds for this capture (above it they spill to
     * temp files, read back for tiles); also bounds what is sent when sendBudgetBytes is absent.
     */
    memoryBudgetBytes?: number;
    /**
     * Bound on the bytes of maps sent in this capture's attention/layer notifications (the grid
     * needs thumbnails; single heads come as tiles): above it the server pools. Default
     * memoryBudgetBytes.
     */
    sendBudgetBytes?: number;
    /** Also send block means (LayerNotification.meanData) of pooled layers; default false. */
    means?: boolean;
    /**
     * Keep maps past memoryBudgetBytes in temp files. Default false: a model that runs as
     * segments keeps the boundary activations instead and recomputes one layer for its tiles.
     */
    spillMaps?: boolean;
    workDoneToken?: string | number;
    /** Optional id chosen by the client ([A-Za-z0-9_-], at most 64) so it can route the
     *  capture's notifications before the response arrives; the server makes one otherwise. */
    captureId?: string;
  }
  export const type = new RequestType<Params, CaptureSummary, void>(method);
}

/**
 * server -> client: a capture has tokenized its input; its LayerNotifications follow. Sent
 * when the engine reports its tokens before the first layer (CaptureOptions.onTokens).
 */
export namespace CaptureStartedNotification {
  export const method = 'attention/captureStarted';
  export interface Params {
    captureId: string;
    modelId: string;
    tokens: string[];
    ids: number[];
    layers: LayerInfo[];
    /** Encoder-decoder models: the decoder's tokens (see CaptureSummary.targetTokens). */
    targetTokens?: string[];
    targetIds?: number[];
    /** One-line warnings about the input, e.g. most tokens unknown to the tokenizer. */
    warnings?: string[];
  }
  export const type = new NotificationType<Params>(method);
}

/** server -> client: one attention layer of a running capture, [heads, queries, keys]. */
export namespace LayerNotification {
  export const method = 'attention/layer';
  export interface Params {
    captureId: string;
    layer: number;
    kind: 'self' | 'cross';
    heads: number;
    queries: number;
    keys: number;
    /** 1 for full resolution; b > 1 when each cell is the block max/mean of b x b cells. */
    pool: number;
    /** base64 float32 LE, C order [heads, queries/pool, keys/pool]. */
    data: string;
    /** With pool > 1 and CaptureRequest means: block means (data holds block maxima). */
    meanData?: string;
    /**
     * Per-head statistics of the full-resolution map (docs/views.md), computed by the runtime
     * beside the probabilities: exact even when `data` is pooled. topK: the k of `topk`.
     */
    stats?: HeadStatsParams;
    /**
     * base64 float32 [heads, keys]: the mass each key receives per head, the mean over query rows
     * of its column (the base of sink detection), exact at full resolution whatever `pool` is.
     */
    keyMass?: string;
    /**
     * With pool > 1: base64 float32 [queries/pool, keys/pool], the mean over heads and over each
     * block's cells of the full-resolution map (exact; what rollout multiplies for pooled maps).
     */
    blockMeans?: string;
  }
  export const type = new NotificationType<Params>(method);
}

/** One value per head for each statistic; null where no row counts (previous of one row). */
export interface HeadStatsParams {
  topK: number;
  entropy: (number | null)[];
  distance: (number | null)[];
  first: (number | null)[];
  previous: (number | null)[];
  self: (number | null)[];
  topk: (number | null)[];
}

/** client -> server: a full-resolution rectangle of one head of a finished capture. */
export namespace TileRequest {
  export const method = 'attention/tile';
  export interface Params {
    captureId: string;
    layer: number;
    head: number;
    q0: number;
    q1: number;
    k0: number;
    k1: number;
  }
  export interface Result {
    rows: number;
    cols: number;
    data: string;
  }
  export const type = new RequestType<Params, Result, void>(method);
}

/** server -> client: runtime state for the status bar. */
export namespace RuntimeStatusNotification {
  export const method = 'attention/status';
  export interface Params {
    state: 'idle' | 'loading' | 'running' | 'error';
    executionProvider?: string;
    message?: string;
  }
  export const type = new NotificationType<Params>(method);
}

/** A model found on disk by attention/listModels; open it with attention/openModel { path }. */
export interface DiscoveredModel {
  /** Absolute path to pass to attention/openModel (a snapshot folder or an .onnx file). */
  path: string;
  /** "org/name" for the Hugging Face cache; the file or folder name for the workspace. */
  name: string;
  format: 'onnx' | 'huggingface';
  source: 'hub-cache' | 'workspace';
  /** Hub cache: the snapshot's commit hash (the one refs/main names, when it exists). */
  revision?: string;
  /** Bytes of the weight files (.safetensors, or the .onnx file and its external data). */
  sizeBytes: number;
  hasTokenizer: boolean;
}

/**
 * client -> server: the models on this machine: the local Hugging Face cache (HF_HUB_CACHE,
 * HF_HOME/hub, ~/.cache/huggingface/hub) and ONNX exports / checkpoint folders under the given
 * workspace folders. Reads directory listings only; nothing is loaded.
 */
export namespace ListModelsRequest {
  export const method = 'attention/listModels';
  export interface Params {
    /** Absolute paths of the workspace folders to search. */
    workspaceFolders?: string[];
    /** false skips the Hugging Face cache (default true). */
    hubCache?: boolean;
  }
  export interface Result {
    models: DiscoveredModel[];
    /** The hub cache folder that was searched, when it exists. */
    hubCacheDir?: string;
  }
  export const type = new RequestType<Params, Result, void>(method);
}

/**
 * client -> server: what the runtime process is and holds, for "Attention: Show Runtime Info"
 * and bug reports. Answered without loading onnxruntime-node: `onnxruntimeLoaded` says whether a
 * model request has loaded it yet.
 */
export namespace RuntimeInfoRequest {
  export const method = 'attention/runtimeInfo';
  export type Params = Record<string, never>;
  export interface Result {
    runtimeVersion: string;
    nodeVersion: string;
    platform: string;
    /** The onnxruntime-node package the runtime would load (its package.json; null when absent). */
    onnxruntimeVersion: string | null;
    onnxruntimeLoaded: boolean;
    /** The execution provider of the last capture, once one ran. */
    executionProvider?: string;
    models: { modelId: string; name: string; path: string; layers: number; heads: number }[];
    pid: number;
    rssBytes: number;
    uptimeSeconds: number;
    /** GLIBC_TUNABLES the runtime started with (Linux; null when none): huge pages unless opted out. */
    glibcTunables?: string | null;
  }
  export const type = new RequestType<Params, Result, void>(method);
}
