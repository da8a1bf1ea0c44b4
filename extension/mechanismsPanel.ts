/**
 * "Attention: Compare Attention Mechanisms…": picks a layer, a head and variants of the open
 * model, takes the text of the last inspection (editable), asks the runtime for
 * attention/compareVariants with cancellable progress, and shows the result in the Compare
 * panel (dist/webview/compare.js). The panel gets figures and maps only, never paths; its
 * channel (panelChannels.ts) runs on a PanelHost, which queues what is posted before `ready`.
 */
import * as vscode from 'vscode';
import { ListVariantsRequest } from '../protocol/catalog';
import { CompareVariantsRequest, DEFAULT_COMPARE_LENGTHS, DEFAULT_COMPARE_VARIANTS } from '../protocol/mechanisms';
import type { CompareToHost, HostToCompare } from '../protocol/mechanismsWebview';
import type { ModelInfo } from '../protocol/runtime';
import { makeNonce } from '../common/csp';
import { panelHtml } from '../common/panelDocument';
import { firstLine } from '../common/errors';
import { mechanismsChannel } from './panelChannels';
import { PanelHost } from './panelHost';
import { panelLog } from './panelLog';
import { isCancellation, ReportedError, type RuntimeContext } from './runtimeContext';

export const COMPARE_VIEW_TYPE = 'attentionInspector.compare';

class MechanismsPanel {
  private static current: MechanismsPanel | undefined;
  private readonly host: PanelHost<HostToCompare, CompareToHost>;

  static show(extensionUri: vscode.Uri): MechanismsPanel {
    if (MechanismsPanel.current) {
      MechanismsPanel.current.panel.reveal(undefined, true);
      return MechanismsPanel.current;
    }
    const root = vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
    const panel = vscode.window.createWebviewPanel(COMPARE_VIEW_TYPE, 'Compare Attention', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {
      enableScripts: true,
      retainContextWhenHidden: true,
      localResourceRoots: [root],
    });
    MechanismsPanel.current = new MechanismsPanel(panel, root);
    return MechanismsPanel.current;
  }

  private constructor(private readonly panel: vscode.WebviewPanel, root: vscode.Uri) {
    const webview = panel.webview;
    const script = webview.asWebviewUri(vscode.Uri.joinPath(root, 'compare.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(root, 'compare.css'));
    // The same document and policy as the Attention panel (common/panelDocument.ts, common/csp.ts).
    webview.html = panelHtml({ cspSource: webview.cspSource, nonce: makeNonce(), scriptUri: String(script), styleUri: String(style), title: 'Compare attention' });
    this.host = new PanelHost(webview, mechanismsChannel(), panelLog);
    panel.onDidDispose(() => {
      this.host.dispose();
      if (MechanismsPanel.current === this) MechanismsPanel.current = undefined;
    });
  }

  post(msg: HostToCompare): void {
    this.host.post(msg);
  }
}

async function pickModel(runtime: RuntimeContext): Promise<{ path: string; info: ModelInfo } | undefined> {
  if (!runtime.model) await vscode.commands.executeCommand('attentionInspector.openModel', runtime.lastModelPath);
  return runtime.model;
}

async function pickLayerAndHead(info: ModelInfo): Promise<{ layer: number; head: number } | undefined> {
  const layers = info.layers.filter((l) => l.kind === 'self');
  const layerItem = layers.length === 1
    ? { layer: layers[0] }
    : await vscode.window.showQuickPick(layers.map((l) => ({ label: `Layer ${l.index}`, description: `${l.heads} heads`, detail: l.source, layer: l })), {
      title: `Compare attention mechanisms on ${info.name}: layer`, placeHolder: 'Attention layer whose Q, K, V the variants run on',
    });
  if (!layerItem) return undefined;
  const { layer } = layerItem;
  const headItem = layer.heads === 1
    ? { head: 0 }
    : await vscode.window.showQuickPick(Array.from({ length: layer.heads }, (_, h) => ({ label: `Head ${h}`, head: h })), {
      title: `Layer ${layer.index}: head whose maps are shown side by side (metrics cover every head)`,
    });
  return headItem ? { layer: layer.index, head: headItem.head } : undefined;
}

/** The runtime's catalog (attention/listVariants): the variants it can run, with their papers. */
async function pickVariants(runtime: RuntimeContext): Promise<string[] | undefined> {
  const catalog = await runtime.request(ListVariantsRequest.type, {});
  const items = catalog.filter((v) => v.runnable).map((v) => ({ label: v.id, description: v.paper.split(',')[0], detail: v.summary, picked: DEFAULT_COMPARE_VARIANTS.includes(v.id) }));
  const picked = await vscode.window.showQuickPick(items, { canPickMany: true, title: 'Attention variants to compare with exact attention' });
  return picked && picked.length > 0 ? picked.map((p) => p.label) : undefined;
}

/** The command "Compare Attention Mechanisms…" (extension/commandTable.ts). */
export async function compareMechanisms(extensionUri: vscode.Uri, runtime: RuntimeContext): Promise<void> {
  const model = await pickModel(runtime);
  if (!model) return;
  const where = await pickLayerAndHead(model.info);
  if (!where) return;
  const variants = await pickVariants(runtime);
  if (!variants) return;
  const editor = vscode.window.activeTextEditor;
  const selection = editor && !editor.selection.isEmpty ? editor.document.getText(editor.selection) : undefined;
  const text = await vscode.window.showInputBox({
    title: `Compare attention mechanisms on ${model.info.name}`, prompt: 'Text whose layer Q, K, V the variants run on',
    value: runtime.lastText ?? selection ?? '', ignoreFocusOut: true,
  });
  if (!text || !text.trim()) return;
  const title = `${model.info.name}, layer ${where.layer}, head ${where.head}`;
  const panel = MechanismsPanel.show(extensionUri);
  panel.post({ type: 'busy', title, message: `running ${variants.length} variants…` });
  try {
    // By path: a model id dies with the runtime, the path survives a restart.
    const result = await runtime.request(
      CompareVariantsRequest.type,
      (s, workDoneToken) => ({ path: model.path, text, layer: where.layer, head: where.head, variants, seqLengths: DEFAULT_COMPARE_LENGTHS, maxTokens: s.maxTokens, executionProvider: s.executionProvider, workDoneToken }),
      { progress: `Attention: comparing mechanisms on ${model.info.name}`, cancellable: true, failure: 'Compare Attention Mechanisms failed' },
    );
    panel.post({ type: 'result', title: result.cancelled ? `${title} (cancelled)` : title, result });
  } catch (e) {
    panel.post({ type: 'error', message: firstLine(e) });
    if (!isCancellation(e) && !(e instanceof ReportedError)) throw e;
  }
}
