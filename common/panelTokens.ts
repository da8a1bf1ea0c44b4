/**
 * The tokens of a capture as the Attention panel shows them, made the same way from the
 * runtime's streamed captureStarted (the extension's relay) and from a finished capture (the
 * runtime's standalone report).
 */
import type { CaptureStartedNotification } from '../protocol/runtime';
import type { TokenInfo } from '../protocol/webview';

export type RuntimeTokens = Pick<CaptureStartedNotification.Params, 'tokens' | 'ids' | 'targetTokens' | 'targetIds'>;

/**
 * The runtime names an encoder-decoder's source `tokens` and its decoder's `targetTokens`; the
 * panel's `tokens` are the queries of every decoder layer (the target) and `sourceTokens` the
 * keys of its cross layers. Decoder-only and encoder-only captures have no target.
 */
export function panelTokens(p: RuntimeTokens): { tokens: TokenInfo[]; sourceTokens?: TokenInfo[] } {
  const info = (texts: string[], ids: number[] | undefined) => texts.map((text, i) => ({ text, id: ids?.[i] ?? -1 }));
  if (!p.targetTokens) return { tokens: info(p.tokens, p.ids) };
  return { tokens: info(p.targetTokens, p.targetIds), sourceTokens: info(p.tokens, p.ids) };
}
