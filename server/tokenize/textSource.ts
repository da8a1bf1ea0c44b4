/**
 * Texts read as far as tokenizing needs: a string already in memory, or a text file read in
 * growing steps (--text-file), so a 100 MB file that is far over --max-tokens is refused after
 * its first few hundred kilobytes, not after reading and tokenizing all of it.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { UserError } from '../../common/errors';

export interface TextSource {
  /** What to name in messages: the file, or "the text". */
  name: string;
  /** The first `chars` characters (or all, when shorter); `complete` when that is the whole text. */
  read(chars: number): { text: string; complete: boolean };
  close(): void;
}

export function stringSource(text: string): TextSource {
  return {
    name: 'the text',
    read: (chars) => (chars >= text.length ? { text, complete: true } : { text: text.slice(0, chars), complete: false }),
    close: () => undefined,
  };
}

const CHUNK = 1 << 20;

/** A UTF-8 text file read from the start as far as asked; only what was read is held. */
export function fileSource(file: string): TextSource {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new UserError(`${file}: cannot read the text file (${(e as NodeJS.ErrnoException).code ?? 'error'}); check --text-file`);
  }
  const decoder = new TextDecoder('utf-8');
  let text = '';
  let eof = false;
  const buf = Buffer.alloc(CHUNK);
  return {
    name: file,
    read(chars) {
      while (!eof && text.length < chars) {
        let n: number;
        try {
          n = readSync(fd!, buf, 0, CHUNK, null);
        } catch (e) {
          throw new UserError(`${file}: cannot read the text file (${(e as NodeJS.ErrnoException).code ?? 'error'}); check --text-file`);
        }
        if (n === 0) {
          eof = true;
          text += decoder.decode();
        } else {
          text += decoder.decode(buf.subarray(0, n), { stream: true });
        }
      }
      if (eof && chars >= text.length) return { text, complete: true };
      return { text: text.slice(0, chars), complete: false };
    },
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}
