/**
 * Host of the Efficiency panel: one webview per config, fed by the runtime's
 * attention/estimateSweep and attention/measureEfficiency requests. The host keeps the
 * config's path; the webview only sees figures. Its channel (panelChannels.ts) runs on a
 * PanelHost, which answers the webview's `ready` with the initial settings.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { makeNonce } from '../common/csp';
import { panelHtml } from '../common/panelDocument';
import { efficiencyChannel, type RuntimeRequests } from './panelChannels';
import { PanelHost } from './panelHost';
import { panelLog } from './panelLog';

export type { RuntimeRequests };

export const EFFICIENCY_VIEW_TYPE = 'attentionInspector.efficiency';

export class EfficiencyPanel {
  private static readonly open = new Map<string, EfficiencyPanel>();

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

  private constructor(private readonly panel: vscode.WebviewPanel, root: vscode.Uri, runtime: RuntimeRequests, configPath: string) {
    const webview = panel.webview;
    const nonce = makeNonce();
    const script = webview.asWebviewUri(vscode.Uri.joinPath(root, 'efficiency.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(root, 'efficiency.css'));
    const host = new PanelHost(webview, efficiencyChannel(runtime, configPath), panelLog);
    // The same document and policy as the Attention panel (common/panelDocument.ts), with this bundle.
    webview.html = panelHtml({ cspSource: webview.cspSource, nonce, scriptUri: String(script), styleUri: String(style), title: 'Attention efficiency' });
    panel.onDidDispose(() => {
      host.dispose();
      EfficiencyPanel.open.delete(configPath);
    });
  }
}
