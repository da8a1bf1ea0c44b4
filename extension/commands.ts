/**
 * The palette commands: open a model, inspect a text (cancellable, streamed into the panel),
 * restart the runtime, show the log. Models are not loaded in Restricted Mode.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { WorkDoneProgress } from 'vscode-languageclient/node';
import { CaptureRequest, OpenModelRequest, type ExecutionProviderSetting, type ModelInfo } from '../protocol/runtime';
import { AttentionPanel } from './attentionPanel';
import { showPanelFor } from './firstRun';
import { firstLine, log, showError } from './log';
import { pickModel } from './modelPicker';
import { listModels } from './modelTree';
import type { RuntimeContext } from './runtimeContext';

interface Settings {
  executionProvider: ExecutionProviderSetting;
  maxTokens: number;
  memoryBudgetBytes: number;
  sendBudgetBytes: number;
}

function settings(): Settings {
  const c = vscode.workspace.getConfiguration('attentionInspector');
  return {
    executionProvider: c.get<ExecutionProviderSetting>('executionProvider', 'auto'),
    maxTokens: Math.max(1, Math.floor(c.get<number>('maxTokens', 4096))),
    memoryBudgetBytes: Math.max(16, c.get<number>('memoryBudgetMB', 512)) * 1024 * 1024,
    sendBudgetBytes: Math.max(1, c.get<number>('sendBudgetMB', 32)) * 1024 * 1024,
  };
}

/** In Restricted Mode no model is loaded: a model file can carry arbitrary ops and data. */
async function requireTrust(): Promise<boolean> {
  if (vscode.workspace.isTrusted) return true;
  const a = await vscode.window.showWarningMessage('Attention Inspector loads models only in a trusted workspace.', 'Manage Workspace Trust');
  if (a === 'Manage Workspace Trust') void vscode.commands.executeCommand('workbench.trust.manage');
  return false;
}

export class Commands {
  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly runtime: RuntimeContext,
  ) {}

  register(): vscode.Disposable[] {
    return [
      // A second argument { panel: false } opens the model without showing the panel (compare flows).
      vscode.commands.registerCommand('attentionInspector.openModel', (path?: unknown, opts?: unknown) =>
        this.openModel(typeof path === 'string' ? path : undefined, (opts as { panel?: unknown } | undefined)?.panel !== false),
      ),
      vscode.commands.registerCommand('attentionInspector.inspectText', (text?: unknown) => this.inspectText(typeof text === 'string' ? text : undefined)),
      vscode.commands.registerCommand('attentionInspector.restartRuntime', () => this.restart()),
      vscode.commands.registerCommand('attentionInspector.showLogs', () => log().show(true)),
    ];
  }

  /** Opens a model and, unless `panel` is false, shows the panel ready for its first text. */
  async openModel(path?: string, panel = true): Promise<ModelInfo | undefined> {
    if (!(await requireTrust())) return undefined;
    const chosen = path ?? (await pickModel(() => listModels(this.runtime)));
    if (!chosen) return undefined;
    const info = await this.load(chosen);
    if (info && panel) showPanelFor(this.extensionUri, this.runtime, info, (t) => void this.inspectText(t));
    return info;
  }

  private async load(path: string): Promise<ModelInfo | undefined> {
    try {
      const info = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Attention: opening ${path}` },
        () => this.runtime.running.sendRequest(OpenModelRequest.type, { path, executionProvider: settings().executionProvider }),
      );
      this.runtime.model = { path, info };
      this.runtime.lastModelPath = path;
      log().info(`opened ${info.name}: ${info.layers.length} attention layers, ${info.heads} heads`);
      return info;
    } catch (e) {
      await showError('Open Model failed', e);
      return undefined;
    }
  }

  /** The open model; reopened after a runtime restart, picked when there is none yet. */
  private async currentModel(): Promise<ModelInfo | undefined> {
    if (this.runtime.model) return this.runtime.model.info;
    if (!(await requireTrust())) return undefined;
    if (this.runtime.lastModelPath) return this.load(this.runtime.lastModelPath);
    return this.openModel(undefined, false);
  }

  async inspectText(given?: string): Promise<void> {
    const model = await this.currentModel();
    if (!model) return;
    const editor = vscode.window.activeTextEditor;
    const selection = editor && !editor.selection.isEmpty ? editor.document.getText(editor.selection) : undefined;
    const text = given ?? (await vscode.window.showInputBox({ title: `Attention: inspect a text with ${model.name}`, prompt: 'Text to run through the model', value: selection ?? '', ignoreFocusOut: true }));
    if (!text || !text.trim()) return;
    this.runtime.lastText = text;
    const panel = AttentionPanel.show(this.extensionUri, this.runtime, (t) => void this.inspectText(t));
    const captureId = `x${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    panel.beginCapture(captureId, model.name, text);
    const s = settings();
    try {
      const summary = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Attention: ${model.name}`, cancellable: true },
        async (progress, token) => {
          const client = this.runtime.running;
          const workDoneToken = `attention-${captureId}`;
          let last = 0;
          const sub = client.onProgress(WorkDoneProgress.type, workDoneToken, (p) => {
            if (p.kind === 'end') return;
            const pct = p.percentage ?? last;
            progress.report({ message: p.message, increment: Math.max(0, pct - last) });
            last = pct;
          });
          try {
            return await client.sendRequest(
              CaptureRequest.type,
              { modelId: model.modelId, text, maxTokens: s.maxTokens, executionProvider: s.executionProvider, memoryBudgetBytes: s.memoryBudgetBytes, sendBudgetBytes: s.sendBudgetBytes, workDoneToken, captureId },
              token,
            );
          } finally {
            sub.dispose();
          }
        },
      );
      panel.finishCapture(summary);
      for (const note of summary.providerNotes) log().info(`execution provider: ${note}`);
      if (summary.cancelled) log().info(`capture ${captureId} cancelled after ${summary.layers.length} layers`);
    } catch (e) {
      // -32800: the request was cancelled before the runtime saw it; nothing to report.
      if (e instanceof vscode.CancellationError || (e as { code?: unknown }).code === -32800) {
        panel.prepare(text, { focus: false, status: 'cancelled' });
        return;
      }
      panel.failCapture(firstLine(e));
      await showError('Inspect Text failed', e);
    }
  }

  private async restart(): Promise<void> {
    try {
      await this.runtime.restart();
      vscode.window.setStatusBarMessage('Attention runtime restarted', 3000);
    } catch (e) {
      await showError('Restart Runtime failed', e);
    }
  }
}
