/**
 * The webview channel: messages between an Attention panel (browser code) and its host in the
 * extension. Discriminated unions on `type`; requests from the webview carry a `requestId` that
 * the host echoes in its reply. The webview addresses data by ids (capture, layer, head),
 * never by file path. The host posts nothing before the webview's `ready`. The validators of
 * what the webview posts stand beside the types (common/messageKernel.ts): the webview runs
 * untrusted-ish content (model token strings rendered as text), so the host accepts only
 * well-formed messages with ids and numbers in range, and never anything that names a file.
 */
import { isInt, isRequestId, messageParser, type MessageValidators } from '../common/messageKernel';
import { CAPTURE_ID, internalsToHost, type InternalsToHost, type InternalsToWebview } from './internals';
import type { HeadStatsParams, TileRequest } from './runtime';

export interface TokenInfo {
  text: string;
  id: number;
}

/** State the webview keeps with setState, so a window reload restores the panel. */
export interface PanelState {
  captureId?: string;
  modelName?: string;
  selected?: { layer: number; head: number };
  text?: string;
  /** Colour scale of every view, and whether thumbnails share one scale or each head has its own. */
  scale?: 'viridis' | 'cividis' | 'greys';
  colorMode?: 'shared' | 'perHead';
  /** Thumbnail side in px ('auto': fit the width). */
  thumbSize?: string;
}

/** host -> webview */
export type HostToWebview =
  | { type: 'init'; state: PanelState; theme: 'light' | 'dark' | 'high-contrast' }
  | {
      type: 'captureStarted';
      captureId: string;
      modelName: string;
      tokens: TokenInfo[];
      layers: { index: number; kind: 'self' | 'cross'; heads: number }[];
      /**
       * Encoder-decoder models: the source (encoder) tokens, the keys of 'cross' layers, whose
       * queries are `tokens` (the target). Absent for decoder-only and encoder-only models.
       */
      sourceTokens?: TokenInfo[];
      /** One-line warnings about the input (most tokens unknown), shown above the grid. */
      warnings?: string[];
    }
  | {
      type: 'layer';
      captureId: string;
      layer: number;
      heads: number;
      queries: number;
      keys: number;
      pool: number;
      /** base64 float32 LE [heads, queries/pool, keys/pool] (protocol/encoding.ts). */
      data: string;
      /** Per-head statistics of the full-resolution map, from the runtime (exact when pooled). */
      stats?: HeadStatsParams;
      /** base64 float32 [heads, keys]: mean over query rows of each key's column, per head (exact). */
      keyMass?: string;
      /** base64 float32 [rows, cols] with pool > 1: mean over heads and block cells of the full map (exact). */
      blockMeans?: string;
    }
  | {
      type: 'captureDone';
      captureId: string;
      executionProvider: string;
      totalMs: number;
      cancelled: boolean;
    }
  | { type: 'tile'; requestId: number; rows: number; cols: number; data: string }
  /** The side panel's "Open Head in Panel": select this head (kept if the capture has it). */
  | { type: 'selectHead'; layer: number; head: number }
  | { type: 'error'; requestId?: number; message: string }
  /**
   * The panel's text box and status for what comes next: a model was just opened (focus the box,
   * prefilled), a capture begins with this text (the box shows it), or an inspection was cancelled
   * before it started (`status` says so; a capture that has no layer yet is cleared).
   */
  | { type: 'prepare'; text: string; modelName?: string; focus: boolean; status?: string }
  /**
   * Side by side: two captures already posted to this panel (two texts, or one text through
   * two checkpoints of one architecture), shown as A, B and A − B for the selected head.
   */
  | { type: 'compare'; a: CompareSide; b: CompareSide }
  /** Queries, keys, value-weighted norms, corpora and ablation (protocol/internals.ts). */
  | InternalsToWebview;

export interface CompareSide {
  captureId: string;
  /** What the side is: the text's start, or the checkpoint's name. */
  label: string;
}

/**
 * What an export carries, by format: 'png' a data:image/png;base64 URL, 'svg' the SVG text,
 * 'csv' the CSV text, 'npy' base64 float32 LE values of `shape` (the host encodes the .npy),
 * 'snippet' the inspected text (the host builds the CLI command with the model's path and
 * copies it to the clipboard).
 */
export type ExportFormat = 'png' | 'svg' | 'csv' | 'npy' | 'snippet';

/** webview -> host */
export type WebviewToHost =
  | { type: 'ready' }
  | { type: 'selectHead'; layer: number; head: number }
  /** A full-resolution rectangle of one head (the runtime's attention/tile), answered by `tile`. */
  | ({ type: 'requestTile'; requestId: number } & TileRequest.Params)
  | { type: 'inspect'; text: string }
  /** Save a plot or the current map: the host asks where (showSaveDialog) and writes it. */
  | { type: 'export'; format: ExportFormat; name: string; data: string; shape?: number[] }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  | InternalsToHost;

