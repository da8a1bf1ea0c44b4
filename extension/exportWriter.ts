/**
 * Saves a panel export: asks where with a save dialog (default: the first workspace folder
 * and the name the panel suggests) and writes through workspace.fs, whole or not at all
 * (atomicSave.ts); the CLI snippet goes to the clipboard. Failures reach the user with the way
 * to the logs.
 */
import * as vscode from 'vscode';
import type { WebviewToHost } from '../protocol/webview';
import { saveAtomically } from './atomicSave';
import { exportPayload } from './exportPayload';
import { log, showError } from './log';

export async function saveExport(msg: Extract<WebviewToHost, { type: 'export' }>, model: string, program?: string): Promise<void> {
  try {
    const payload = exportPayload(msg, model, program);
    if (payload.kind === 'clipboard') {
      await vscode.env.clipboard.writeText(payload.text);
      vscode.window.setStatusBarMessage('$(clippy) Attention: CLI command copied', 4000);
      return;
    }
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const uri = await vscode.window.showSaveDialog({
      title: `Attention: save ${msg.name}`,
      defaultUri: folder ? vscode.Uri.joinPath(folder, msg.name) : undefined,
      filters: payload.filters,
    });
    if (!uri) return;
    await saveAtomically(vscode.workspace.fs, uri, payload.bytes);
    log().info(`export: wrote ${uri.fsPath} (${payload.bytes.length} bytes)`);
    vscode.window.setStatusBarMessage(`Attention: saved ${uri.fsPath}`, 4000);
  } catch (e) {
    await showError(`Export of ${msg.name} failed`, e);
  }
}
