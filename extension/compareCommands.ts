/**
 * "Attention: Compare Two Texts…" and "Attention: Compare Two Checkpoints…": two captures
 * streamed into the Attention panel one after the other, then a `compare` message that puts it
 * in its side-by-side mode (A, B and A − B of the selected head; webview/views/compareView.ts).
 * Two checkpoints must share the architecture (same layers and heads) to be compared head by
 * head; texts of different lengths are compared over their common prefix by the panel.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { CaptureRequest, OpenModelRequest, type ExecutionProviderSetting, type ModelInfo } from '../protocol/runtime';
import type { HostToWebview } from '../protocol/webview';
import { AttentionPanel } from './attentionPanel';
import { architectureMismatch, textLabel } from './compareCheck';
import { firstLine, showError } from './log';
import { pickModel } from './modelPicker';
import type { RuntimeContext } from './runtimeContext';

function settings(): { executionProvider: ExecutionProviderSetting; maxTokens: number; memoryBudgetBytes: number; sendBudgetBytes: number } {
  const c = vscode.workspace.getConfiguration('attentionInspector');
  return {
    executionProvider: c.get<ExecutionProviderSetting>('executionProvider', 'auto'),
    maxTokens: Math.max(1, Math.floor(c.get<number>('maxTokens', 4096))),
    memoryBudgetBytes: Math.max(16, c.get<number>('memoryBudgetMB', 512)) * 1024 * 1024,
    sendBudgetBytes: Math.max(1, c.get<number>('sendBudgetMB', 32)) * 1024 * 1024,
  };
}

interface Side {
  model: ModelInfo;
  text: string;
  label: string;
}

export class CompareCommands {
  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly runtime: RuntimeContext,
  ) {}

  register(): vscode.Disposable[] {
    return [
      vscode.commands.registerCommand('attentionInspector.compareTexts', () => this.compareTexts()),
      vscode.commands.registerCommand('attentionInspector.compareCheckpoints', () => this.compareCheckpoints()),
    ];
  }

  private async currentModel(): Promise<ModelInfo | undefined> {
    if (this.runtime.model) return this.runtime.model.info;
    return vscode.commands.executeCommand<ModelInfo | undefined>('attentionInspector.openModel');
  }

  private async askText(title: string, value: string | undefined): Promise<string | undefined> {
    const text = await vscode.window.showInputBox({ title, prompt: 'Text to run through the model', value: value ?? '', ignoreFocusOut: true });
    return text && text.trim() ? text : undefined;
  }

  async compareTexts(): Promise<void> {
    const model = await this.currentModel();
    if (!model) return;
    const a = await this.askText(`Attention: compare two texts with ${model.name} (1/2: text A)`, this.runtime.lastText);
    if (!a) return;
    const b = await this.askText(`Attention: compare two texts with ${model.name} (2/2: text B)`, a);
    if (!b) return;
    await this.run({ model, text: a, label: textLabel(a) }, { model, text: b, label: textLabel(b) });
  }

  async compareCheckpoints(): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage('Attention Inspector loads models only in a trusted workspace.');
      return;
    }
    const paths: string[] = [];
    for (const which of ['A', 'B']) {
      void vscode.window.setStatusBarMessage(`Attention: pick checkpoint ${which} of 2`, 10_000);
      const p = await pickModel();
      if (!p) return;
      paths.push(p);
    }
    const text = await this.askText('Attention: compare two checkpoints on one text', this.runtime.lastText);
    if (!text) return;
    try {
      const ep = settings().executionProvider;
      const [ma, mb] = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Attention: opening both checkpoints' }, () =>
        Promise.all(paths.map((path) => this.runtime.running.sendRequest(OpenModelRequest.type, { path, executionProvider: ep }))),
      );
      const mismatch = architectureMismatch(ma, mb);
      if (mismatch) throw new Error(`the checkpoints differ in architecture (${mismatch}); pick two checkpoints of one model family and size`);
      await this.run({ model: ma, text, label: ma.name }, { model: mb, text, label: mb.name === ma.name ? `${mb.name} (B)` : mb.name });
    } catch (e) {
      await showError('Compare Two Checkpoints failed', e);
    }
  }

  private async run(a: Side, b: Side): Promise<void> {
    const panel = AttentionPanel.show(this.extensionUri, this.runtime, (t) => void vscode.commands.executeCommand('attentionInspector.inspectText', t));
    try {
      const idA = await this.capture(panel, a, 'A');
      if (!idA) return;
      const before = [...panel.lastCapture];
      const idB = await this.capture(panel, b, 'B');
      if (!idB) return;
      const compare: Extract<HostToWebview, { type: 'compare' }> = { type: 'compare', a: { captureId: idA, label: a.label }, b: { captureId: idB, label: b.label } };
      panel.showComparison(before, compare);
    } catch (e) {
      panel.failCapture(firstLine(e));
      if (e instanceof vscode.CancellationError || (e as { code?: unknown }).code === -32800) return;
      await showError('Compare failed', e);
    }
  }

  /** One capture streamed into the panel; its id, or undefined when the user cancelled. */
  private async capture(panel: AttentionPanel, side: Side, which: string): Promise<string | undefined> {
    const captureId = `c${which}${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    panel.beginCapture(captureId, side.model.name, side.text);
    const s = settings();
    const summary = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Attention: capture ${which} (${side.label})`, cancellable: true },
      (_progress, token) =>
        this.runtime.running.sendRequest(
          CaptureRequest.type,
          { modelId: side.model.modelId, text: side.text, maxTokens: s.maxTokens, executionProvider: s.executionProvider, memoryBudgetBytes: s.memoryBudgetBytes, sendBudgetBytes: s.sendBudgetBytes, captureId },
          token,
        ),
    );
    panel.finishCapture(summary);
    return summary.cancelled ? undefined : captureId;
  }
}
