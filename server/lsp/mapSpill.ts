/**
 * Full-resolution maps kept on disk instead of in memory: a 4096-token capture of a
 * GPT-2-small-sized model is 12 layers x 12 heads x 4096^2 floats = 9.2 GB, more than the
 * runtime should hold, while a tile of one head is a few rows read by offset. Each spilled layer
 * is one raw float32 file in this process's spill folder (server/lsp/spillFolders.ts), deleted
 * when the store drops it and, as a last resort, when the process ends (also by SIGTERM/SIGINT).
 */
import { closeSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UserError } from '../../common/errors';
import { forgetOnExit, removeOnExit } from '../files/exitCleanup';
import { spillFolder } from './spillFolders';

const live = new Set<string>();

let counter = 0;

/** One layer's [heads, queries, keys] float32 map in a file. */
export class SpilledMap {
  readonly file: string;
  private fd: number | undefined;

  constructor(
    data: Float32Array,
    readonly heads: number,
    readonly queries: number,
    readonly keys: number,
  ) {
    this.file = join(spillFolder(), `map-${process.pid}-${++counter}.f32`);
    live.add(this.file);
    removeOnExit(this.file);
    try {
      // 'wx+': exclusive, so nothing planted under the name is written through.
      this.fd = openSync(this.file, 'wx+', 0o600);
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      // Writes in 64 MiB pieces: one writeSync of several GB hits the 2 GiB syscall limit.
      const piece = 64 * 2 ** 20;
      for (let off = 0; off < bytes.length; ) {
        off += writeSync(this.fd, bytes, off, Math.min(piece, bytes.length - off), off);
      }
    } catch (e) {
      // Give the space back at once: a half-written spill file would keep the disk full and
      // fail every later capture until the runtime restarts.
      this.release();
      throw spillError(this.file, e);
    }
  }

  get byteLength(): number {
    return this.heads * this.queries * this.keys * 4;
  }

  /** Columns k0..k0+cols-1 of rows q0..q0+rows-1 of one head, C order. */
  read(head: number, q0: number, rows: number, k0: number, cols: number): Float32Array {
    if (this.fd === undefined) throw new Error('spilled map was released');
    const out = new Float32Array(rows * cols);
    const bytes = new Uint8Array(out.buffer);
    for (let r = 0; r < rows; r++) {
      const cell = (head * this.queries + q0 + r) * this.keys + k0;
      readSync(this.fd, bytes, r * cols * 4, cols * 4, cell * 4);
    }
    return out;
  }

  release(): void {
    if (!live.has(this.file)) return;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    try {
      unlinkSync(this.file);
    } catch {
      // already gone
    }
    live.delete(this.file);
    forgetOnExit(this.file);
  }
}

function spillError(file: string, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new UserError(`no space left in ${dirname(file)} for the maps above the memory budget; free disk space, raise attentionInspector.memoryBudgetMB or use fewer tokens`);
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new UserError(`cannot write spilled maps to ${file}: ${code}; point TMPDIR at a writable folder or raise attentionInspector.memoryBudgetMB`);
  }
  return e instanceof Error ? e : new Error(String(e));
}

/** Spill files currently on disk (tests check that dropping a capture deletes them). */
export function liveSpillFiles(): string[] {
  return [...live];
}
