/**
 * Exports saved whole or not at all, through workspace.fs (so remote workspaces work): the bytes
 * go to a hidden temporary name beside the chosen file and are renamed over it when written; a
 * failed write (disk full, connection lost) deletes the temporary file and leaves an existing
 * file at the chosen name as it was. Takes the file system as a parameter so it is testable
 * without VS Code.
 */
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type * as vscode from 'vscode';

export interface SaveFileSystem {
  writeFile(uri: vscode.Uri, content: Uint8Array): Thenable<void>;
  rename(source: vscode.Uri, target: vscode.Uri, options: { overwrite: boolean }): Thenable<void>;
  delete(uri: vscode.Uri): Thenable<void>;
}

export function partialUri(target: vscode.Uri): vscode.Uri {
  const dir = posix.dirname(target.path);
  return target.with({ path: posix.join(dir, `.${posix.basename(target.path)}.partial-${process.pid}-${randomBytes(4).toString('hex')}`) });
}

export async function saveAtomically(fs: SaveFileSystem, target: vscode.Uri, bytes: Uint8Array): Promise<void> {
  const temp = partialUri(target);
  try {
    await fs.writeFile(temp, bytes);
    await fs.rename(temp, target, { overwrite: true });
  } catch (e) {
    try {
      await fs.delete(temp);
    } catch {
      // never created
    }
    throw e;
  }
}
