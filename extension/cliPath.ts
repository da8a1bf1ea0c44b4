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

let extensionPath = '';
let contributed = false;

/** The program of the CLI snippets the panel copies (extension/exportWriter.ts). */
export function currentCliProgram(): string {
  return cliProgram(extensionPath, contributed || onPath(CLI_NAME));
}

/** Rewrites the launcher of an earlier session's PATH entry (the extension may have moved). */
export function initCliPath(context: vscode.ExtensionContext): void {
  extensionPath = context.extensionUri.fsPath;
  const env = context.environmentVariableCollection;
  if (!env.get('PATH')) return;
  try {
    install(context);
    contributed = true;
  } catch {
    env.delete('PATH');
  }
}

function install(context: vscode.ExtensionContext): string {
  return writeLauncher(launcherDir(context), process.execPath, path.join(context.extensionUri.fsPath, 'dist', 'cli.js'));
}

const launcherDir = (context: vscode.ExtensionContext) => path.join(context.globalStorageUri.fsPath, 'bin');

/** "Attention: Add attention-inspector to the Terminal PATH". */
export async function addCliToPath(context: vscode.ExtensionContext): Promise<void> {
  const env = context.environmentVariableCollection;
  const launcher = install(context);
  env.prepend('PATH', launcherDir(context) + path.delimiter);
  env.description = `Puts ${CLI_NAME} (the Attention Inspector CLI) on PATH`;
  contributed = true;
  const a = await vscode.window.showInformationMessage(`New terminals have ${CLI_NAME} on PATH (${launcher}). Try: ${CLI_NAME} variants`, 'Open Terminal');
  if (a === 'Open Terminal') vscode.window.createTerminal('Attention Inspector').show();
}

/** "Attention: Remove attention-inspector from the Terminal PATH". */
export function removeCliFromPath(context: vscode.ExtensionContext): void {
  context.environmentVariableCollection.delete('PATH');
  contributed = false;
  vscode.window.setStatusBarMessage(`Attention: new terminals no longer have ${CLI_NAME} on PATH`, 4000);
}
