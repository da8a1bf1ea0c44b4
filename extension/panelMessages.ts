/**
 * Validation of what a webview posts. The webview runs untrusted-ish content (model token
 * strings rendered as text), so the host accepts only well-formed messages with ids and
 * numbers in range, and never anything that names a file.
 */
import type { WebviewToHost } from '../protocol/webview';
import { parseExport } from './exportMessage';
import { parseInternalsMessage } from './internalsMessages';

export const CAPTURE_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** Larger than any sequence a capture accepts; keeps numbers finite and small. */
const MAX_INDEX = 1 << 24;
const MAX_TEXT = 200_000;
const MAX_LOG = 2_000;

function isInt(v: unknown, lo: number, hi: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
}

/** The message, narrowed, or undefined when anything is off. */
export function parseWebviewMessage(raw: unknown): WebviewToHost | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const m = raw as Record<string, unknown>;
  switch (m.type) {
    case 'ready':
      return { type: 'ready' };
    case 'selectHead':
      if (!isInt(m.layer, 0, MAX_INDEX) || !isInt(m.head, 0, MAX_INDEX)) return undefined;
      return { type: 'selectHead', layer: m.layer, head: m.head };
    case 'requestTile': {
      const { requestId, captureId, layer, head, q0, q1, k0, k1 } = m;
      if (!isInt(requestId, 0, 2 ** 31 - 1) || typeof captureId !== 'string' || !CAPTURE_ID.test(captureId)) return undefined;
      if (!isInt(layer, 0, MAX_INDEX) || !isInt(head, 0, MAX_INDEX)) return undefined;
      if (!isInt(q0, 0, MAX_INDEX) || !isInt(q1, 1, MAX_INDEX) || !isInt(k0, 0, MAX_INDEX) || !isInt(k1, 1, MAX_INDEX)) return undefined;
      if (q1 <= q0 || k1 <= k0) return undefined;
      return { type: 'requestTile', requestId, captureId, layer, head, q0, q1, k0, k1 };
    }
    case 'inspect':
      if (typeof m.text !== 'string' || m.text.trim() === '' || m.text.length > MAX_TEXT) return undefined;
      return { type: 'inspect', text: m.text };
    case 'export':
      return parseExport(m);
    case 'log':
      if (m.level !== 'info' && m.level !== 'warn' && m.level !== 'error') return undefined;
      if (typeof m.message !== 'string') return undefined;
      return { type: 'log', level: m.level, message: m.message.slice(0, MAX_LOG).replace(/[\r\n]+/g, ' ') };
    case 'requestInternals':
    case 'requestCorpus':
    case 'requestAblation':
      return parseInternalsMessage(m);
    default:
      return undefined;
  }
}
