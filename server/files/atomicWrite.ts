/**
 * Files that appear whole or not at all: bytes go to a hidden temporary name next to the target,
 * created exclusively (so a link planted under that name is never written through), and are
 * renamed over the target only when every byte is written. rename() replaces a link at the
 * target rather than following it. A run that fails (no space, read-only, killed) leaves no file
 * under the target's name; a killed one leaves a `.<name>.partial-<pid>-<hex>` that
 * sweepPartialFiles() removes later.
 *
 * Writes go in pieces of at most 64 MiB: a single write() of 2 GiB or more fails on Linux, and a
 * layer of a long capture is larger than that.
 */
import { closeSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../../common/errors';
import { forgetOnExit, removeOnExit } from './exitCleanup';
import { processAlive } from './processAlive';

export const WRITE_PIECE_BYTES = 64 * 2 ** 20;

const PARTIAL = /^\.(.+)\.partial-(\d+)-[0-9a-f]{8}$/;

export function partialName(target: string): string {
  return join(dirname(target), `.${basename(target)}.partial-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** One line for a failed write: what went wrong in words, the file, and what to do. */
export function writeError(file: string, e: unknown): Error {
  if (e instanceof UserError) return e;
  const code = (e as NodeJS.ErrnoException)?.code;
  const fix: Record<string, string> = {
    ENOSPC: 'no space left on the device; free some space or write to another folder',
    EDQUOT: 'disk quota exceeded; free some space or write to another folder',
    EROFS: 'the file system is read-only; write to another folder',
    EACCES: 'permission denied; write to a folder you own',
    EPERM: 'permission denied; write to a folder you own',
    ENOTDIR: 'a part of the path is a file, not a folder; choose another path',
    EISDIR: 'a folder has that name; choose another path',
    EFBIG: 'the file is larger than this file system allows; write to another file system',
    ENAMETOOLONG: 'the path is too long; choose a shorter one',
    ENOENT: 'the folder disappeared while writing; check the path',
    EIO: 'input/output error on the device; check the disk',
  };
  if (code && fix[code]) return new UserError(`${file}: cannot write: ${fix[code]}`);
  return e instanceof Error ? e : new Error(String(e));
}

/** Writes `chunks` to `fd` from the start, in pieces the kernel accepts. */
export function writeChunks(fd: number, chunks: Iterable<Uint8Array>, pieceBytes = WRITE_PIECE_BYTES): number {
  let total = 0;
  for (const bytes of chunks) {
    for (let off = 0; off < bytes.length; ) {
      off += writeSync(fd, bytes, off, Math.min(pieceBytes, bytes.length - off));
    }
    total += bytes.length;
  }
  return total;
}

/**
 * Writes the chunks to a fresh temporary file beside `target` and returns its name, not yet
 * renamed (commitPartial does that), so a caller can commit several files in a chosen order.
 */
export function writePartial(target: string, chunks: Iterable<Uint8Array>, pieceBytes = WRITE_PIECE_BYTES): string {
  const temp = partialName(target);
  let fd: number | undefined;
  try {
    // 'wx': O_CREAT | O_EXCL, which also refuses a symbolic link at that name.
    fd = openSync(temp, 'wx', 0o644);
    removeOnExit(temp);
    writeChunks(fd, chunks, pieceBytes);
    closeSync(fd);
    fd = undefined;
    return temp;
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    discardPartial(temp);
    throw writeError(target, e);
  }
}

export function commitPartial(temp: string, target: string): void {
  try {
    renameSync(temp, target);
    forgetOnExit(temp);
  } catch (e) {
    discardPartial(temp);
    throw writeError(target, e);
  }
}

export function discardPartial(temp: string): void {
  try {
    unlinkSync(temp);
  } catch {
    // never created, or already gone
  }
  forgetOnExit(temp);
}

export function writeFileAtomic(target: string, data: string | Uint8Array, pieceBytes = WRITE_PIECE_BYTES): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  commitPartial(writePartial(target, [bytes], pieceBytes), target);
}

/** Removes partial files in `dir` left by processes that no longer run; returns their names. */
export function sweepPartialFiles(dir: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = PARTIAL.exec(name);
    if (!m || processAlive(Number(m[2]))) continue;
    try {
      unlinkSync(join(dir, name));
      removed.push(name);
    } catch {
      // someone else removed it first
    }
  }
  return removed;
}
