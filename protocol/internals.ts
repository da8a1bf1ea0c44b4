/**
 * The head-internals channel: queries and keys as they enter the score, value-weighted norms,
 * mixing ratios, corpora of texts and head ablation. LSP requests between the extension (client)
 * and the runtime, and the Attention panel's messages to and from its host. Float arrays are
 * base64 float32 LE (protocol/encoding.ts).
 */
import { RequestType } from 'vscode-languageserver-protocol';
import { isInt, isRequestId, type MessageValidators } from '../common/messageKernel';
import type { ExecutionProviderSetting } from './runtime';

/** One attention layer's internals for one input. */
export interface LayerInternalsData {
  layer: number;
  heads: number;
  /** Tokens of the input. */
  n: number;
  dHead: number;
  /** softmax(q·kᵀ·scale + mask) is the layer's map. */
  scale: number;
  causal: boolean;
  /** Sliding-window models: each query sees its last `window` keys. */
  window?: number;
  /** base64 float32 [heads, n, dHead] (or [qkHeads.length, n, dHead]), present when asked for (qk). */
  q?: string;
  k?: string;
  /** The heads q and k hold, in order, when not all of them. */
  qkHeads?: number[];
  /** base64 float32 [heads, n]: ‖f_h(x_k)‖ per key (Kobayashi et al. 2020); absent when the graph has no output projection. */
  valueNorms?: string;
  /** base64 float32 [n]: the mixing ratio with the residual per token (Kobayashi et al. 2021). */
  mixing?: string;
  notes: string[];
}

export interface AblationData {
  metric: 'kl' | 'relL2';
  position: number;
  /** [layer][head] */
  layers: number[][];
  target: string;
  notes: string[];
}

/** client -> server: internals of some layers of a model for token ids. */
export namespace InternalsRequest {
  export const method = 'attention/internals';
  export interface Params {
    modelId: string;
    ids: number[];
    layers: number[];
    /** Also return q and k (the query–key and neuron views); without it only norms and ratios. */
    qk: boolean;
    executionProvider?: ExecutionProviderSetting;
  }
  export type Result = LayerInternalsData[];
  export const type = new RequestType<Params, Result, void>(method);
}

/** client -> server: several texts through one layer, for one joint query–key embedding. */
export namespace CorpusInternalsRequest {
  export const method = 'attention/internalsCorpus';
  export interface Params {
    modelId: string;
    texts: string[];
    layer: number;
    /** Heads whose q and k to return (default all): a corpus is large, one head is a twelfth of it. */
    heads?: number[];
    maxTokens?: number;
    executionProvider?: ExecutionProviderSetting;
  }
  export interface Result {
    texts: { tokens: string[]; data: LayerInternalsData }[];
  }
  export const type = new RequestType<Params, Result, void>(method);
}

/** client -> server: every head removed in turn. */
export namespace AblationRequest {
  export const method = 'attention/ablate';
  export interface Params {
    modelId: string;
    ids: number[];
    executionProvider?: ExecutionProviderSetting;
  }
  export type Result = AblationData;
  export const type = new RequestType<Params, Result, void>(method);
}

/** webview -> host */
export type InternalsToHost =
  | { type: 'requestInternals'; requestId: number; captureId: string; layers: number[]; qk: boolean }
  /** The host asks for a text file (one text per line) and runs it through `layer`. */
  | { type: 'requestCorpus'; requestId: number; captureId: string; layer: number; heads?: number[] }
  | { type: 'requestAblation'; requestId: number; captureId: string };

/** host -> webview */
export type InternalsToWebview =
  | { type: 'internals'; requestId: number; layers: LayerInternalsData[] }
  | { type: 'corpus'; requestId: number; name: string; texts: { tokens: string[]; data: LayerInternalsData }[] }
  | { type: 'ablation'; requestId: number; result: AblationData };

/** A capture id as the runtime makes them; the webview addresses captures by it. */
export const CAPTURE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_LAYER = 1 << 16;

function isIndexList(v: unknown): v is number[] {
  // Array.from turns the holes of a sparse array into undefined, which fails the check.
  return Array.isArray(v) && v.length <= 4096 && Array.from(v).every((l) => isInt(l, 0, MAX_LAYER));
}

/** The capture id and request id every head-internals request carries, or undefined. */
function ids(m: Record<string, unknown>): { requestId: number; captureId: string } | undefined {
  const { requestId, captureId } = m;
  return isRequestId(requestId) && typeof captureId === 'string' && CAPTURE_ID.test(captureId) ? { requestId, captureId } : undefined;
}

/**
 * Validators of the head-internals requests a webview posts: ids and layer numbers in range,
 * nothing that names a file (the corpus file is picked by the user in the host's own dialog).
 */
export const internalsToHost: MessageValidators<InternalsToHost> = {
  requestInternals: (m) => {
    const id = ids(m);
    if (!id || !isIndexList(m.layers) || m.layers.length === 0) return undefined;
    return { type: 'requestInternals', ...id, layers: [...m.layers], qk: m.qk === true };
  },
  requestCorpus: (m) => {
    const id = ids(m);
    if (!id || !isInt(m.layer, 0, MAX_LAYER) || (m.heads !== undefined && !isIndexList(m.heads))) return undefined;
    return { type: 'requestCorpus', ...id, layer: m.layer, ...(m.heads ? { heads: [...m.heads] } : {}) };
  },
  requestAblation: (m) => {
    const id = ids(m);
    return id ? { type: 'requestAblation', ...id } : undefined;
  },
};
