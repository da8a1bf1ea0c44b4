/**
 * NumPy .npy files (format v1.0) for attention maps: float32, little-endian, C order, so
 * `numpy.load("layer_0.npy")` gives the [heads, q, k] array with no conversion step.
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
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

/** Header and data written separately: a layer map can be hundreds of MB, not worth copying. */
export function writeNpy(path: string, data: Float32Array, shape: number[]): void {
  checkShape(data, shape);
  const fd = openSync(path, 'w');
  try {
    for (const bytes of [header(shape), littleEndianBytes(data)]) {
      // One write takes at most 2 GiB - 1 bytes: a 12-head map of 8,192 tokens is 3.2 GB.
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, Math.min(bytes.length - done, 2 ** 30));
    }
  } finally {
    closeSync(fd);
  }
}

export function decodeNpy(buf: Buffer, name = 'npy data'): { data: Float32Array; shape: number[] } {
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) {
    throw new UserError(`${name}: not a .npy file (bad magic); expected a NumPy array saved with numpy.save`);
  }
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const dict = buf.subarray(start, start + headerLen).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(dict)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(dict)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(dict)?.[1];
  if (descr !== '<f4' || fortran !== 'False' || shapeText === undefined) {
    throw new UserError(`${name}: only little-endian float32 C-order arrays are supported (found ${descr}, fortran_order ${fortran})`);
  }
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLen;
  if (buf.length - offset < count * 4) {
    throw new UserError(`${name}: truncated (${buf.length - offset} data bytes for ${count} float32 values)`);
  }
  const data = new Float32Array(count);
  if (LITTLE_ENDIAN_HOST) new Uint8Array(data.buffer).set(buf.subarray(offset, offset + count * 4));
  else for (let i = 0; i < count; i++) data[i] = buf.readFloatLE(offset + i * 4);
  return { data, shape };
}

export function readNpy(path: string): { data: Float32Array; shape: number[] } {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch {
    throw new UserError(`${path}: cannot read the file; check the path`);
  }
  return decodeNpy(buf, path);
}
