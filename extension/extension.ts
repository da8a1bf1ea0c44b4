/**
 * Activation: the log, the status bar, the runtime (language client), the commands and the
 * panel serializer. An activation failure is reported by the extension itself, with the log.
 */
import * as vscode from 'vscode';
import { registerPanelSerializer } from './attentionPanel';
import { Commands } from './commands';
import { CompareCommands } from './compareCommands';
import { registerCompareCommand } from './comparePanel';
import { registerCliPath } from './cliPath';
import { registerEfficiencyCommands } from './efficiencyCommands';
import { registerFirstRun } from './firstRun';
import { log, showError } from './log';
import { listModels, registerModelTree } from './modelTree';
import { RuntimeContext } from './runtimeContext';
import { RuntimeStatusBar } from './statusBar';
import { registerServingCommand } from './servingPanel';

let runtime: RuntimeContext | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const statusBar = new RuntimeStatusBar();
  runtime = new RuntimeContext(context.extensionUri, statusBar);
  const commands = new Commands(context.extensionUri, runtime);
  context.subscriptions.push(
    log(),
    statusBar,
    runtime,
    ...commands.register(),
    registerPanelSerializer(context.extensionUri, runtime, (text) => void commands.inspectText(text)),
    registerCompareCommand(context.extensionUri, runtime),
  );
  context.subscriptions.push(...new CompareCommands(context.extensionUri, runtime).register());
  // KV-cache eviction simulated on the model (extension/servingPanel.ts).
  context.subscriptions.push(registerServingCommand(context.extensionUri, runtime));
  // Efficiency panel and the config.json CodeLens commands (extension/efficiency*.ts).
  const rt = runtime;
  registerEfficiencyCommands(context, { sendRequest: (method, params) => rt.running.sendRequest(method, params) });
  // Side panel: models (hub cache + workspace) -> layers -> heads (extension/modelTree.ts).
  context.subscriptions.push(...registerModelTree(runtime, context.extensionUri));
  // Welcome view and walkthrough buttons (extension/firstRun.ts); the CLI on the terminal's PATH.
  context.subscriptions.push(...registerFirstRun(context.extensionUri, () => listModels(rt)), ...registerCliPath(context));
  try {
    await runtime.start();
  } catch (e) {
    statusBar.set('error', 'the runtime did not start');
    // Commands that need no runtime (logs, restart) stay registered so the user can recover.
    void showError('Attention Inspector could not start its runtime', e, 'Restart Runtime').then((a) => {
      if (a === 'Restart Runtime') void vscode.commands.executeCommand('attentionInspector.restartRuntime');
    });
  }
}

export async function deactivate(): Promise<void> {
  await runtime?.stop();
  runtime = undefined;
}
