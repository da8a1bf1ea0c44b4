/**
 * Writes tiny Hugging Face folders for tests: a safetensors writer (F32/F16/BF16), optional
 * sharding with model.safetensors.index.json, and config.json. Half-precision rounding is done
 * arithmetically here (round to nearest, ties to even), independently of the runtime's decoder,
 * so tests can compare against the float32 values the stored halves stand for.
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type StoreDType = 'F32' | 'F16' | 'BF16';
export interface Tensor {
  shape: number[];
  data: Float32Array;
}
export type Tensors = Record<string, Tensor>;

/**
 * The temporary folder a test file writes its checkpoints in: made before its tests run and
 * removed after (hooks of the suite it is called in; at the top of a file, of the whole run).
 */
export function checkpointsFolder(prefix: string): { path: string } {
  const folder = { path: '' };
  before(() => {
    folder.path = mkdtempSync(join(tmpdir(), prefix));
  });
  after(() => {
    if (folder.path) rmSync(folder.path, { recursive: true, force: true });
  });
  return folder;
}

/** Seeded uniform values in [-scale, scale). */
export function rng(seed: number): (scale?: number) => number {
  let s = seed >>> 0;
  return (scale = 1) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  };
}

export function randomTensor(rand: (s?: number) => number, shape: number[], scale: number, offset = 0): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = offset + rand(scale);
  return { shape, data };
}

/** x rounded to a float with `mantissa` fraction bits and minimum normal exponent `minExp`. */
function roundTo(x: number, mantissa: number, minExp: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const e = Math.max(Math.floor(Math.log2(Math.abs(x))), minExp);
  const q = 2 ** (e - mantissa);
  const r = x / q;
  let n = Math.round(r);
  if (Math.abs(r - Math.trunc(r)) === 0.5 && n % 2 !== 0) n -= Math.sign(r); // ties to even
  return n * q;
}
export const roundF16 = (x: number) => roundTo(x, 10, -14);
export const roundBf16 = (x: number) => roundTo(x, 7, -126);

function f16Bits(v: number): number {
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a === 0) return sign;
  const e = Math.floor(Math.log2(a));
  if (e < -14) return sign | Math.round(a / 2 ** -24); // subnormal
  const frac = Math.round((a / 2 ** e - 1) * 1024);
  return sign | ((e + 15) << 10) | frac;
}

/** The values a tensor stands for once stored in `dtype`. */
export function stored(t: Tensor, dtype: StoreDType): Tensor {
  if (dtype === 'F32') return t;
  const round = dtype === 'F16' ? roundF16 : roundBf16;
  return { shape: t.shape, data: t.data.map(round) };
}

function encode(t: Tensor, dtype: StoreDType): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const r = stored(t, dtype).data;
  const out = new Uint16Array(r.length);
  if (dtype === 'BF16') {
    const bits = new Uint32Array(r.buffer, r.byteOffset, r.length);
    for (let i = 0; i < r.length; i++) out[i] = bits[i] >>> 16;
  } else {
    for (let i = 0; i < r.length; i++) out[i] = f16Bits(r[i]);
  }
  return new Uint8Array(out.buffer);
}

/** Builds a safetensors file from a raw header object and data, for corrupt-file tests too. */
export function rawSafetensors(header: unknown, data: Uint8Array, headerLen?: bigint): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(headerLen ?? BigInt(json.length));
  return Buffer.concat([len, json, data]);
}

export function safetensorsBytes(tensors: Tensors, dtype: StoreDType): Buffer {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = encode(t, dtype);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    parts.push(bytes);
    offset += bytes.length;
  }
  return rawSafetensors(header, Buffer.concat(parts));
}

export interface FolderOptions {
  dtype?: StoreDType;
  /** Split into this many shards with an index (default 1: model.safetensors). */
  shards?: number;
  /** Prefix put before every tensor name that is not a head (e.g. "transformer."). */
  prefix?: string;
}

/** Writes config.json and the weights; names listed in `unprefixed` keep their name. */
export function writeHfFolder(dir: string, config: object, tensors: Tensors, opts: FolderOptions = {}, unprefixed: string[] = []): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const named: Tensors = {};
  for (const [n, t] of Object.entries(tensors)) named[unprefixed.includes(n) ? n : (opts.prefix ?? '') + n] = t;
  const dtype = opts.dtype ?? 'F32';
  const shards = opts.shards ?? 1;
  if (shards === 1) {
    writeFileSync(join(dir, 'model.safetensors'), safetensorsBytes(named, dtype));
    return;
  }
  const names = Object.keys(named);
  const weightMap: Record<string, string> = {};
  for (let s = 0; s < shards; s++) {
    const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    const part: Tensors = {};
    names.filter((_, i) => i % shards === s).forEach((n) => {
      part[n] = named[n];
      weightMap[n] = file;
    });
    writeFileSync(join(dir, file), safetensorsBytes(part, dtype));
  }
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
}

/**
 * Writes a large F32 safetensors file one tensor at a time, so a test can make a checkpoint of
 * hundreds of MB without holding it in memory.
 */
export function writeLargeF32(file: string, specs: { name: string; shape: number[] }[], fill: (name: string, out: Float32Array) => void): number {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const s of specs) {
    const bytes = s.shape.reduce((a, b) => a * b, 4);
    header[s.name] = { dtype: 'F32', shape: s.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, rawSafetensors(header, new Uint8Array(0)));
    for (const s of specs) {
      const data = new Float32Array(s.shape.reduce((a, b) => a * b, 1));
      fill(s.name, data);
      writeSync(fd, new Uint8Array(data.buffer));
    }
  } finally {
    closeSync(fd);
  }
  return offset;
}
