/**
 * The "Models" view of the Attention Inspector activity-bar container: models found by the
 * runtime (attention/listModels: Hugging Face cache and workspace) -> layers -> heads, with
 * context menus to inspect a text, open a head in the panel and estimate attention cost. The
 * row logic lives in extension/modelTreeModel.ts (no vscode import, unit-tested).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ListModelsRequest, type DiscoveredModel } from '../protocol/runtime';
import { AttentionPanel } from './attentionPanel';
import { NO_MODELS_KEY, showPanelFor } from './firstRun';
import { log } from './log';
import { ModelTreeModel, type TreeNode } from './modelTreeModel';
import type { RuntimeContext } from './runtimeContext';
import { firstLine } from '../common/errors';

export const MODELS_VIEW = 'attentionInspector.models';

/** Asks the runtime for the models of the hub cache and the open workspace folders. */
export function listModels(runtime: RuntimeContext): Promise<DiscoveredModel[]> {
  const workspaceFolders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
  return runtime.request(ListModelsRequest.type, { workspaceFolders }).then((r) => r.models);
}

class ModelTreeProvider implements vscode.TreeDataProvider<TreeNode> {
  private readonly changed = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(readonly model: ModelTreeModel) {}

  refresh(): void {
    this.changed.fire(undefined);
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    const v = this.model.view(node);
    const item = new vscode.TreeItem(v.label, v.collapsible ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    item.id = this.model.id(node);
    item.description = v.description;
    item.tooltip = v.tooltip;
    item.contextValue = v.contextValue;
    item.iconPath = new vscode.ThemeIcon(v.icon);
    // Screen readers (and the tooltip-derived default) would otherwise read the whole tooltip.
    item.accessibilityInformation = { label: [v.label, v.description].filter(Boolean).join(', ') };
    if (node.kind === 'head') {
      item.command = { command: 'attentionInspector.openHead', title: 'Open Head in Panel', arguments: [node] };
    }
    return item;
  }

  getChildren(node?: TreeNode): TreeNode[] {
    return this.model.children(node);
  }
}

const modelPath = (node: unknown): string | undefined =>
  typeof node === 'object' && node !== null && typeof (node as { path?: unknown }).path === 'string' ? (node as { path: string }).path : undefined;

/** The handlers of the view's commands (extension/commandTable.ts). */
export interface ModelsView {
  refresh(): Promise<void>;
  /** A model row: open it, which shows the panel with its text box ready; else ask for a text. */
  inspect(node: unknown): Promise<void>;
  openHead(node: unknown): Promise<void>;
  estimate(node: unknown): Promise<void>;
}

export function registerModelTree(runtime: RuntimeContext, extensionUri: vscode.Uri): { view: ModelsView; visible: () => boolean; disposables: vscode.Disposable[] } {
  const model = new ModelTreeModel();
  const provider = new ModelTreeProvider(model);
  const view = vscode.window.createTreeView(MODELS_VIEW, { treeDataProvider: provider, showCollapseAll: true });

  const refresh = async (): Promise<void> => {
    if (!runtime.ready) {
      model.setStatus('Waiting for the runtime…');
      provider.refresh();
      return;
    }
    try {
      const found = await listModels(runtime);
      model.setDiscovered(found);
      void vscode.commands.executeCommand('setContext', NO_MODELS_KEY, found.length === 0 && !runtime.model);
    } catch (e) {
      model.setStatus(`Could not list models: ${firstLine(e)}`);
      log().warn(`listModels: ${firstLine(e)}`);
    }
    if (runtime.model) model.setOpened(runtime.model.path, runtime.model.info);
    provider.refresh();
  };

  /** Opens (or reuses) the node's model in the runtime; its layers and heads then show. */
  const open = async (p: string): Promise<boolean> => {
    if (runtime.model && path.resolve(runtime.model.path) === path.resolve(p)) return true;
    const info = await vscode.commands.executeCommand<unknown>('attentionInspector.openModel', p);
    if (!info || !runtime.model) return false;
    model.setOpened(p, runtime.model.info);
    provider.refresh();
    return true;
  };

  /** A model row: open it, which shows the panel with its text box ready; else ask for a text. */
  const inspect = async (node: unknown): Promise<void> => {
    const p = modelPath(node);
    if (p && runtime.model && path.resolve(runtime.model.path) === path.resolve(p) && AttentionPanel.current) {
      showPanelFor(extensionUri, runtime, runtime.model.info, (t) => void vscode.commands.executeCommand('attentionInspector.inspectText', t));
      return;
    }
    if (p) {
      await open(p);
      return;
    }
    await vscode.commands.executeCommand('attentionInspector.inspectText');
  };

  const openHead = async (node: unknown): Promise<void> => {
    const n = node as Extract<TreeNode, { kind: 'head' }> | undefined;
    if (!n || n.kind !== 'head') return;
    const sameModel = runtime.model && path.resolve(runtime.model.path) === path.resolve(n.path);
    if (sameModel && AttentionPanel.current) {
      AttentionPanel.show(extensionUri, runtime, (t) => void vscode.commands.executeCommand('attentionInspector.inspectText', t));
      AttentionPanel.current.selectHead(n.layer, n.head);
      return;
    }
    // No capture of this model on screen: open it (the panel waits for a text), and keep the
    // head selected for the capture to come.
    await inspect(n);
    AttentionPanel.current?.selectHead(n.layer, n.head);
  };

  const estimate = async (node: unknown): Promise<void> => {
    const p = modelPath(node);
    if (!p) return;
    // Checkpoint folders hold config.json; an ONNX file may have one beside it.
    const folder = p.toLowerCase().endsWith('.onnx') ? path.dirname(p) : p;
    await vscode.commands.executeCommand('attentionInspector.estimateCost', vscode.Uri.file(folder));
  };

  void refresh();
  const disposables = [
    view,
    // The view lists the runtime's models: showing it starts the runtime.
    view.onDidChangeVisibility((e) => void (e.visible ? runtime.ensureStarted() : undefined)),
    runtime.onReady((up) => void (up ? refresh() : undefined)),
    runtime.onCaptureStarted(() => {
      // Models opened from the palette or Browse… show their layers too.
      if (runtime.model) {
        model.setOpened(runtime.model.path, runtime.model.info);
        provider.refresh();
      }
    }),
    vscode.workspace.onDidChangeWorkspaceFolders(() => void refresh()),
  ];
  return { view: { refresh, inspect, openHead, estimate }, visible: () => view.visible, disposables };
}
