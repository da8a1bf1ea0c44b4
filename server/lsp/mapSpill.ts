/**
 * Full-resolution maps kept on disk instead of in memory: a 4096-token capture of a
 * GPT-2-small-sized model is 12 layers x 12 heads x 4096^2 floats = 9.2 GB, more than the
 * runtime should hold, while a tile of one head is a few rows read by offset. Each spilled layer
 * is one raw float32 file under os.tmpdir(), deleted when the store drops it and, as a last
 * resort, when the process exits.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let spillDir: string | undefined;
const live = new Set<string>();

function dir(): string {
  if (!spillDir) {
    spillDir = mkdtempSync(join(tmpdir(), 'attention-inspector-maps-'));
    // Synchronous on purpose: 'exit' handlers cannot wait, and a crash should not leave GBs behind.
    process.once('exit', () => {
      for (const f of live) {
        try {
          unlinkSync(f);
        } catch {
          // already gone
        }
      }
      if (spillDir) rmSync(spillDir, { recursive: true, force: true });
    });
  }
  return spillDir;
}

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
    this.file = join(dir(), `map-${process.pid}-${++counter}.f32`);
    live.add(this.file);
    this.fd = openSync(this.file, 'w+', 0o600);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    // Writes in 64 MiB pieces: one writeSync of several GB hits the 2 GiB syscall limit.
    const piece = 64 * 2 ** 20;
    for (let off = 0; off < bytes.length; ) {
      off += writeSync(this.fd, bytes, off, Math.min(piece, bytes.length - off), off);
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
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    try {
      unlinkSync(this.file);
    } catch {
      // already gone
    }
    live.delete(this.file);
  }
}

/** Spill files currently on disk (tests check that dropping a capture deletes them). */
export function liveSpillFiles(): string[] {
  return [...live];
}
