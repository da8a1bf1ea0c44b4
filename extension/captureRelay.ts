/**
 * Turns one capture's runtime notifications into the panel's messages, in the order the
 * webview needs them: captureStarted (tokens and layers) first, then layers, then captureDone.
 * The engine may report tokens only with the response; layers that come before are held and
 * released behind a captureStarted made from the summary. The messages of the last capture
 * are kept for a webview that reloads. No vscode import, so it is unit-tested.
 */
import type { CaptureStartedNotification, CaptureSummary, LayerNotification } from '../protocol/runtime';
import type { HostToWebview } from '../protocol/webview';
import { panelTokens } from '../common/panelTokens';

interface Active {
  captureId: string;
  modelName: string;
  started: boolean;
  pending: LayerNotification.Params[];
}

export class CaptureRelay {
  private active: Active | undefined;
  /** Messages of the last capture, replayed to a webview that reloaded. */
  private sent: HostToWebview[] = [];
  private readonly shown = new Set<string>();
  /** Model and token ids of the captures shown, for requests that re-run their input (head internals). */
  private readonly inputs = new Map<string, { modelId: string; ids: number[] }>();

  constructor(private readonly post: (msg: HostToWebview) => void) {}

  get replay(): readonly HostToWebview[] {
    return this.sent;
  }

  /** The model and ids a shown capture ran, if the runtime reported them. */
  input(captureId: string): { modelId: string; ids: number[] } | undefined {
    return this.inputs.get(captureId);
  }

  /** Whether a capture was shown here (tiles are served only for those). */
  knows(captureId: string): boolean {
    return this.shown.has(captureId);
  }

  begin(captureId: string, modelName: string): void {
    this.active = { captureId, modelName, started: false, pending: [] };
    this.shown.add(captureId);
    this.sent = [];
  }

  started(p: CaptureStartedNotification.Params): void {
    const a = this.active;
    if (!a || a.captureId !== p.captureId || a.started) return;
    a.started = true;
    this.inputs.set(p.captureId, { modelId: p.modelId, ids: p.targetIds ?? p.ids });
    this.send({
      type: 'captureStarted', captureId: p.captureId, modelName: a.modelName, ...panelTokens(p),
      layers: p.layers.map((l) => ({ index: l.index, kind: l.kind, heads: l.heads })),
      ...(p.warnings?.length ? { warnings: p.warnings } : {}),
    });
    for (const l of a.pending.splice(0)) this.layer(l);
  }

  layer(p: LayerNotification.Params): void {
    const a = this.active;
    if (!a || a.captureId !== p.captureId) return;
    if (!a.started) {
      a.pending.push(p);
      return;
    }
    // Everything the runtime sent but the layer's kind (the panel knows it from captureStarted)
    // and host-side block means (the panel does not ask for them).
    const { kind: _kind, meanData: _meanData, ...layer } = p;
    this.send({ type: 'layer', ...layer });
  }

  finish(s: CaptureSummary): void {
    const a = this.active;
    if (!a || a.captureId !== s.captureId) return;
    if (!a.started) {
      const target = s.targetTokens ? { targetTokens: s.targetTokens, targetIds: s.targetIds } : {};
      this.started({ captureId: s.captureId, modelId: s.modelId, tokens: s.tokens, ids: s.ids, layers: s.layers, ...target });
    }
    this.send({ type: 'captureDone', captureId: s.captureId, executionProvider: s.executionProvider, totalMs: s.timings.totalMs, cancelled: s.cancelled });
    this.active = undefined;
  }

  fail(message: string): void {
    this.active = undefined;
    this.post({ type: 'error', message });
  }

  private send(msg: HostToWebview): void {
    this.sent.push(msg);
    this.post(msg);
  }
}
