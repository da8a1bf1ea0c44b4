/**
 * The commands behind the config.json CodeLenses: "Estimate attention cost" opens the Efficiency
 * panel for a config (from the lens's folder, an Explorer selection, the active editor, or a
 * file picker); "Inspect attention" opens the model folder with the Open Model command.
 */
import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EfficiencyPanel, type RuntimeRequests } from './efficiencyPanel';

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

async function pickConfig(): Promise<string | undefined> {
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active?.scheme === 'file' && path.basename(active.fsPath) === 'config.json') return active.fsPath;
  const picked = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Estimate', filters: { 'Model config': ['json'] } });
  return picked?.[0]?.fsPath;
}

export function registerEfficiencyCommands(context: vscode.ExtensionContext, runtime: RuntimeRequests): void {
  context.subscriptions.push(
    vscode.commands.registerCommand(ESTIMATE_COST_COMMAND, async (arg?: unknown) => {
      const given = toPath(arg);
      const config = given ? configOf(given) : await pickConfig();
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
