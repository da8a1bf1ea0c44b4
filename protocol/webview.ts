/**
 * The webview channel: messages between an Attention panel (browser code) and its host in the
 * extension. Discriminated unions on `type`; requests from the webview carry a `requestId` that
 * the host echoes in its reply. The webview addresses data by ids (capture, layer, head),
 * never by file path. The host posts nothing before the webview's `ready`.
 */
import type { InternalsToHost, InternalsToWebview } from './internals';
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
