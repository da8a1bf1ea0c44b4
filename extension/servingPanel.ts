/**
 * The command "Simulate KV-Cache Eviction…" and the serving view's host: a webview with the
 * serving bundle, fed by the runtime's attention/kvReport for the open model (picked when there
 * is none) and a text. The host keeps the model's path; the view only sees the report. The
 * simulation starts at once; its channel (panelChannels.ts) runs on a PanelHost, which holds the
 * report until the view's `ready`.
 */
import * as vscode from 'vscode';
import { KvReportRequest } from '../protocol/serving';
import { firstLine } from '../common/errors';
import { makeNonce } from '../common/csp';
import { panelHtml } from '../common/panelDocument';
import { pickModel } from './modelPicker';
import { listModels } from './modelTree';
import { servingChannel } from './panelChannels';
import { PanelHost } from './panelHost';
import { panelLog } from './panelLog';
import type { RuntimeContext } from './runtimeContext';

export const SERVING_VIEW_TYPE = 'attentionInspector.serving';

/** "4, 8,16" -> [4, 8, 16]; undefined when any entry is not a whole number ≥ 1. */
export function parseBudgets(text: string): number[] | undefined {
  const list = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  if (list.length === 0 || list.length > 16 || list.some((b) => !Number.isInteger(b) || b < 1)) return undefined;
  return [...new Set(list)].sort((a, b) => a - b);
}

/** The command "Simulate KV-Cache Eviction…" (extension/commandTable.ts). */
export async function simulateKvCache(extensionUri: vscode.Uri, runtime: RuntimeContext): Promise<void> {
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showWarningMessage('Attention Inspector loads models only in a trusted workspace.');
    return;
  }
  const path = runtime.model?.path ?? runtime.lastModelPath ?? (await pickModel(() => listModels(runtime)));
  if (!path) return;
  const text = await vscode.window.showInputBox({ title: 'Attention: simulate KV-cache eviction', prompt: 'Text to run through the model', value: runtime.lastText ?? '', ignoreFocusOut: true });
  if (!text || !text.trim()) return;
  const budgetText = await vscode.window.showInputBox({
    title: 'Attention: cache budgets (tokens per head)',
    value: '4, 8, 16, 32',
    ignoreFocusOut: true,
    validateInput: (v) => (parseBudgets(v) ? undefined : 'comma-separated whole numbers ≥ 1 (at most 16), e.g. 4, 8, 16, 32'),
  });
  const budgets = budgetText === undefined ? undefined : parseBudgets(budgetText);
  if (!budgets) return;
  const root = vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
  const panel = vscode.window.createWebviewPanel(SERVING_VIEW_TYPE, 'KV-cache eviction', vscode.ViewColumn.Beside, {
    enableScripts: true,
    retainContextWhenHidden: true,
    localResourceRoots: [root],
  });
  const webview = panel.webview;
  const nonce = makeNonce();
  const script = webview.asWebviewUri(vscode.Uri.joinPath(root, 'serving.js'));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(root, 'serving.css'));
  const host = new PanelHost(webview, servingChannel(), panelLog);
  panel.onDidDispose(() => host.dispose());
  webview.html = panelHtml({ cspSource: webview.cspSource, nonce, scriptUri: String(script), styleUri: String(style), title: 'KV-cache eviction' });
  try {
    const report = await runtime.request(KvReportRequest.type, (s) => ({ path, text, budgets, executionProvider: s.executionProvider }), {
      progress: 'Attention: simulating KV-cache eviction (4 policies)', failure: 'KV-cache simulation failed',
    });
    host.post({ type: 'report', report });
  } catch (e) {
    host.post({ type: 'error', message: firstLine(e) });
  }
}
