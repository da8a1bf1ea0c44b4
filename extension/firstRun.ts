/**
 * The first minutes: every way of opening a model ends in the Attention panel with its text box
 * focused and prefilled, and the Models view's welcome content offers the ways in (the bundled
 * sample, a model folder, the Hugging Face cache). The walkthrough's buttons run these commands.
 */
import * as vscode from 'vscode';
import type { DiscoveredModel, ModelInfo } from '../protocol/runtime';
import { AttentionPanel } from './attentionPanel';
import { hubCachePicks } from './modelPicker';
import type { RuntimeContext } from './runtimeContext';

/**
 * The prefilled text: every word is in the sample model's vocabulary, and the repeated phrase
 * makes previous-token and induction heads show in any model.
 */
export const FIRST_TEXT = 'the cat sat on the dog . the cat sat on the';

/** Set while the Models view lists nothing: its welcome content shows then. */
export const NO_MODELS_KEY = 'attentionInspector.noModels';

export function samplePath(extensionUri: vscode.Uri): string {
  return vscode.Uri.joinPath(extensionUri, 'samples', 'tiny-gpt').fsPath;
}

/** Shows the panel for a model just opened: focused, the text box prefilled and focused. */
export function showPanelFor(extensionUri: vscode.Uri, runtime: RuntimeContext, info: ModelInfo, onInspect: (text: string) => void): void {
  const panel = AttentionPanel.show(extensionUri, runtime, onInspect, true);
  panel.prepare(runtime.lastText ?? FIRST_TEXT, { modelName: info.name, focus: true });
}

/** The commands of the welcome view and the walkthrough (extension/commandTable.ts). */
const open = (path: string) => vscode.commands.executeCommand('attentionInspector.openModel', path);

export function openSample(extensionUri: vscode.Uri): Thenable<unknown> {
  return open(samplePath(extensionUri));
}

export async function openModelFolder(): Promise<void> {
  const chosen = await vscode.window.showOpenDialog({
    title: 'Open a model: a folder with config.json and *.safetensors, or with model.onnx',
    canSelectFiles: false,
    canSelectFolders: true,
    canSelectMany: false,
    openLabel: 'Open Model',
  });
  if (chosen?.[0]) await open(chosen[0].fsPath);
}

export async function findHubModels(list: () => Promise<DiscoveredModel[]>): Promise<void> {
  const picked = await hubCachePicks(list);
  if (picked) await open(picked);
}
