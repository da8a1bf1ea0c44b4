/**
 * The folder a CLI command writes (`--out`), kept so that it never looks complete when it is not:
 *
 * - open() checks the path before any work (a file, an empty path, a read-only or unwritable
 *   place are one-line errors, not a failure after a long run) and sweeps partial files that
 *   killed runs left;
 * - every file goes to a temporary name and is renamed when whole (server/files/atomicWrite.ts);
 * - the first commit removes the previous run's summary.json, so from then until finish() the
 *   folder reads as incomplete (`diff` and other readers refuse a folder without a summary);
 * - finish() removes files of an earlier run that this run did not write (those its
 *   summary.json listed, and names this command writes), then writes summary.json last, listing
 *   every file that belongs to the run.
 *
 * A summary.json (or any other name) planted as a symbolic link is replaced, never written
 * through: renames replace links, and temporary files are created exclusively.
 */
import { closeSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../common/errors';
import { npyChunks } from '../../common/npy';
import { NpyRowWriter } from '../capture/npy';
import { commitPartial, partialName, sweepPartialFiles, writeError, writePartial } from '../files/atomicWrite';
import { UsageError } from './args';

export const SUMMARY_FILE = 'summary.json';

export interface OutputFolderOptions {
  /** The command and flag, for messages: `capture`, `--out`. */
  command: string;
  flag?: string;
  /** Names this command writes; an earlier run's files with these names are stale if not rewritten. */
  owns?: RegExp[];
  /** Name of the file written last (default summary.json). */
  summaryFile?: string;
}

/** A plain file name, as listed in a summary: no folders, no way out of the folder. */
function isPlainName(name: unknown): name is string {
  return typeof name === 'string' && name.length > 0 && name !== '.' && name !== '..' && !/[/\\\0]/.test(name);
}

/** The files a summary lists (`files`), or undefined when there is no readable summary. */
export function summaryFiles(dir: string, summaryFile = SUMMARY_FILE): string[] | undefined {
  const file = join(dir, summaryFile);
  try {
    // A link is not ours: never read through it.
    if (!lstatSync(file).isFile()) return undefined;
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { files?: unknown };
    return Array.isArray(parsed.files) ? parsed.files.filter(isPlainName) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Node's recursive mkdir reports ENOENT for a folder it could not make on a read-only file
 * system; a plain mkdir of the same path says why (EROFS, EACCES) when the parent exists.
 */
function mkdirCause(dir: string, e: unknown): unknown {
  if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return e;
  try {
    mkdirSync(dir);
    return e;
  } catch (plain) {
    return (plain as NodeJS.ErrnoException).code === 'ENOENT' ? e : plain;
  }
}

export class OutputFolder {
  private readonly written = new Set<string>();
  private readonly previous: string[];
  private claimed = false;
  private finished = false;
  private readonly summaryFile: string;

  private constructor(
    readonly dir: string,
    private readonly opts: OutputFolderOptions,
  ) {
    this.summaryFile = opts.summaryFile ?? SUMMARY_FILE;
    this.previous = summaryFiles(dir, this.summaryFile) ?? [];
  }

  /** Checks and creates the folder; nothing of an earlier run is touched until the first commit. */
  static open(dir: string, opts: OutputFolderOptions): OutputFolder {
    const flag = opts.flag ?? '--out';
    if (dir.trim().length === 0) throw new UsageError(`${opts.command}: ${flag} needs a folder path (it is created if missing)`);
    let isDir = false;
    try {
      isDir = statSync(dir).isDirectory();
      if (!isDir) throw new UserError(`${dir}: is a file, not a folder; give ${flag} a folder path (it is created if missing)`);
    } catch (e) {
      if (e instanceof UserError) throw e;
      // Missing: created below.
    }
    if (!isDir) {
      try {
        mkdirSync(dir, { recursive: true });
      } catch (e) {
        throw new UserError(`${writeError(dir, mkdirCause(dir, e)).message} (${flag})`);
      }
    }
    // Writable? Find out now, not after the model has run.
    const probe = partialName(join(dir, 'write-check'));
    try {
      closeSync(openSync(probe, 'wx', 0o644));
      unlinkSync(probe);
    } catch (e) {
      throw new UserError(`${writeError(dir, e).message} (${flag})`);
    }
    sweepPartialFiles(dir);
    return new OutputFolder(dir, opts);
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  /** Files committed so far, in order. */
  files(): string[] {
    return [...this.written];
  }

  writeFile(name: string, data: string | Uint8Array): void {
    this.commit(name, [typeof data === 'string' ? Buffer.from(data, 'utf8') : data]);
  }

  writeJson(name: string, value: unknown): void {
    this.writeFile(name, `${JSON.stringify(value, null, 2)}\n`);
  }

  writeNpy(name: string, data: Float32Array, shape: number[]): void {
    this.commit(name, npyChunks(data, shape));
  }

  /** A map written by blocks of rows (npy.ts); committed, and listed, by calling `commit`. */
  npyRows(name: string, shape: [number, number, number]): { writer: NpyRowWriter; commit: () => void } {
    if (!isPlainName(name) || name === this.summaryFile) throw new Error(`bad output name ${name}`);
    const writer = new NpyRowWriter(this.path(name), shape);
    return {
      writer,
      commit: () => {
        this.claim();
        writer.commit();
        this.written.add(name);
      },
    };
  }

  /** Stale files removed, then the summary written last with `files` listing the run's files. */
  finish(summary: Record<string, unknown>): string[] {
    if (this.finished) throw new Error('output folder already finished');
    this.claim();
    const stale = this.staleFiles();
    for (const name of stale) {
      try {
        unlinkSync(this.path(name));
      } catch {
        // already gone
      }
    }
    const files = this.files();
    const target = this.path(this.summaryFile);
    commitPartial(writePartial(target, [Buffer.from(`${JSON.stringify({ ...summary, files }, null, 2)}\n`, 'utf8')]), target);
    this.finished = true;
    return stale;
  }

  private staleFiles(): string[] {
    const candidates = new Set(this.previous);
    let names: string[] = [];
    try {
      names = readdirSync(this.dir);
    } catch {
      // unreadable now: only the previous summary's list is known
    }
    for (const n of names) if (this.opts.owns?.some((re) => re.test(n))) candidates.add(n);
    candidates.delete(this.summaryFile);
    return [...candidates].filter((n) => !this.written.has(n) && isPlainName(n));
  }

  private commit(name: string, chunks: Uint8Array[]): void {
    if (!isPlainName(name) || name === this.summaryFile) throw new Error(`bad output name ${name}`);
    const target = this.path(name);
    const temp = writePartial(target, chunks);
    this.claim();
    commitPartial(temp, target);
    this.written.add(name);
  }

  /** From the first commit on, the folder no longer claims to hold a complete earlier run. */
  private claim(): void {
    if (this.claimed) return;
    this.claimed = true;
    try {
      unlinkSync(this.path(this.summaryFile));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw writeError(this.path(this.summaryFile), e);
    }
  }
}
