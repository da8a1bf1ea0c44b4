/**
 * A strict safetensors reader. The header is validated in full before any tensor buffer is
 * allocated, because a hostile or truncated file could otherwise make us allocate gigabytes or
 * read past the end. Tensors are read one at a time by offset (never the whole file), so a
 * checkpoint larger than memory can be walked layer by layer.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../common/errors';
import { requireRegularFile } from '../regularFile';
import { halfToFloat } from '../capture/tensorData';

/** Headers above this are refused: real ones are a few hundred kB even for 400-shard models. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** Byte sizes of the dtypes the safetensors spec defines; only the float ones can be read. */
const DTYPE_BYTES: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
};
const READABLE = new Set(['F32', 'F16', 'BF16']);

export interface TensorEntry {
  name: string;
  dtype: string;
  shape: number[];
  /** Absolute byte offsets in the file. */
  begin: number;
  end: number;
}

function fail(file: string, what: string): never {
  throw new UserError(
    `${path.basename(file)}: ${what}; the safetensors file is corrupt or not a safetensors file (re-export it with safetensors.torch.save_file).`,
  );
}

/** Validates a header's JSON against the file size; pure, so tests can feed it absurd input. */
export function parseHeader(file: string, json: string, headerLen: number, fileSize: number): Map<string, TensorEntry> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    fail(file, 'header is not valid JSON');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) fail(file, 'header is not a JSON object');
  const dataStart = 8 + headerLen;
  const dataBytes = fileSize - dataStart;
  const entries: TensorEntry[] = [];
  for (const [name, raw] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!e || typeof e !== 'object') fail(file, `entry "${name}" is not an object`);
    if (typeof e.dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, e.dtype)) {
      fail(file, `tensor "${name}" has unknown dtype ${JSON.stringify(e.dtype)}`);
    }
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(file, `tensor "${name}" has an invalid shape`);
    }
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(file, `tensor "${name}" has invalid data_offsets`);
    }
    const [b, end] = offs as number[];
    if (b > end || end > dataBytes) {
      fail(file, `tensor "${name}" lies outside the file (offsets ${b}..${end}, ${dataBytes} data bytes)`);
    }
    let count = 1;
    for (const d of shape as number[]) {
      count *= d;
      if (count * DTYPE_BYTES[e.dtype] > dataBytes) fail(file, `tensor "${name}" shape is larger than the file`);
    }
    if (count * DTYPE_BYTES[e.dtype] !== end - b) {
      fail(file, `tensor "${name}" shape [${(shape as number[]).join(', ')}] x ${e.dtype} does not match its ${end - b} bytes`);
    }
    entries.push({ name, dtype: e.dtype, shape: shape as number[], begin: dataStart + b, end: dataStart + end });
  }
  const sorted = [...entries].sort((x, y) => x.begin - y.begin);
  let last: TensorEntry | undefined;
  for (const e of sorted) {
    if (e.end === e.begin) continue;
    if (last && e.begin < last.end) fail(file, `tensors "${last.name}" and "${e.name}" overlap`);
    if (!last || e.end > last.end) last = e;
  }
  return new Map(entries.map((e) => [e.name, e]));
}

export function f16ToF32(src: Uint16Array, out = new Float32Array(src.length)): Float32Array {
  for (let i = 0; i < src.length; i++) out[i] = halfToFloat(src[i]);
  return out;
}

export function bf16ToF32(src: Uint16Array, out = new Float32Array(src.length)): Float32Array {
  const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
  return out;
}

export class SafetensorsFile {
  private constructor(
    readonly file: string,
    private readonly handle: fsp.FileHandle,
    readonly tensors: Map<string, TensorEntry>,
  ) {}

  static async open(file: string): Promise<SafetensorsFile> {
    let handle: fsp.FileHandle;
    requireRegularFile(file, 'a safetensors checkpoint', 'keep the real weights file there');
    try {
      handle = await fsp.open(file, 'r');
    } catch (err) {
      throw new UserError(`${path.basename(file)}: cannot open (${(err as NodeJS.ErrnoException).code ?? 'error'}); check the path and permissions.`);
    }
    try {
      const size = (await handle.stat()).size;
      if (size < 8) fail(file, `file is only ${size} bytes`);
      const lenBuf = Buffer.alloc(8);
      await handle.read(lenBuf, 0, 8, 0);
      const len = lenBuf.readBigUInt64LE(0);
      if (len > BigInt(MAX_HEADER_BYTES)) fail(file, `header length ${len} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
      if (len + 8n > BigInt(size)) fail(file, `header length ${len} exceeds the file size ${size}`);
      const n = Number(len);
      const header = Buffer.alloc(n);
      await handle.read(header, 0, n, 8);
      const tensors = parseHeader(file, header.toString('utf8'), n, size);
      return new SafetensorsFile(file, handle, tensors);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  entry(name: string): TensorEntry {
    const e = this.tensors.get(name);
    if (!e) throw new UserError(`${path.basename(this.file)}: no tensor "${name}"; the checkpoint does not match its config.json.`);
    return e;
  }

  /** The whole tensor as float32. */
  async read(name: string): Promise<Float32Array> {
    const e = this.entry(name);
    const rows = e.shape.length ? e.shape[0] : 1;
    return this.readRows(name, 0, rows);
  }

  /** Rows [r0, r1) of a tensor along its first axis, as float32: one read of exactly those bytes. */
  async readRows(name: string, r0: number, r1: number): Promise<Float32Array> {
    const e = this.entry(name);
    if (!READABLE.has(e.dtype)) {
      throw new UserError(`${path.basename(this.file)}: tensor "${name}" is ${e.dtype}; only F32, F16 and BF16 weights are supported.`);
    }
    const rows = e.shape.length ? e.shape[0] : 1;
    if (!(r0 >= 0 && r1 <= rows && r0 <= r1)) throw new Error(`rows ${r0}..${r1} out of range for ${name}`);
    const rowElems = e.shape.slice(1).reduce((a, b) => a * b, 1);
    const bytes = DTYPE_BYTES[e.dtype];
    const count = (r1 - r0) * rowElems;
    const out = new Float32Array(count);
    const raw = e.dtype === 'F32' ? new Uint8Array(out.buffer) : new Uint8Array(count * bytes);
    // Node caps one read at 2 GiB, and an fp32 vocabulary table can exceed that.
    const start = e.begin + r0 * rowElems * bytes;
    for (let done = 0; done < raw.length; ) {
      const want = Math.min(raw.length - done, 1 << 30);
      const { bytesRead } = await this.handle.read(raw, done, want, start + done);
      if (bytesRead !== want) fail(this.file, `tensor "${name}" is truncated`);
      done += want;
    }
    if (e.dtype === 'F32') return out;
    const halves = new Uint16Array(raw.buffer, 0, count);
    return e.dtype === 'F16' ? f16ToF32(halves, out) : bf16ToF32(halves, out);
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
