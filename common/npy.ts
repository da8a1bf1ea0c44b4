/**
 * NumPy .npy bytes (format v1.0) for attention maps: float32, little-endian, C order, so
 * `numpy.load("layer_0.npy")` gives the [heads, q, k] array with no conversion step. Encoding
 * and decoding in memory, for the runtime, the CLI and the panel exports alike; reading and
 * writing files stays with the runtime (server/capture/npy.ts).
 */
import { UserError } from './errors';

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

export function npyHeaderBytes(shape: number[]): Buffer {
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

/** Whether this machine stores numbers little-endian, as .npy data is (every platform VS Code runs on). */
export const LITTLE_ENDIAN_HOST = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** The float32 bytes in little-endian order; a view (no copy) on little-endian hosts. */
export function littleEndianBytes(data: Float32Array): Uint8Array {
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
  return Buffer.concat([npyHeaderBytes(shape), littleEndianBytes(data)]);
}

/** Header and data as separate chunks: a layer map can be several GB, not worth copying. */
export function npyChunks(data: Float32Array, shape: number[]): Uint8Array[] {
  checkShape(data, shape);
  return [npyHeaderBytes(shape), littleEndianBytes(data)];
}

/** Header text in a message: a damaged file's bytes, quoted and short, so the message stays one line. */
function shown(text: string | undefined): string {
  return text === undefined ? 'nothing' : JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

export interface NpyHeader {
  shape: number[];
  /** Byte offset of the data. */
  offset: number;
  count: number;
}

/** The header of the .npy bytes at the start of buf; name is the file or data named in errors. */
export function parseNpyHeader(buf: Uint8Array, name: string): NpyHeader {
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

export function npyTruncated(name: string, dataBytes: number, count: number): UserError {
  return new UserError(`${name}: truncated (${dataBytes} data bytes for ${count} float32 values)`);
}

export function decodeNpy(buf: Buffer, name = 'npy data'): { data: Float32Array; shape: number[] } {
  const { shape, offset, count } = parseNpyHeader(buf, name);
  if (buf.length - offset < count * 4) throw npyTruncated(name, buf.length - offset, count);
  const data = new Float32Array(count);
  if (LITTLE_ENDIAN_HOST) new Uint8Array(data.buffer).set(buf.subarray(offset, offset + count * 4));
  else for (let i = 0; i < count; i++) data[i] = buf.readFloatLE(offset + i * 4);
  return { data, shape };
}
