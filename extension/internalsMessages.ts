/**
 * Validation of the head-internals messages a webview posts (protocol/internals.ts): ids and
 * layer numbers in range, nothing that names a file (the corpus file is picked by the user in the
 * host's own dialog).
 */
import { isInt, isRequestId } from '../common/messageKernel';
import type { InternalsToHost } from '../protocol/internals';

/** A capture id as the runtime makes them; the webview addresses captures by it. */
export const CAPTURE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_LAYER = 1 << 16;

export function parseInternalsMessage(m: Record<string, unknown>): InternalsToHost | undefined {
  const { requestId, captureId } = m;
  if (!isRequestId(requestId) || typeof captureId !== 'string' || !CAPTURE_ID.test(captureId)) return undefined;
  switch (m.type) {
    case 'requestInternals': {
      const layers = m.layers;
      if (!Array.isArray(layers) || layers.length === 0 || layers.length > 4096 || !layers.every((l) => isInt(l, 0, MAX_LAYER))) return undefined;
      return { type: 'requestInternals', requestId, captureId, layers: layers as number[], qk: m.qk === true };
    }
    case 'requestCorpus': {
      if (!isInt(m.layer, 0, MAX_LAYER)) return undefined;
      const heads = m.heads;
      if (heads !== undefined && (!Array.isArray(heads) || heads.length > 4096 || !heads.every((h) => isInt(h, 0, MAX_LAYER)))) return undefined;
      return { type: 'requestCorpus', requestId, captureId, layer: m.layer, ...(heads ? { heads: heads as number[] } : {}) };
    }
    case 'requestAblation':
      return { type: 'requestAblation', requestId, captureId };
    default:
      return undefined;
  }
}
