/**
 * Exports from the panels saved whole or not at all (extension/atomicSave.ts). VS Code's
 * workspace.fs cannot run under mocha, so it is stood in for by the same three calls on Node's
 * fs (writeFile, rename with overwrite, delete) over file URIs; the disk-full case runs on a real
 * small tmpfs (test/helpers/smallDisk.ts).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as vscode from 'vscode';
import { saveAtomically, type SaveFileSystem } from '../../extension/atomicSave';
import { mountSmallDisk } from '../helpers/smallDisk';

/** A file URI with the one method atomicSave uses (Uri.with). */
function fileUri(path: string): vscode.Uri {
  return { scheme: 'file', path, fsPath: path, with: (change: { path?: string }) => fileUri(change.path ?? path) } as unknown as vscode.Uri;
}

const nodeFs: SaveFileSystem = {
  writeFile: (uri, content) => writeFile(uri.path, content),
  rename: (a, b) => rename(a.path, b.path),
  delete: (uri) => rm(uri.path),
};

describe('panel exports are saved whole or not at all', () => {
  it('writes the bytes under the chosen name and leaves no temporary file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ai-save-'));
    try {
      const target = join(dir, 'layer0_head1.npy');
      writeFileSync(target, 'old');
      await saveAtomically(nodeFs, fileUri(target), Uint8Array.of(1, 2, 3));
      assert.deepEqual([...readFileSync(target)], [1, 2, 3]);
      assert.deepEqual(readdirSync(dir), ['layer0_head1.npy']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('on a full disk: the error reaches the caller, an existing file is unchanged, nothing else is left', async function () {
    const disk = mountSmallDisk(64);
    if (!disk) this.skip();
    try {
      const target = join(disk!.dir, 'map.npy');
      writeFileSync(target, 'previous export');
      await assert.rejects(saveAtomically(nodeFs, fileUri(target), new Uint8Array(256 * 1024)), /ENOSPC/);
      assert.equal(readFileSync(target, 'utf8'), 'previous export');
      assert.deepEqual(readdirSync(disk!.dir), ['map.npy']);
    } finally {
      disk!.unmount();
    }
  });
});
