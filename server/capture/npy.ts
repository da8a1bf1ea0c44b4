/**
 * NumPy .npy files on disk: written atomically, read by pieces. The format itself (header,
 * little-endian float32 data) is common/npy.ts.
 */
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { LITTLE_ENDIAN_HOST, littleEndianBytes, npyChunks, npyHeaderBytes, npyTruncated, parseNpyHeader } from '../../common/npy';
import { WRITE_PIECE_BYTES, commitPartial, discardPartial, writeError, writePartial } from '../files/atomicWrite';
import { UserError } from '../../common/errors';

/**
 * Written whole or not at all (server/files/atomicWrite.ts): a temporary name, renamed when every
 * byte is out, in pieces under the 2 GiB limit of one write().
 */
export function writeNpy(path: string, data: Float32Array, shape: number[]): void {
  commitPartial(writePartial(path, npyChunks(data, shape)), path);
}

/**
 * A [heads, queries, keys] map written by blocks of query rows as they are computed (layers run
 * by query blocks), so the whole map never sits in memory: each block's rows go to their places
 * in the file with positional writes, one run of rows per head. Still whole or not at all: the
 * rows go to a temporary file renamed by commit() once every row is written.
 */
export class NpyRowWriter {
  private fd?: number;
  private readonly temp: string;
  private readonly dataOffset: number;
  private written = 0;

  constructor(
    readonly path: string,
    readonly shape: [number, number, number],
  ) {
    const head = npyHeaderBytes(shape);
    this.temp = writePartial(path, [head]);
    this.dataOffset = head.length;
    try {
      this.fd = openSync(this.temp, 'r+');
    } catch (e) {
      discardPartial(this.temp);
      throw writeError(path, e);
    }
  }

  /** Rows start .. start + rows - 1, C order [heads, rows, keys]. */
  writeRows(start: number, rows: number, data: Float32Array): void {
    const [heads, queries, keys] = this.shape;
    if (data.length !== heads * rows * keys || start + rows > queries) throw new Error(`npy: ${data.length} values for rows ${start}..${start + rows} of [${this.shape.join(', ')}]`);
    const bytes = littleEndianBytes(data);
    const run = rows * keys * 4;
    try {
      for (let h = 0; h < heads; h++) {
        const at = this.dataOffset + ((h * queries + start) * keys) * 4;
        for (let off = 0; off < run; ) off += writeSync(this.fd!, bytes, h * run + off, Math.min(WRITE_PIECE_BYTES, run - off), at + off);
      }
    } catch (e) {
      this.discard();
      throw writeError(this.path, e);
    }
    this.written += rows;
  }

  /** Whether every row has been written. */
  get complete(): boolean {
    return this.written >= this.shape[1];
  }

  commit(): void {
    if (!this.complete) throw new Error(`npy: ${this.path}: ${this.written} of ${this.shape[1]} rows written`);
    closeSync(this.fd!);
    this.fd = undefined;
    commitPartial(this.temp, this.path);
  }

  discard(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    discardPartial(this.temp);
  }
}

/** Read by pieces into the array itself: no 2 GiB file-size limit, no second copy. */
export function readNpy(path: string): { data: Float32Array; shape: number[] } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    throw new UserError(`${path}: cannot read the file; check the path`);
  }
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(Math.min(size, 12 + 65536));
    readSync(fd, head, 0, head.length, 0);
    const { shape, offset, count } = parseNpyHeader(head, path);
    if (size - offset < count * 4) throw npyTruncated(path, size - offset, count);
    const data = new Float32Array(count);
    const bytes = new Uint8Array(data.buffer);
    for (let done = 0; done < bytes.length; ) {
      const n = readSync(fd, bytes, done, Math.min(WRITE_PIECE_BYTES, bytes.length - done), offset + done);
      if (n === 0) throw npyTruncated(path, done, count);
      done += n;
    }
    if (!LITTLE_ENDIAN_HOST) {
      const view = new DataView(data.buffer);
      for (let i = 0; i < count; i++) data[i] = view.getFloat32(i * 4, true);
    }
    return { data, shape };
  } finally {
    closeSync(fd);
  }
}
