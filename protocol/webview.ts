/**
 * The webview channel: messages between an Attention panel (browser code) and its host in the
 * extension. Discriminated unions on `type`; requests from the webview carry a `requestId` that
 * the host echoes in its reply. The webview addresses data by ids (capture, layer, head),
 * never by file path. The host posts nothing before the webview's `ready`.
 */

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
    }
  | {
      type: 'captureDone';
      captureId: string;
      executionProvider: string;
      totalMs: number;
      cancelled: boolean;
    }
  | { type: 'tile'; requestId: number; rows: number; cols: number; data: string }
  | { type: 'error'; requestId?: number; message: string };

/** webview -> host */
export type WebviewToHost =
  | { type: 'ready' }
  | { type: 'selectHead'; layer: number; head: number }
  | {
      type: 'requestTile';
      requestId: number;
      captureId: string;
      layer: number;
      head: number;
      q0: number;
      q1: number;
      k0: number;
      k1: number;
    }
  | { type: 'inspect'; text: string }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };
