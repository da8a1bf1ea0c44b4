/**
 * Host of the Efficiency panel: one webview per config, fed by the runtime's
 * attention/estimateSweep and attention/measureEfficiency requests. The host keeps the
 * config's path; the webview only sees figures. Nothing is posted before the webview's `ready`.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EstimateSweepRequest, HardwareProfilesRequest, MeasureEfficiencyRequest } from '../protocol/efficiency';
import type { EfficiencySettings, EfficiencyToHost, HostToEfficiency } from '../protocol/efficiencyWebview';
import { checkMeasureSizes, checkSweepSizes } from '../server/efficiency/requestSizes';
import { makeNonce } from '../webview/csp';
import { parseEfficiencyMessage } from './efficiencyMessages';
import { panelHtml } from '../webview/panelHtml';
import type { RuntimeContext } from './runtimeContext';

/** What the panel needs from the runtime context (extension/runtimeContext.ts): typed requests. */
export type RuntimeRequests = Pick<RuntimeContext, 'request'>;

export const EFFICIENCY_VIEW_TYPE = 'attentionInspector.efficiency';

export class EfficiencyPanel {
  private static readonly open = new Map<string, EfficiencyPanel>();
  private ready = false;

  static show(context: vscode.ExtensionContext, runtime: RuntimeRequests, configPath: string): void {
    const existing = EfficiencyPanel.open.get(configPath);
    if (existing) {
      existing.panel.reveal();
      return;
    }
    const root = vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview');
    const title = `Efficiency: ${path.basename(path.dirname(configPath))}`;
    const panel = vscode.window.createWebviewPanel(EFFICIENCY_VIEW_TYPE, title, vscode.ViewColumn.Beside, {
      enableScripts: true,
      retainContextWhenHidden: true,
      localResourceRoots: [root],
    });
    EfficiencyPanel.open.set(configPath, new EfficiencyPanel(panel, root, runtime, configPath));
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    root: vscode.Uri,
    private readonly runtime: RuntimeRequests,
    private readonly configPath: string,
  ) {
    const webview = panel.webview;
    const nonce = makeNonce();
    const script = webview.asWebviewUri(vscode.Uri.joinPath(root, 'efficiency.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(root, 'efficiency.css'));
    // The same document and policy as the Attention panel (webview/panelHtml.ts), with this bundle.
    webview.html = panelHtml({ cspSource: webview.cspSource, nonce, scriptUri: String(script), styleUri: String(style), title: 'Attention efficiency' });
    webview.onDidReceiveMessage((raw: unknown) => {
      // Only well-formed messages with values in range reach the runtime (efficiencyMessages.ts).
      const m = parseEfficiencyMessage(raw);
      if (m) void this.onMessage(m);
      else this.post({ type: 'error', message: 'ignored a malformed message from the Efficiency panel' });
    });
    panel.onDidDispose(() => EfficiencyPanel.open.delete(configPath));
  }

  private post(msg: HostToEfficiency): void {
    if (this.ready) void this.panel.webview.postMessage(msg);
  }

  private async onMessage(m: EfficiencyToHost): Promise<void> {
    try {
      if (m.type === 'ready') {
        this.ready = true;
        const profiles = await this.runtime.request(HardwareProfilesRequest.type, { includeLocal: false });
        const probe = await this.runtime.request(EstimateSweepRequest.type, { configPath: this.configPath, seqs: [128], tableSeq: 128 });
        // The same precision as the config.json hover (server/efficiency/dtypeChoice.ts).
        const settings: EfficiencySettings = { batch: 1, dtype: probe.dtype ?? 'fp32', hardware: profiles[0]?.id ?? 'h100-sxm', decode: false, tableSeq: probe.maxPositions ?? 4096 };
        const hardware = [...profiles.map((p) => ({ id: p.id, name: p.name })), { id: 'local', name: 'This machine (measured)' }];
        this.post({ type: 'init', modelName: probe.modelName, maxPositions: probe.maxPositions, hardware, settings });
      } else if (m.type === 'settings') {
        const s = m.settings;
        // Sizes from the webview are checked here, before they reach the runtime.
        checkSweepSizes({ tableSeq: s?.tableSeq, batch: s?.batch }, 'Efficiency panel');
        const r = await this.runtime.request(EstimateSweepRequest.type, {
          configPath: this.configPath, tableSeq: s.tableSeq, batch: s.batch, dtype: s.dtype, hardware: s.hardware, decode: s.decode,
        });
        this.post({ type: 'curves', settings: s, curves: r.curves });
      } else if (m.type === 'measure') {
        checkMeasureSizes({ seqs: m.seqs }, 'Efficiency panel');
        const r = await this.runtime.request(MeasureEfficiencyRequest.type, { configPath: this.configPath, seqs: m.seqs }, { progress: 'Attention Inspector: measuring attention on this machine' });
        this.post({ type: 'measured', hardwareName: r.hardware, rows: r.points });
      }
    } catch (e) {
      this.post({ type: 'error', message: e instanceof Error ? e.message : String(e) });
    }
  }
}
