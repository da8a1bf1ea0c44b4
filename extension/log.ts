/** The extension's log and the way errors reach the user: one line, with "Show Logs". */
import * as vscode from 'vscode';
import { firstLine } from '../common/errors';

let channel: vscode.LogOutputChannel | undefined;

export function log(): vscode.LogOutputChannel {
  channel ??= vscode.window.createOutputChannel('Attention Inspector', { log: true });
  return channel;
}

/** Logs the error (with its stack when it has one) and shows its first line with actions. */
export async function showError(context: string, e: unknown, ...actions: string[]): Promise<string | undefined> {
  const line = firstLine(e);
  log().error(`${context}: ${e instanceof Error && e.stack && !(e as { code?: unknown }).code ? e.stack : line}`);
  const picked = await vscode.window.showErrorMessage(`${context}: ${line}`, ...actions, 'Show Logs');
  if (picked === 'Show Logs') log().show(true);
  return picked;
}
