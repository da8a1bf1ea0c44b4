/**
 * The commands behind the config.json CodeLenses: "Estimate attention cost" opens the Efficiency
 * panel for a config (from the lens's folder, an Explorer selection, the active editor, or a
 * pick of the workspace's and the Hugging Face cache's configs, then a file dialog); "Inspect attention" opens the model folder with the Open Model command.
 */
import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ListModelsRequest, type DiscoveredModel } from '../protocol/runtime';
import { EfficiencyPanel, type RuntimeRequests } from './efficiencyPanel';
import { quickPick } from './modelPicker';

export const ESTIMATE_COST_COMMAND = 'attentionInspector.estimateCost';
export const INSPECT_MODEL_COMMAND = 'attentionInspector.inspectModel';

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
    runtime.sendRequest<ListModelsRequest.Result>(ListModelsRequest.method, { workspaceFolders }).then((r) => r.models, () => [] as DiscoveredModel[]),
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

export function registerEfficiencyCommands(context: vscode.ExtensionContext, runtime: RuntimeRequests): void {
  context.subscriptions.push(
    vscode.commands.registerCommand(ESTIMATE_COST_COMMAND, async (arg?: unknown) => {
      const given = toPath(arg);
      const config = given ? configOf(given) : await pickConfig(runtime);
      if (!config) return;
      if (!existsSync(config)) {
        void vscode.window.showErrorMessage(`Attention Inspector: ${config} does not exist; pick a model's config.json.`);
        return;
      }
      EfficiencyPanel.show(context, runtime, config);
    }),
    vscode.commands.registerCommand(INSPECT_MODEL_COMMAND, async (arg?: unknown) => {
      const folder = toPath(arg);
      if (!folder) return;
      // Open Model takes a path string (extension/commands.ts).
      await vscode.commands.executeCommand('attentionInspector.openModel', folder);
    }),
  );
}
