/**
 * Runs a capture and records what a panel host would post to the webview, in order: one
 * captureStarted, the layers as they came, captureDone. The report (htmlReport.ts) replays this
 * list, and the webview tests feed it to a real panel.
 */
import { encodeFloat32 } from '../../protocol/encoding';
import type { HostToWebview } from '../../protocol/webview';
import { panelTokens } from '../../common/panelTokens';
import type { CaptureInput, CaptureOptions, LayerMap, OpenedModel } from '../capture/types';

export async function captureMessages(
  model: OpenedModel,
  input: CaptureInput,
  captureId: string,
  options: CaptureOptions = {},
): Promise<{ messages: HostToWebview[]; maps: LayerMap[] }> {
  const maps: LayerMap[] = [];
  const layers: HostToWebview[] = [];
  const warnings: string[] = [];
  const result = await model.capture(input, {
    ...options,
    onWarning: (line) => {
      warnings.push(line);
      options.onWarning?.(line);
    },
    onLayer: async (m) => {
      maps.push(m);
      layers.push({
        type: 'layer',
        captureId,
        layer: m.index,
        heads: m.heads,
        queries: m.queries,
        keys: m.keys,
        pool: 1,
        data: encodeFloat32(m.data),
      });
      await options.onLayer?.(m);
    },
  });
  // Token ids come back with the result, so captureStarted is written first but built last.
  const started: HostToWebview = {
    type: 'captureStarted',
    captureId,
    modelName: model.info.name,
    // Encoder-decoder: the panel's tokens are the target, cross layers' keys the source.
    ...panelTokens(result),
    layers: result.layers.map((l) => ({ index: l.index, kind: l.kind, heads: l.heads })),
    ...(warnings.length ? { warnings } : {}),
  };
  const done: HostToWebview = {
    type: 'captureDone',
    captureId,
    executionProvider: result.executionProvider,
    totalMs: result.timings.totalMs,
    cancelled: result.cancelled,
  };
  return { messages: [started, ...layers, done], maps };
}
