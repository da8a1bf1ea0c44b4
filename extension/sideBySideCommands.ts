/**
 * "Attention: Compare Two Texts…" and "Attention: Compare Two Checkpoints…": two captures
 * streamed into the Attention panel one after the other, then a `compare` message that puts it
 * in its side-by-side mode (A, B and A − B of the selected head; webview/views/sideBySideView.ts).
 * Two checkpoints must share the architecture (same layers and heads) to be compared head by
 * head; texts of different lengths are compared over their common prefix by the panel.
 * Both are multi-step quick inputs (title, "step n of m", Escape backs out at any step); the
 * checkpoints come from the same list as Open Model… (workspace and Hugging Face cache) and their
 * compatibility is checked before the text is asked for.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { CaptureRequest, OpenModelRequest, type ModelInfo } from '../protocol/runtime';
import type { HostToWebview } from '../protocol/webview';
import { AttentionPanel } from './attentionPanel';
import { architectureMismatch, textLabel } from './sideBySideCheck';
import { showError } from './log';
import { FIRST_TEXT } from './firstRun';
import { pickModel } from './modelPicker';
import { listModels } from './modelTree';
import { isCancellation, ReportedError, type RuntimeContext } from './runtimeContext';
import { captureLimits } from './settings';
import { firstLine } from '../common/errors';

interface Side {
  model: ModelInfo;
  text: string;
  label: string;
}

export class SideBySideCommands {
  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly runtime: RuntimeContext,
  ) {}

  /** One step of a multi-step flow: an input box with the flow's title and step count. */
  private askText(title: string, step: number, totalSteps: number, prompt: string, value: string | undefined): Promise<string | undefined> {
    return new Promise((resolve) => {
      const box = vscode.window.createInputBox();
      Object.assign(box, { title, step, totalSteps, prompt, value: value ?? '', ignoreFocusOut: true });
      let done = false;
      const finish = (v: string | undefined) => {
        if (done) return;
        done = true;
        resolve(v && v.trim() ? v : undefined);
        box.dispose();
      };
      box.onDidChangeValue((v) => (box.validationMessage = v.trim() ? undefined : 'Type a text (it cannot be empty)'));
      box.onDidAccept(() => {
        if (box.value.trim()) finish(box.value);
      });
      box.onDidHide(() => finish(undefined));
      box.show();
    });
  }

  async compareTexts(): Promise<void> {
    const title = 'Attention: Compare Two Texts';
    let model = this.runtime.model?.info;
    // Without an open model the flow starts by picking one: three steps instead of two.
    const total = model ? 2 : 3;
    if (!model) {
      if (!vscode.workspace.isTrusted) return void vscode.window.showWarningMessage('Attention Inspector loads models only in a trusted workspace.');
      const path = await pickModel(() => listModels(this.runtime), { title, step: 1, totalSteps: 3, placeHolder: 'The model to run both texts through' });
      if (!path) return;
      model = await vscode.commands.executeCommand<ModelInfo | undefined>('attentionInspector.openModel', path, { panel: false });
      if (!model) return;
    }
    const first = total - 1;
    const a = await this.askText(`${title} with ${model.name}`, first, total, 'Text A', this.runtime.lastText ?? FIRST_TEXT);
    if (!a) return;
    const b = await this.askText(`${title} with ${model.name}`, total, total, 'Text B (compared with A over their common prefix)', a);
    if (!b) return;
    await this.run({ model, text: a, label: textLabel(a) }, { model, text: b, label: textLabel(b) });
  }

  async compareCheckpoints(): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage('Attention Inspector loads models only in a trusted workspace.');
      return;
    }
    const title = 'Attention: Compare Two Checkpoints';
    const paths: string[] = [];
    for (const [i, which] of ['A', 'B'].entries()) {
      const p = await pickModel(() => listModels(this.runtime), { title, step: i + 1, totalSteps: 3, placeHolder: `Checkpoint ${which}${i === 1 ? ' (same architecture as A)' : ''}` });
      if (!p) return;
      paths.push(p);
    }
    let ma: ModelInfo;
    let mb: ModelInfo;
    try {
      [ma, mb] = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Attention: opening both checkpoints' }, () =>
        Promise.all(paths.map((path) => this.runtime.request(OpenModelRequest.type, (s) => ({ path, executionProvider: s.executionProvider })))),
      );
    } catch (e) {
      if (isCancellation(e)) return;
      throw e;
    }
    // Checked before the text is asked for: no typing for a pair that cannot be compared.
    const mismatch = architectureMismatch(ma, mb);
    if (mismatch) {
      void showError('Compare Two Checkpoints', new Error(`${ma.name} and ${mb.name} cannot be compared head by head (${mismatch}); pick two checkpoints of one model family and size.`));
      return;
    }
    const text = await this.askText(`${title}: ${ma.name} vs ${mb.name}`, 3, 3, 'Text to run through both checkpoints', this.runtime.lastText ?? FIRST_TEXT);
    if (!text) return;
    await this.run({ model: ma, text, label: ma.name }, { model: mb, text, label: mb.name === ma.name ? `${mb.name} (B)` : mb.name });
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
      if (isCancellation(e)) {
        panel.prepare(b.text, { focus: false, status: 'cancelled' });
        return;
      }
      panel.failCapture(firstLine(e));
      if (!(e instanceof ReportedError)) throw e;
    }
  }

  /** One capture streamed into the panel; its id, or undefined when the user cancelled. */
  private async capture(panel: AttentionPanel, side: Side, which: string): Promise<string | undefined> {
    const captureId = `c${which}${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    panel.beginCapture(captureId, side.model.name, side.text);
    const summary = await this.runtime.request(
      CaptureRequest.type,
      (s, workDoneToken) => ({ modelId: side.model.modelId, text: side.text, ...captureLimits(s), workDoneToken, captureId }),
      { progress: `Attention: capture ${which} (${side.label})`, cancellable: true, failure: 'Compare failed' },
    );
    panel.finishCapture(summary);
    return summary.cancelled ? undefined : captureId;
  }
}
