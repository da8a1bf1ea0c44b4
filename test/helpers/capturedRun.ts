/**
 * A capture of the sample model as the panel tests feed it: the messages a host posts, the maps
 * the engine captured (the independent values the drawn pixels are checked against), and the
 * tokens' text.
 */
import type { HostToWebview } from '../../protocol/webview';
import type { LayerMap, OpenedModel } from '../../server/capture/types';
import { captureMessages } from '../../server/report/captureMessages';

export interface CapturedRun {
  text: string;
  messages: HostToWebview[];
  maps: LayerMap[];
  tokens: string[];
}

export async function captureRun(model: OpenedModel, text: string, id: string): Promise<CapturedRun> {
  const { messages, maps } = await captureMessages(model, { text }, id);
  const started = messages[0] as Extract<HostToWebview, { type: 'captureStarted' }>;
  return { text, messages, maps, tokens: started.tokens.map((t) => t.text) };
}

/** The captured weight of query q on key k in one head of a layer's map. */
export function mapWeight(m: LayerMap, head: number, q: number, k: number): number {
  return m.data[(head * m.queries + q) * m.keys + k];
}
