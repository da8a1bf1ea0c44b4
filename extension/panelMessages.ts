/**
 * The validators of what the Attention panel's webview posts (protocol/webview.ts), one per
 * message type (common/messageKernel.ts). The webview runs untrusted-ish content (model token
 * strings rendered as text), so the host accepts only well-formed messages with ids and
 * numbers in range, and never anything that names a file. Export and head-internals messages
 * have their own checks (exportMessage.ts, internalsMessages.ts).
 */
import { isInt, isRequestId, messageParser, type MessageValidators } from '../common/messageKernel';
import type { WebviewToHost } from '../protocol/webview';
import { parseExport } from './exportMessage';
import { CAPTURE_ID, parseInternalsMessage } from './internalsMessages';

export { CAPTURE_ID };
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
  requestInternals: (m) => narrow(parseInternalsMessage(m), 'requestInternals'),
  requestCorpus: (m) => narrow(parseInternalsMessage(m), 'requestCorpus'),
  requestAblation: (m) => narrow(parseInternalsMessage(m), 'requestAblation'),
};

function narrow<K extends WebviewToHost['type']>(m: WebviewToHost | undefined, type: K): Extract<WebviewToHost, { type: K }> | undefined {
  return m?.type === type ? (m as Extract<WebviewToHost, { type: K }>) : undefined;
}

/** The message, narrowed, or undefined when anything is off. */
export const parseWebviewMessage = messageParser(attentionToHost);