/** Larger than any sequence a capture accepts; keeps numbers finite and small. */
const MAX_INDEX = 1 << 24;
const MAX_TEXT = 200_000;
const MAX_LOG = 2_000;

export const attentionToHost: MessageValidators<WebviewToHost> = {
  ready: () => ({ type: 'ready' }),
  selectHead: (m) => (isInt(m.layer, 0, MAX_INDEX) && isInt(m.head, 0, MAX_INDEX) ? { type: 'selectHead', layer: m.layer, head: m.head } : undefined),
  requestTile: (m) => {
    const { requestId, captureId, layer, head, q0, q1, k0, k1 } = m;
    if (!isRequestId(requestId) || typeof captureId !== 'string' || !CAPTURE_ID.test(captureId)) return undefined;
    if (!isInt(layer, 0, MAX_INDEX) || !isInt(head, 0, MAX_INDEX)) return undefined;
    if (!isInt(q0, 0, MAX_INDEX) || !isInt(q1, 1, MAX_INDEX) || !isInt(k0, 0, MAX_INDEX) || !isInt(k1, 1, MAX_INDEX)) return undefined;
    if (q1 <= q0 || k1 <= k0) return undefined;
    return { type: 'requestTile', requestId, captureId, layer, head, q0, q1, k0, k1 };
  },
  inspect: (m) => (typeof m.text !== 'string' || m.text.trim() === '' || m.text.length > MAX_TEXT ? undefined : { type: 'inspect', text: m.text }),
  export: (m) => parseExport(m),
  log: (m) => {
    if (m.level !== 'info' && m.level !== 'warn' && m.level !== 'error') return undefined;
    if (typeof m.message !== 'string') return undefined;
    return { type: 'log', level: m.level, message: m.message.slice(0, MAX_LOG).replace(/[\r\n]+/g, ' ') };
  },
  ...internalsToHost,
};

/** The message, narrowed, or undefined when anything is off. */
export const parseWebviewMessage = messageParser(attentionToHost);

/*
 * The `export` message: the host is about to write what it carries to disk, so a plain file name
 * whose extension matches the format (the user picks the folder in a save dialog; the webview
 * never names a path), content of the declared kind, and bounded sizes.
 */
type ExportMessage = Extract<WebviewToHost, { type: 'export' }>;

const EXTENSION: Record<ExportFormat, string> = { png: 'png', svg: 'svg', csv: 'csv', npy: 'npy', snippet: 'sh' };
/** A base name with no folder part, no leading dot, no odd characters. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$/;
/** Plots and maps of the longest inputs stay well under this; a larger message is refused. */
export const MAX_EXPORT_CHARS = 256 * 1024 * 1024;
const MAX_SNIPPET_TEXT = 200_000;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const PNG_PREFIX = 'data:image/png;base64,';

function base64Bytes(s: string): number {
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  return (s.length / 4) * 3 - pad;
}

function isFormat(v: unknown): v is ExportFormat {
  return typeof v === 'string' && Object.hasOwn(EXTENSION, v);
}

export function parseExport(m: Record<string, unknown>): ExportMessage | undefined {
  const { format, name, data, shape } = m;
  if (!isFormat(format) || typeof name !== 'string' || typeof data !== 'string') return undefined;
  if (!FILE_NAME.test(name) || !name.endsWith(`.${EXTENSION[format]}`) || data.length > MAX_EXPORT_CHARS) return undefined;
  switch (format) {
    case 'png': {
      const b64 = data.slice(PNG_PREFIX.length);
      if (!data.startsWith(PNG_PREFIX) || b64.length % 4 !== 0 || !BASE64.test(b64)) return undefined;
      return { type: 'export', format, name, data };
    }
    case 'svg':
      if (!/^\s*(<\?xml[^>]*>\s*)?<svg[\s>]/.test(data)) return undefined;
      return { type: 'export', format, name, data };
    case 'csv':
      return { type: 'export', format, name, data };
    case 'npy': {
      if (!Array.isArray(shape) || shape.length < 1 || shape.length > 4) return undefined;
      if (!shape.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 1 && d <= 1 << 24)) return undefined;
      const count = (shape as number[]).reduce((a, b) => a * b, 1);
      if (data.length % 4 !== 0 || !BASE64.test(data) || base64Bytes(data) !== count * 4) return undefined;
      return { type: 'export', format, name, data, shape: [...(shape as number[])] };
    }
    case 'snippet':
      if (data.trim() === '' || data.length > MAX_SNIPPET_TEXT) return undefined;
      return { type: 'export', format, name, data };
  }
}
