/**
 * Validation of the panel's `export` message (protocol/webview.ts). The host is about to
 * write what it carries to disk, so: a plain file name whose extension matches the format (the
 * user picks the folder in a save dialog; the webview never names a path), content of the
 * declared kind, and bounded sizes. No vscode import, so it is unit-tested.
 */
import type { ExportFormat, WebviewToHost } from '../protocol/webview';

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
