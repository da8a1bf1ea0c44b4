/**
 * "Open Model…": the models the workspace holds (ONNX files, and folders with config.json and
 * *.safetensors), plus Browse… for anything else. Only reads file names; nothing is loaded.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';

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

/** The picked model's path, or undefined when the user backed out. */
export async function pickModel(): Promise<string | undefined> {
  const picks = workspaceModels().then((models) => [
    ...models,
    { label: '', kind: vscode.QuickPickItemKind.Separator } as ModelPick,
    { label: '$(folder-opened) Browse…', detail: 'An .onnx file or a checkpoint folder anywhere on disk', browse: true } as ModelPick,
  ]);
  const picked = await vscode.window.showQuickPick(picks, {
    title: 'Attention: Open Model',
    placeHolder: 'An ONNX file or a Hugging Face checkpoint folder',
    matchOnDescription: true,
  });
  if (!picked) return undefined;
  if (!picked.browse) return picked.uri?.fsPath;
  const chosen = await vscode.window.showOpenDialog({
    title: 'Open a model: an .onnx file or a folder with config.json and *.safetensors',
    canSelectFiles: true,
    canSelectFolders: true,
    canSelectMany: false,
    filters: { 'ONNX models': ['onnx'], 'All files': ['*'] },
  });
  return chosen?.[0]?.fsPath;
}
