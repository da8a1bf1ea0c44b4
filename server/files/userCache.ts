/**
 * The per-user cache folder (the measured hardware profile lives there). Not the machine-wide
 * temp folder: there anyone can plant a file or a symbolic link under a fixed name before us, and
 * a write through that link overwrites whatever it points to. Here the folder is the user's own
 * (created 0700, refused if it is a link or belongs to someone else), reads refuse links, and
 * writes go to an exclusively created temporary name renamed over the target.
 */
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from './atomicWrite';

const APP = 'attention-inspector';

/** $XDG_CACHE_HOME or ~/.cache on Linux, ~/Library/Caches on macOS, %LOCALAPPDATA% on Windows. */
export function userCacheDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  const home = os.homedir();
  if (platform === 'win32') return join(env.LOCALAPPDATA || join(home, 'AppData', 'Local'), APP, 'Cache');
  if (platform === 'darwin') return join(home, 'Library', 'Caches', APP);
  const xdg = env.XDG_CACHE_HOME;
  // The XDG spec: a relative value is invalid and must be ignored.
  return join(xdg && xdg.startsWith('/') ? xdg : join(home, '.cache'), APP);
}

/** Why `dir` may not hold our cache, or undefined when it may (created if missing). */
export function privateFolderProblem(dir: string): string | undefined {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    if (st.isSymbolicLink()) return `${dir} is a symbolic link`;
    if (!st.isDirectory()) return `${dir} is not a folder`;
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid) return `${dir} belongs to another user`;
    return undefined;
  } catch (e) {
    return `${dir}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
  }
}

/** The text of `name` in the cache folder; undefined if missing, a link, not ours or unreadable. */
export function readCacheFile(dir: string, name: string): string | undefined {
  if (privateFolderProblem(dir)) return undefined;
  let fd: number | undefined;
  try {
    // O_NOFOLLOW: a link planted under the name fails to open instead of being read through.
    fd = openSync(join(dir, name), constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
    const st = fstatSync(fd);
    const uid = process.getuid?.();
    if (!st.isFile() || (uid !== undefined && st.uid !== uid)) return undefined;
    return readFileSync(fd, 'utf8');
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Writes `name` in the cache folder whole or not at all; false when the folder is unusable. */
export function writeCacheFile(dir: string, name: string, text: string): boolean {
  if (privateFolderProblem(dir)) return false;
  try {
    writeFileAtomic(join(dir, name), text);
    return true;
  } catch {
    return false;
  }
}
