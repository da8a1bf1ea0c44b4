/**
 * The WebviewPanel host of the Attention panel. Waits for the webview's `ready` before posting,
 * relays one capture's notifications (extension/captureRelay.ts), answers tile requests
 * through the runtime, and accepts only validated messages. A webview that reloads (hidden and
 * shown again) gets the last capture's messages replayed;
 * after a window reload the serializer revives the panel with the webview's own state.
 */
import * as vscode from 'vscode';
import { TileRequest, type CaptureSummary } from '../protocol/runtime';
import type { HostToWebview, PanelState } from '../protocol/webview';
import { makeNonce } from '../webview/csp';
import { CaptureRelay } from './captureRelay';
import { currentCliProgram } from './cliPath';
import { saveExport } from './exportWriter';
import { answerInternals } from './internalsRelay';
import { firstLine, log } from './log';
import { panelHtml } from './panelHtml';
import { parseWebviewMessage } from './panelMessages';
import type { RuntimeContext } from './runtimeContext';

export const PANEL_VIEW_TYPE = 'attentionInspector.panel';

function theme(): 'light' | 'dark' | 'high-contrast' {
  const k = vscode.window.activeColorTheme.kind;
  if (k === vscode.ColorThemeKind.Light) return 'light';
  if (k === vscode.ColorThemeKind.HighContrast || k === vscode.ColorThemeKind.HighContrastLight) return 'high-contrast';
  return 'dark';
}

