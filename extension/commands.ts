/**
 * The handlers of the model commands: open a model, inspect a text (cancellable, streamed into
 * the panel), open a model folder from a CodeLens, restart the runtime, show the log and the
 * runtime's info. Registered by the command table (extension/commandTable.ts). Models are not
 * loaded in Restricted Mode.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { CaptureRequest, OpenModelRequest, RuntimeInfoRequest, type ModelInfo } from '../protocol/runtime';
import { AttentionPanel } from './attentionPanel';
import { showPanelFor } from './firstRun';
import { log } from './log';
import { pickModel } from './modelPicker';
import { listModels } from './modelTree';
import { isCancellation, ReportedError, type RuntimeContext } from './runtimeContext';
import { captureLimits } from './settings';
import { firstLine } from '../common/errors';

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
      const info = await this.runtime.request(OpenModelRequest.type, (s) => ({ path, executionProvider: s.executionProvider }), { progress: `Attention: opening ${path}`, failure: 'Open Model failed' });
      this.runtime.model = { path, info };
      this.runtime.lastModelPath = path;
      log().info(`opened ${info.name}: ${info.layers.length} attention layers, ${info.heads} heads`);
      return info;
    } catch (e) {
      if (e instanceof ReportedError || isCancellation(e)) return undefined;
      throw e;
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
    try {
      const summary = await this.runtime.request(
        CaptureRequest.type,
        (s, workDoneToken) => ({ modelId: model.modelId, text, ...captureLimits(s), workDoneToken, captureId }),
        { progress: `Attention: ${model.name}`, cancellable: true, failure: 'Inspect Text failed' },
      );
      panel.finishCapture(summary);
      for (const note of summary.providerNotes) log().info(`execution provider: ${note}`);
      if (summary.cancelled) log().info(`capture ${captureId} cancelled after ${summary.layers.length} layers`);
    } catch (e) {
      if (isCancellation(e)) {
        panel.prepare(text, { focus: false, status: 'cancelled' });
        return;
      }
      panel.failCapture(firstLine(e));
      if (!(e instanceof ReportedError)) throw e;
    }
  }

  /** The config.json CodeLens "Inspect attention": opens the lens's model folder. */
  async inspectModelFolder(arg?: unknown): Promise<void> {
    const folder = typeof arg === 'string' ? arg : arg instanceof vscode.Uri && arg.scheme === 'file' ? arg.fsPath : undefined;
    if (folder) await this.openModel(folder);
  }

  async restartRuntime(): Promise<void> {
    await this.runtime.restart();
    vscode.window.setStatusBarMessage('Attention runtime restarted', 3000);
  }

  showLogs(): void {
    log().show(true);
  }

  /** Versions, execution provider, open models and memory of the runtime, in the log and a message. */
  async showRuntimeInfo(): Promise<void> {
    const info = await this.runtime.request(RuntimeInfoRequest.type, {}, { failure: 'Show Runtime Info failed' });
    const mib = (info.rssBytes / 2 ** 20).toFixed(0);
    const ort = `onnxruntime-node ${info.onnxruntimeVersion ?? 'not installed'} (${info.onnxruntimeLoaded ? 'loaded' : 'not loaded yet: no model opened'})`;
    const models = info.models.length ? info.models.map((m) => `${m.name} (${m.layers} layers, ${m.heads} heads)`).join(', ') : 'none';
    const lines = [
      `runtime ${info.runtimeVersion}, pid ${info.pid}, up ${info.uptimeSeconds} s, ${mib} MiB resident`,
      `Node ${info.nodeVersion} on ${info.platform}; ${ort}`,
      `execution provider: ${info.executionProvider ?? 'none yet (no capture ran)'}`,
      `open models: ${models}`,
      ...(info.glibcTunables !== undefined ? [`malloc: ${info.glibcTunables ? `GLIBC_TUNABLES=${info.glibcTunables}` : 'as the system sets it'}`] : []),
    ];
    for (const l of lines) log().info(l);
    const a = await vscode.window.showInformationMessage(`Attention runtime: ${lines.join(' · ')}`, 'Show Logs');
    if (a === 'Show Logs') log().show(true);
  }
}
