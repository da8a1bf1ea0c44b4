/**
 * Activation: the log, the status bar, the runtime (language client), the command table and
 * the panel serializer. An activation failure is reported by the extension itself, with the log.
 */
import * as vscode from 'vscode';
import { registerPanelSerializer } from './attentionPanel';
import { addCliToPath, initCliPath, removeCliFromPath } from './cliPath';
import { COMMAND_PREFIX, COMMAND_TABLE, refusal, type CommandContext, type CommandEntry } from './commandTable';
import { Commands } from './commands';
import { SideBySideCommands } from './sideBySideCommands';
import { compareMechanisms } from './mechanismsPanel';
import { estimateCost } from './efficiencyCommands';
import { findHubModels, openModelFolder, openSample } from './firstRun';
import { log, showError } from './log';
import { listModels, registerModelTree } from './modelTree';
import { isCancellation, ReportedError, RuntimeContext } from './runtimeContext';
import { simulateKvCache } from './servingPanel';
import { RuntimeStatusBar } from './statusBar';

let runtime: RuntimeContext | undefined;

/**
 * Registers every command of the table. A command that needs the runtime waits for a start in
 * progress and is refused, with a message saying what to do, while the runtime is down; any
 * error a handler throws is logged and shown once (errors request() reported are not shown again).
 */
function registerCommandTable(table: readonly CommandEntry[], c: CommandContext): vscode.Disposable[] {
  return table.map((entry) =>
    vscode.commands.registerCommand(COMMAND_PREFIX + entry.name, async (...args: unknown[]) => {
      if (entry.needsRuntime) await c.runtime.ensureStarted();
      const refused = refusal(entry, c.runtime.availability);
      if (refused) {
        log().warn(refused);
        // Not awaited: a command run by another (executeCommand) must not wait for the toast.
        void vscode.window.showWarningMessage(refused, 'Restart Runtime', 'Show Logs').then((a) => {
          if (a === 'Restart Runtime') void vscode.commands.executeCommand(`${COMMAND_PREFIX}restartRuntime`);
          if (a === 'Show Logs') log().show(true);
        });
        return undefined;
      }
      try {
        return await entry.run(c, ...args);
      } catch (e) {
        if (isCancellation(e) || e instanceof ReportedError) return undefined;
        void showError(`${entry.title.replace(/…$/, '')} failed`, e);
        return undefined;
      }
    }),
  );
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const statusBar = new RuntimeStatusBar();
  runtime = new RuntimeContext(context.extensionUri, statusBar);
  const rt = runtime;
  const uri = context.extensionUri;
  const models = new Commands(uri, rt);
  const tree = registerModelTree(rt, uri);
  initCliPath(context);
  const commandContext: CommandContext = {
    runtime: rt,
    models,
    comparisons: new SideBySideCommands(uri, rt),
    view: tree.view,
    compareMechanisms: () => compareMechanisms(uri, rt),
    simulateKvCache: () => simulateKvCache(uri, rt),
    estimateCost: (arg) => estimateCost(context, rt, arg),
    openSample: () => Promise.resolve(openSample(uri)),
    openModelFolder,
    findHubModels: () => findHubModels(() => listModels(rt)),
    addCliToPath: () => addCliToPath(context),
    removeCliFromPath: () => removeCliFromPath(context),
  };
  context.subscriptions.push(
    log(),
    statusBar,
    rt,
    ...registerCommandTable(COMMAND_TABLE, commandContext),
    ...tree.disposables,
    registerPanelSerializer(uri, rt, (text) => void models.inspectText(text)),
  );
  // The runtime process starts when something needs it: a config.json (hovers, CodeLenses), the
  // Models view, a command, or a workspace with ONNX models. A JSON file of a web project
  // activates the extension but starts nothing.
  context.subscriptions.push(
    vscode.workspace.onDidOpenTextDocument((d) => {
      if (isConfigJson(d)) void rt.ensureStarted();
    }),
  );
  if (vscode.workspace.textDocuments.some(isConfigJson) || tree.visible() || (await hasOnnxModels())) await rt.ensureStarted();
}

/** The documents the runtime serves: hovers, diagnostics and CodeLenses of model configs. */
function isConfigJson(d: vscode.TextDocument): boolean {
  return d.uri.scheme === 'file' && /(^|[\\/])config\.json$/.test(d.uri.fsPath);
}

async function hasOnnxModels(): Promise<boolean> {
  const found = await vscode.workspace.findFiles('**/*.onnx', '**/{node_modules,.git}/**', 1);
  return found.length > 0;
}

export async function deactivate(): Promise<void> {
  await runtime?.stop();
  runtime = undefined;
}