export class AttentionPanel implements vscode.Disposable {
  static current: AttentionPanel | undefined;
  private ready = false;
  private readonly queue: HostToWebview[] = [];
  private readonly relay = new CaptureRelay((m) => this.post(m));
  private readonly disposables: vscode.Disposable[] = [];
  /** A comparison (extension/compareCommands.ts): capture A's messages and the compare message. */
  private comparison: { before: HostToWebview[]; compare: HostToWebview } | undefined;

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly runtime: RuntimeContext,
    private readonly onInspect: (text: string) => void,
    private state: PanelState,
  ) {
    panel.webview.options = AttentionPanel.webviewOptions(extensionUri);
    panel.webview.html = this.html();
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m) => this.receive(m)),
      runtime.onLayer((p) => this.relay.layer(p)),
      runtime.onCaptureStarted((p) => this.relay.started(p)),
    );
  }

  static webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
    return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview')] };
  }

  /** `focus`: the panel takes the keyboard (a model was just opened: its text box is next). */
  static show(extensionUri: vscode.Uri, runtime: RuntimeContext, onInspect: (text: string) => void, focus = false): AttentionPanel {
    if (AttentionPanel.current) {
      AttentionPanel.current.panel.reveal(undefined, !focus);
      return AttentionPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(PANEL_VIEW_TYPE, 'Attention', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: !focus }, AttentionPanel.webviewOptions(extensionUri));
    AttentionPanel.current = new AttentionPanel(panel, extensionUri, runtime, onInspect, {});
    return AttentionPanel.current;
  }

  static revive(panel: vscode.WebviewPanel, state: unknown, extensionUri: vscode.Uri, runtime: RuntimeContext, onInspect: (text: string) => void): void {
    AttentionPanel.current?.dispose();
    const s = typeof state === 'object' && state !== null ? (state as PanelState) : {};
    AttentionPanel.current = new AttentionPanel(panel, extensionUri, runtime, onInspect, s);
  }

  private html(): string {
    const webview = this.panel.webview;
    const dist = vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview');
    this.ready = false;
    return panelHtml({
      cspSource: webview.cspSource,
      nonce: makeNonce(),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'panel.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'panel.css')).toString(),
    });
  }

  /** A new capture takes over the panel; its notifications are relayed from now on. */
  beginCapture(captureId: string, modelName: string, text?: string): void {
    this.relay.begin(captureId, modelName);
    this.comparison = undefined;
    if (text !== undefined) this.state = { ...this.state, text };
    this.panel.title = `Attention: ${modelName}`;
    // The text box shows the text being inspected (after a comparison: side B's).
    if (text !== undefined) this.post({ type: 'prepare', text, focus: false });
  }

  /** The text box prefilled (and focused) for the next inspection; `status` after a cancel. */
  prepare(text: string, opts: { modelName?: string; focus: boolean; status?: string }): void {
    this.state = { ...this.state, text };
    if (opts.modelName) this.panel.title = `Attention: ${opts.modelName}`;
    this.post({ type: 'prepare', text, ...opts });
  }

  /** Selects a head (side panel tree); remembered for the next capture if none is shown. */
  selectHead(layer: number, head: number): void {
    this.state = { ...this.state, selected: { layer, head } };
    this.post({ type: 'selectHead', layer, head });
  }

  /** The messages of the capture shown last (a comparison keeps those of its side A). */
  get lastCapture(): readonly HostToWebview[] {
    return this.relay.replay;
  }

  /** Shows A, B and A − B; `before` is capture A's messages, B is the capture shown last. */
  showComparison(before: readonly HostToWebview[], compare: Extract<HostToWebview, { type: 'compare' }>): void {
    this.comparison = { before: [...before], compare };
    this.post(compare);
  }

  finishCapture(summary: CaptureSummary): void {
    this.relay.finish(summary);
  }

  failCapture(message: string): void {
    this.relay.fail(message);
  }

  private post(msg: HostToWebview): void {
    if (!this.ready) {
      this.queue.push(msg);
      return;
    }
    void this.panel.webview.postMessage(msg);
  }

  private receive(raw: unknown): void {
    const msg = parseWebviewMessage(raw);
    if (!msg) {
      log().warn(`panel: ignored a malformed message (${typeof raw === 'object' && raw ? String((raw as { type?: unknown }).type) : typeof raw})`);
      return;
    }
    switch (msg.type) {
      case 'ready': {
        const reload = this.ready || this.queue.length === 0;
        this.ready = true;
        void this.panel.webview.postMessage({ type: 'init', state: this.state, theme: theme() } satisfies HostToWebview);
        // A webview that reloaded lost everything; one that just came up has it all queued.
        const c = this.comparison;
        const backlog = reload ? (c ? [...c.before, ...this.relay.replay, c.compare] : [...this.relay.replay]) : this.queue.splice(0);
        this.queue.length = 0;
        for (const m of backlog) void this.panel.webview.postMessage(m);
        return;
      }
      case 'selectHead':
        this.state = { ...this.state, selected: { layer: msg.layer, head: msg.head } };
        return;
      case 'requestTile':
        void this.tile(msg);
        return;
      case 'inspect':
        this.onInspect(msg.text);
        return;
      case 'export':
        void saveExport(msg, this.runtime.model?.path ?? this.runtime.lastModelPath ?? 'MODEL', currentCliProgram());
        return;
      case 'log':
        log()[msg.level](`panel: ${msg.message}`);
        return;
      case 'requestInternals':
      case 'requestCorpus':
      case 'requestAblation':
        void answerInternals(msg, this.relay, this.runtime, (m) => this.post(m));
        return;
    }
  }

  private async tile(msg: Extract<ReturnType<typeof parseWebviewMessage>, { type: 'requestTile' }>): Promise<void> {
    if (!this.relay.knows(msg.captureId)) {
      this.post({ type: 'error', requestId: msg.requestId, message: `capture ${msg.captureId} was not shown in this panel` });
      return;
    }
    try {
      const { requestId: _r, type: _t, ...params } = msg;
      const tile = await this.runtime.running.sendRequest(TileRequest.type, params);
      this.post({ type: 'tile', requestId: msg.requestId, rows: tile.rows, cols: tile.cols, data: tile.data });
    } catch (e) {
      this.post({ type: 'error', requestId: msg.requestId, message: firstLine(e) });
    }
  }

  dispose(): void {
    if (AttentionPanel.current === this) AttentionPanel.current = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }
}

export function registerPanelSerializer(extensionUri: vscode.Uri, runtime: RuntimeContext, onInspect: (text: string) => void): vscode.Disposable {
  return vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, {
    async deserializeWebviewPanel(panel, state) {
      AttentionPanel.revive(panel, state, extensionUri, runtime, onInspect);
    },
  });
}
