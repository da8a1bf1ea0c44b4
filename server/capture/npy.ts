/**
 * NumPy .npy files (format v1.0) for attention maps: float32, little-endian, C order, so
 * `numpy.load("layer_0.npy")` gives the [heads, q, k] array with no conversion step.
 */
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import { WRITE_PIECE_BYTES, commitPartial, discardPartial, writeError, writePartial } from '../files/atomicWrite';
import { UserError } from './types';

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

function header(shape: number[]): Buffer {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  // The spec pads magic + version + length + dict + '\n' to a multiple of 64 bytes so the
  // data is aligned for memory mapping.
  const unpadded = MAGIC.length + 2 + 2 + dict.length + 1;
  const padded = Math.ceil(unpadded / 64) * 64;
  const text = dict + ' '.repeat(padded - unpadded) + '\n';
  const out = Buffer.alloc(MAGIC.length + 4);
  MAGIC.copy(out, 0);
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(text.length, 8);
  return Buffer.concat([out, Buffer.from(text, 'latin1')]);
}

const LITTLE_ENDIAN_HOST = endianness() === 'LE';

/** The float32 bytes in little-endian order; a view (no copy) on little-endian hosts. */
function littleEndianBytes(data: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN_HOST) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const body = Buffer.alloc(data.length * 4);
  for (let i = 0; i < data.length; i++) body.writeFloatLE(data[i], i * 4);
  return body;
}

function checkShape(data: Float32Array, shape: number[]): void {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`npy: ${data.length} values for shape [${shape.join(', ')}]`);
}

export function encodeNpy(data: Float32Array, shape: number[]): Buffer {
  checkShape(data, shape);
  return Buffer.concat([header(shape), littleEndianBytes(data)]);
}

/** Header and data as separate chunks: a layer map can be several GB, not worth copying. */
export function npyChunks(data: Float32Array, shape: number[]): Uint8Array[] {
  checkShape(data, shape);
  return [header(shape), littleEndianBytes(data)];
}

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
    const head = header(shape);
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

/** Header text in a message: a damaged file's bytes, quoted and short, so the message stays one line. */
function shown(text: string | undefined): string {
  return text === undefined ? 'nothing' : JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

interface NpyHeader {
  shape: number[];
  /** Byte offset of the data. */
  offset: number;
  count: number;
}

function parseHeader(buf: Uint8Array, name: string): NpyHeader {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 10 || !b.subarray(0, 6).equals(MAGIC)) {
    throw new UserError(`${name}: not a .npy file (bad magic); expected a NumPy array saved with numpy.save`);
  }
  const major = b[6];
  const headerLen = major === 1 ? b.readUInt16LE(8) : b.length >= 12 ? b.readUInt32LE(8) : 0;
  const start = major === 1 ? 10 : 12;
  const dict = b.subarray(start, start + headerLen).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(dict)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(dict)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(dict)?.[1];
  if (descr !== '<f4' || fortran !== 'False' || shapeText === undefined) {
    throw new UserError(`${name}: only little-endian float32 C-order arrays are supported (found ${shown(descr)}, fortran_order ${shown(fortran)})`);
  }
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new UserError(`${name}: bad shape ${shown(shapeText)} in the .npy header`);
  return { shape, offset: start + headerLen, count: shape.reduce((a, c) => a * c, 1) };
}

function truncated(name: string, dataBytes: number, count: number): UserError {
  return new UserError(`${name}: truncated (${dataBytes} data bytes for ${count} float32 values)`);
}

export function decodeNpy(buf: Buffer, name = 'npy data'): { data: Float32Array; shape: number[] } {
  const { shape, offset, count } = parseHeader(buf, name);
  if (buf.length - offset < count * 4) throw truncated(name, buf.length - offset, count);
  const data = new Float32Array(count);
  if (LITTLE_ENDIAN_HOST) new Uint8Array(data.buffer).set(buf.subarray(offset, offset + count * 4));
  else for (let i = 0; i < count; i++) data[i] = buf.readFloatLE(offset + i * 4);
  return { data, shape };
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
    const { shape, offset, count } = parseHeader(head, path);
    if (size - offset < count * 4) throw truncated(path, size - offset, count);
    const data = new Float32Array(count);
    const bytes = new Uint8Array(data.buffer);
    for (let done = 0; done < bytes.length; ) {
      const n = readSync(fd, bytes, done, Math.min(WRITE_PIECE_BYTES, bytes.length - done), offset + done);
      if (n === 0) throw truncated(path, done, count);
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
