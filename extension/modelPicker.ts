/**
 * "Open Model…": the models the runtime finds (attention/listModels: the local Hugging Face
 * cache and the workspace), else the workspace's own ONNX files and checkpoint folders, plus
 * Browse… for anything else. Only reads file names; nothing is loaded.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DiscoveredModel } from '../protocol/runtime';
import { formatBytes } from './modelTreeModel';

const EXCLUDE = '**/{node_modules,.git,.venv,venv,__pycache__}/**';
const LIMIT = 500;

interface ModelPick extends vscode.QuickPickItem {
  uri?: vscode.Uri;
  browse?: boolean;
}

async function workspaceModels(): Promise<ModelPick[]> {
  const [onnx, configs, tensors] = await Promise.all([
    vscode.workspace.findFiles('**/*.onnx', EXCLUDE, LIMIT),
    vscode.workspace.findFiles('**/config.json', EXCLUDE, LIMIT),
    vscode.workspace.findFiles('**/*.safetensors', EXCLUDE, LIMIT),
  ]);
  const tensorDirs = new Set(tensors.map((u) => path.dirname(u.fsPath)));
  const hfFolders = configs.map((u) => vscode.Uri.file(path.dirname(u.fsPath))).filter((u) => tensorDirs.has(u.fsPath));
  const item = (uri: vscode.Uri, kind: string): ModelPick => ({
    label: `${kind === 'onnx' ? '$(file-binary)' : '$(folder)'} ${path.basename(uri.fsPath)}`,
    description: vscode.workspace.asRelativePath(uri, true),
    detail: kind === 'onnx' ? 'ONNX model' : 'Hugging Face checkpoint (config.json + safetensors)',
    uri,
  });
  return [...onnx.map((u) => item(u, 'onnx')), ...hfFolders.map((u) => item(u, 'hf'))].sort((a, b) => (a.description ?? '').localeCompare(b.description ?? ''));
}

function discoveredPick(m: DiscoveredModel): ModelPick {
  const hub = m.source === 'hub-cache';
  return {
    label: `${hub ? '$(cloud-download)' : m.format === 'onnx' ? '$(file-binary)' : '$(folder)'} ${m.name}`,
    description: hub ? `Hugging Face cache${m.revision ? ` @ ${m.revision.slice(0, 7)}` : ''}` : vscode.workspace.asRelativePath(m.path, true),
    detail: `${m.format === 'onnx' ? 'ONNX model' : 'Hugging Face checkpoint'} · ${formatBytes(m.sizeBytes)}${m.hasTokenizer ? '' : ' · no tokenizer.json'}`,
    uri: vscode.Uri.file(m.path),
  };
}

/** The runtime's listing when it answers; the workspace search when it does not. */
async function candidates(list?: () => Promise<DiscoveredModel[]>): Promise<ModelPick[]> {
  if (list) {
    try {
      return (await list()).map(discoveredPick);
    } catch {
      // runtime down or too old: the workspace still has its files
    }
  }
  return workspaceModels();
}

export interface PickOptions {
  /** Quick-pick title; default "Attention: Open Model". */
  title?: string;
  /** Multi-step flows (Compare Two Checkpoints): this step and the number of steps. */
  step?: number;
  totalSteps?: number;
  placeHolder?: string;
}

/**
 * One quick pick; in a multi-step flow it shows its step and is filled when the listing arrives
 * (busy meanwhile). Resolves with the picked item, or undefined when the user pressed Escape.
 */
export function quickPick<T extends vscode.QuickPickItem>(items: Promise<T[]>, o: PickOptions & { title: string }): Promise<T | undefined> {
  // A single step: showQuickPick closes in the window as soon as an item is accepted, so keys
  // typed next go to whatever comes next (createQuickPick closes only when the host disposes it).
  if (o.step === undefined) return Promise.resolve(vscode.window.showQuickPick(items, { title: o.title, placeHolder: o.placeHolder, matchOnDescription: true }));
  return new Promise((resolve) => {
    const qp = vscode.window.createQuickPick<T>();
    qp.title = o.title;
    qp.step = o.step;
    qp.totalSteps = o.totalSteps;
    qp.placeholder = o.placeHolder;
    qp.matchOnDescription = true;
    qp.ignoreFocusOut = o.step !== undefined;
    qp.busy = true;
    let done = false;
    const finish = (v: T | undefined) => {
      if (done) return;
      done = true;
      resolve(v);
      qp.dispose();
    };
    qp.onDidAccept(() => finish(qp.selectedItems[0]));
    qp.onDidHide(() => finish(undefined));
    qp.show();
    items.then(
      (list) => {
        qp.items = list;
        qp.busy = false;
      },
      () => {
        qp.busy = false;
      },
    );
  });
}

async function browse(): Promise<string | undefined> {
  const chosen = await vscode.window.showOpenDialog({
    title: 'Open a model: an .onnx file or a folder with config.json and *.safetensors',
    canSelectFiles: true,
    canSelectFolders: true,
    canSelectMany: false,
    filters: { 'ONNX models': ['onnx'], 'All files': ['*'] },
  });
  return chosen?.[0]?.fsPath;
}

/** The picked model's path, or undefined when the user backed out. */
export async function pickModel(list?: () => Promise<DiscoveredModel[]>, o: PickOptions = {}): Promise<string | undefined> {
  const picks = candidates(list).then((models) => [
    ...models,
    { label: '', kind: vscode.QuickPickItemKind.Separator } as ModelPick,
    { label: '$(folder-opened) Browse…', detail: 'An .onnx file or a checkpoint folder anywhere on disk', browse: true } as ModelPick,
  ]);
  const picked = await quickPick(picks, { placeHolder: 'An ONNX file or a Hugging Face checkpoint folder', ...o, title: o.title ?? 'Attention: Open Model' });
  if (!picked) return undefined;
  if (!picked.browse) return picked.uri?.fsPath;
  return browse();
}

/** The Hugging Face cache's models only; says where it looked when there are none. */
export async function hubCachePicks(list: () => Promise<DiscoveredModel[]>): Promise<string | undefined> {
  const hub = (await list().catch(() => [] as DiscoveredModel[])).filter((m) => m.source === 'hub-cache');
  if (hub.length === 0) {
    void vscode.window.showInformationMessage(
      'Attention Inspector found no model in the Hugging Face cache (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub) that has config.json with *.safetensors, or an .onnx file. Download one with `huggingface-cli download <org/name>`, or open a folder.',
    );
    return undefined;
  }
  const picked = await quickPick(Promise.resolve(hub.map(discoveredPick)), { title: 'Attention: Models in the Hugging Face Cache', placeHolder: 'A cached model to open' });
  return picked?.uri?.fsPath;
}
