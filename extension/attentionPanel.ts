/**
 * The WebviewPanel of the Attention panel: relays one capture's notifications
 * (extension/captureRelay.ts) and answers tile and head-internals requests through the runtime.
 * Its channel (panelChannels.ts) runs on a PanelHost, which waits for the webview's `ready` and
 * accepts only validated messages. A webview that reloads (hidden and shown again) gets the last
 * capture's messages replayed;
 * after a window reload the serializer revives the panel with the webview's own state.
 */
import * as vscode from 'vscode';
import { TileRequest, type CaptureSummary } from '../protocol/runtime';
import type { HostToWebview, PanelState, WebviewToHost } from '../protocol/webview';
import { makeNonce } from '../common/csp';
import { CaptureRelay } from './captureRelay';
import { currentCliProgram } from './cliPath';
import { saveExport } from './exportWriter';
import { answerInternals } from './internalsRelay';
import { log } from './log';
import { attentionChannel } from './panelChannels';
import { PanelHost } from './panelHost';
import { panelHtml } from './panelHtml';
import { panelLog } from './panelLog';
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
  private readonly host: PanelHost<HostToWebview, WebviewToHost>;
  private readonly relay = new CaptureRelay((m) => this.post(m));
  private readonly disposables: vscode.Disposable[] = [];
  /** A comparison (extension/sideBySideCommands.ts): capture A's messages and the compare message. */
  private comparison: { before: HostToWebview[]; compare: HostToWebview } | undefined;

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly runtime: RuntimeContext,
    private readonly onInspect: (text: string) => void,
    private state: PanelState,
  ) {
    panel.webview.options = AttentionPanel.webviewOptions(extensionUri);
    this.host = new PanelHost(panel.webview, attentionChannel({
      init: () => ({ type: 'init', state: this.state, theme: theme() }),
      replay: () => {
        const c = this.comparison;
        return c ? [...c.before, ...this.relay.replay, c.compare] : [...this.relay.replay];
      },
      knows: (captureId) => this.relay.knows(captureId),
      tile: (params) => this.runtime.request(TileRequest.type, params),
      internals: (msg) => answerInternals(msg, this.relay, this.runtime),
      selectHead: (layer, head) => (this.state = { ...this.state, selected: { layer, head } }),
      inspect: (text) => this.onInspect(text),
      export: (msg) => saveExport(msg, this.runtime.model?.path ?? this.runtime.lastModelPath ?? 'MODEL', currentCliProgram()),
      log: (level, message) => log()[level](message),
    }), panelLog);
    panel.webview.html = this.html();
    this.disposables.push(
      this.host,
      panel.onDidDispose(() => this.dispose()),
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
    this.host.post(msg);
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
