/**
 * Models, tokenizers and configs are read only from regular files. Opening a FIFO named
 * model.onnx blocks until something writes to it (forever), and a device or socket is never a
 * model, so each is refused by its kind, from stat, before anything opens it.
 */
import { statSync, type Stats } from 'node:fs';
import { UserError } from '../common/errors';

export function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isDirectory()) return 'a folder';
  return 'not a regular file';
}

/** The file's kind when it exists and is not a regular file (symlinks followed), else undefined. */
export function specialKind(file: string): string | undefined {
  let st: Stats;
  try {
    st = statSync(file);
  } catch {
    return undefined;
  }
  return st.isFile() ? undefined : kindOf(st);
}

/**
 * Throws a one-line UserError when `file` exists and is not a regular file. `what` says what it
 * should have been ("the tokenizer"), `fix` what to do instead. A missing file is left to the
 * caller, whose message says which file it needs.
 */
export function requireRegularFile(file: string, what: string, fix: string): void {
  const kind = specialKind(file);
  if (kind !== undefined) throw new UserError(`${file}: is ${kind}, not a regular file; ${what} is read only from a regular file: ${fix}`);
}
