/**
 * Inputs read from files rather than the command line: `--text-file` and `--ids-file`, where `-`
 * means standard input. Long inputs belong here (the command line of a process is limited to
 * 128 kB per argument on Linux, and shells and tools handle long ones badly). A missing file, a
 * folder, an unreadable or empty file is a one-line error naming the file and the flag.
 */
import { readFileSync, statSync } from 'node:fs';
import { UserError } from '../../common/errors';
import { UsageError } from './args';

function readInput(file: string, flag: string, what: string): string {
  if (file === '-') {
    try {
      return readFileSync(0, 'utf8');
    } catch (e) {
      throw new UserError(`${flag} -: cannot read standard input (${(e as NodeJS.ErrnoException).code ?? e}); pipe the ${what} in or give a file`);
    }
  }
  if (file.trim().length === 0) throw new UsageError(`${flag} needs a file path (or - for standard input)`);
  try {
    if (statSync(file).isDirectory()) throw new UserError(`${file}: is a folder, not a file; give ${flag} the file that holds the ${what}`);
    return readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new UserError(`${file}: no such ${what} file; check ${flag}`);
    if (code === 'EACCES' || code === 'EPERM') throw new UserError(`${file}: permission denied; give ${flag} a file you can read`);
    if (code === 'EISDIR') throw new UserError(`${file}: is a folder, not a file; give ${flag} the file that holds the ${what}`);
    throw new UserError(`${file}: cannot read the ${what} file (${code ?? String(e)}); check ${flag}`);
  }
}

/** The text of --text-file (or standard input for `-`); empty is an error, not an empty capture. */
export function readTextFile(file: string, flag = '--text-file'): string {
  const text = readInput(file, flag, 'text');
  if (text.trim().length === 0) throw new UserError(`${file === '-' ? 'standard input' : file}: the text file is empty; put the text to inspect in it`);
  return text;
}

/**
 * Token ids separated by commas and/or whitespace (so `3,17,5`, one id per line, and NumPy's
 * `savetxt` all work). `source` names them in errors.
 */
export function parseIdList(text: string, source: string, example = '3,17,5'): number[] {
  const parts = text.split(/[\s,]+/).filter((s) => s.length > 0);
  const bad = parts.find((s) => !/^\d+$/.test(s) || !Number.isSafeInteger(Number(s)));
  if (parts.length === 0 || bad !== undefined) {
    const what = bad === undefined ? 'no ids' : `"${bad.length > 20 ? `${bad.slice(0, 20)}…` : bad}" is not a non-negative integer`;
    throw new UsageError(`${source} needs comma-separated non-negative integers (${what}), e.g. ${example}`);
  }
  return parts.map(Number);
}

export function readIdsFile(file: string, flag = '--ids-file'): number[] {
  return parseIdList(readInput(file, flag, 'token ids'), file === '-' ? `${flag} -` : `${flag} ${file}`);
}
