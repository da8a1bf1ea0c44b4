/**
 * "Attention: Add attention-inspector to the Terminal PATH": writes a launcher for the bundled
 * CLI into the extension's global storage and prepends that folder to PATH in the integrated
 * terminal (environmentVariableCollection; new terminals get it, nothing outside VS Code
 * changes). The collection persists, so the launcher is rewritten on activation: an updated
 * extension lives in a new folder.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CLI_NAME, cliProgram, onPath, writeLauncher } from './cliLauncher';
import { showError } from './log';

let extensionPath = '';
let contributed = false;

/** The program of the CLI snippets the panel copies (extension/exportWriter.ts). */
export function currentCliProgram(): string {
  return cliProgram(extensionPath, contributed || onPath(CLI_NAME));
}

export function registerCliPath(context: vscode.ExtensionContext): vscode.Disposable[] {
  extensionPath = context.extensionUri.fsPath;
  const env = context.environmentVariableCollection;
  const bin = path.join(context.globalStorageUri.fsPath, 'bin');
  const install = () => writeLauncher(bin, process.execPath, path.join(extensionPath, 'dist', 'cli.js'));
  if (env.get('PATH')) {
    try {
      install();
      contributed = true;
    } catch {
      env.delete('PATH');
    }
  }
  return [
    vscode.commands.registerCommand('attentionInspector.addCliToPath', async () => {
      try {
        const launcher = install();
        env.prepend('PATH', bin + path.delimiter);
        env.description = `Puts ${CLI_NAME} (the Attention Inspector CLI) on PATH`;
        contributed = true;
        const a = await vscode.window.showInformationMessage(`New terminals have ${CLI_NAME} on PATH (${launcher}). Try: ${CLI_NAME} variants`, 'Open Terminal');
        if (a === 'Open Terminal') vscode.window.createTerminal('Attention Inspector').show();
      } catch (e) {
        await showError(`Could not put ${CLI_NAME} on PATH`, e);
      }
    }),
    vscode.commands.registerCommand('attentionInspector.removeCliFromPath', () => {
      env.delete('PATH');
      contributed = false;
      vscode.window.setStatusBarMessage(`Attention: new terminals no longer have ${CLI_NAME} on PATH`, 4000);
    }),
  ];
}
