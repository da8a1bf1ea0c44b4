/**
 * Validation of what the Compare webview posts (protocol/compareWebview.ts): it only says
 * `ready`; anything else is dropped, as the Attention and Efficiency panels drop malformed
 * messages (panelMessages.ts, efficiencyMessages.ts). No vscode import, so it is unit-tested.
 */
import type { CompareToHost } from '../protocol/compareWebview';

export function parseCompareMessage(raw: unknown): CompareToHost | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  return (raw as Record<string, unknown>).type === 'ready' ? { type: 'ready' } : undefined;
}
