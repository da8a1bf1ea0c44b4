/**
 * "Estimate Attention Cost…" (also the config.json CodeLens "Estimate attention cost"): opens the
 * Efficiency panel for a config, from the lens's folder, an Explorer selection, the active
 * editor, or a pick of the workspace's and the Hugging Face cache's configs, then a file dialog.
 * Registered by the command table (extension/commandTable.ts).
 */
import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ListModelsRequest, type DiscoveredModel } from '../protocol/runtime';
import { EfficiencyPanel, type RuntimeRequests } from './efficiencyPanel';
import { showError } from './log';
import { quickPick } from './modelPicker';

function toPath(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  if (arg instanceof vscode.Uri && arg.scheme === 'file') return arg.fsPath;
  return undefined;
}

/** config.json of a folder, or the file itself. */
function configOf(p: string): string {
  return existsSync(p) && statSync(p).isDirectory() ? path.join(p, 'config.json') : p;
}

/**
 * The active config.json, else a pick of the configs at hand (the workspace's, and those of the
 * Hugging Face cache's models), with a file dialog as the last entry.
 */
async function pickConfig(runtime: RuntimeRequests): Promise<string | undefined> {
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active?.scheme === 'file' && path.basename(active.fsPath) === 'config.json') return active.fsPath;
  const picked = await quickPick(configPicks(runtime), {
    title: 'Attention: Estimate Attention Cost',
    placeHolder: "A model's config.json (workspace and Hugging Face cache)",
  });
  if (!picked) return undefined;
  if (picked.config) return picked.config;
  const chosen = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Estimate', filters: { 'Model config': ['json'] } });
  return chosen?.[0]?.fsPath;
}

interface ConfigPick extends vscode.QuickPickItem {
  config?: string;
}

async function configPicks(runtime: RuntimeRequests): Promise<ConfigPick[]> {
  const workspaceFolders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
  const [listed, files] = await Promise.all([
    runtime.request(ListModelsRequest.type, { workspaceFolders }).then((r) => r.models, () => [] as DiscoveredModel[]),
    vscode.workspace.findFiles('**/config.json', '**/{node_modules,.git,.venv,venv}/**', 500),
  ]);
  const seen = new Set<string>();
  const picks: ConfigPick[] = [];
  for (const m of listed) {
    const dir = m.path.toLowerCase().endsWith('.onnx') ? path.dirname(m.path) : m.path;
    const config = path.join(dir, 'config.json');
    if (seen.has(config) || !existsSync(config)) continue;
    seen.add(config);
    const hub = m.source === 'hub-cache';
    picks.push({ label: `${hub ? '$(cloud-download)' : '$(json)'} ${m.name}`, description: hub ? 'Hugging Face cache' : vscode.workspace.asRelativePath(config, true), config });
  }
  // Configs without weights beside them (e.g. samples/configs): estimates need only the config.
  for (const u of files) {
    if (seen.has(u.fsPath)) continue;
    seen.add(u.fsPath);
    picks.push({ label: `$(json) ${path.basename(path.dirname(u.fsPath))}`, description: vscode.workspace.asRelativePath(u, true), config: u.fsPath });
  }
  return [...picks, { label: '', kind: vscode.QuickPickItemKind.Separator }, { label: '$(folder-opened) Browse…', detail: 'A config.json anywhere on disk' }];
}

export async function estimateCost(context: vscode.ExtensionContext, runtime: RuntimeRequests, arg?: unknown): Promise<void> {
  const given = toPath(arg);
  const config = given ? configOf(given) : await pickConfig(runtime);
  if (!config) return;
  if (!existsSync(config)) {
    void showError('Estimate Attention Cost', new Error(`${config} does not exist; pick a model's config.json.`));
    return;
  }
  EfficiencyPanel.show(context, runtime, config);
}
