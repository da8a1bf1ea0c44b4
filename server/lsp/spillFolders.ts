/**
 * Where spilled attention maps live: one private folder per runtime process under the temp
 * folder, named `attention-inspector-maps-<pid>-XXXXXX` so a later process can tell whose it was.
 * The folder goes when the process ends (normally or by SIGTERM/SIGINT, server/files/exitCleanup.ts);
 * what a killed process (kill -9, a crash) left is swept when the next one starts: folders whose
 * process no longer runs, and folders of the older unnamed form untouched for a day.
 */
import { lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeFolderOnExit } from '../files/exitCleanup';
import { processAlive } from '../files/processAlive';

const PREFIX = 'attention-inspector-maps-';
const WITH_PID = /^attention-inspector-maps-(\d+)-[A-Za-z0-9]{6}$/;
const LEGACY = /^attention-inspector-maps-[A-Za-z0-9]{6}$/;
const LEGACY_AGE_MS = 24 * 3600 * 1000;

const folders = new Map<string, string>();

/** Removes spill folders of processes that are gone; returns the paths removed. */
export function sweepSpillFolders(root = tmpdir(), now = Date.now()): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return removed;
  }
  const uid = process.getuid?.();
  for (const name of names) {
    if (!name.startsWith(PREFIX)) continue;
    const path = join(root, name);
    try {
      const st = lstatSync(path);
      // Only real folders of this user: never follow a link, never touch someone else's.
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
      const m = WITH_PID.exec(name);
      const stale = m ? !processAlive(Number(m[1])) : LEGACY.test(name) && now - st.mtimeMs > LEGACY_AGE_MS;
      if (!stale) continue;
      rmSync(path, { recursive: true, force: true });
      removed.push(path);
    } catch {
      // raced with its owner or another sweeper
    }
  }
  return removed;
}

/** This process's spill folder under the current temp folder, made (after a sweep) on first use. */
export function spillFolder(): string {
  const root = tmpdir();
  let dir = folders.get(root);
  if (!dir) {
    sweepSpillFolders(root);
    // mkdtemp: mode 0700 and a name nobody could have planted.
    dir = mkdtempSync(join(root, `${PREFIX}${process.pid}-`));
    removeFolderOnExit(dir);
    folders.set(root, dir);
  }
  return dir;
}
