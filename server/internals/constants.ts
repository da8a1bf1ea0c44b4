/**
 * Reading constant tensors out of an ONNX graph as float32: initializers (raw, float_data,
 * float16, external data read in place) and Constant nodes, followed through the ops that keep a
 * constant constant (a weight stored transposed, cast or reshaped). The output projection's
 * weight and the score scale come from here, so the value-weighted norms use the very numbers
 * the model runs with.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import { UserError } from '../../common/errors';
import { halfToFloat } from '../capture/tensorData';

export interface ConstTensor {
  dims: number[];
  data: Float32Array;
}

function externalBytes(t: onnx.ITensorProto, dir: string): Uint8Array {
  const kv = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
  const file = join(dir, kv.get('location') ?? '');
  const offset = Number(kv.get('offset') ?? 0);
  const length = Number(kv.get('length') ?? 0);
  const out = new Uint8Array(length);
  const fd = openSync(file, 'r');
  try {
    for (let done = 0; done < length; ) {
      const got = readSync(fd, out, done, length - done, offset + done);
      if (got <= 0) throw new UserError(`${file}: external data of ${t.name} ends early; re-export the model`);
      done += got;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/** A TensorProto's values as float32 (FLOAT, FLOAT16, DOUBLE, INT64 for shapes). */
export function tensorValues(t: onnx.ITensorProto, dir: string): ConstTensor {
  const dims = (t.dims ?? []).map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const T = onnx.TensorProto.DataType;
  const raw = t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL ? externalBytes(t, dir) : t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : undefined;
  const data = new Float32Array(count);
  switch (t.dataType) {
    case T.FLOAT:
      for (let i = 0; i < count; i++) data[i] = view ? view.getFloat32(i * 4, true) : (t.floatData ?? [])[i];
      break;
    case T.FLOAT16:
      for (let i = 0; i < count; i++) data[i] = halfToFloat(view ? view.getUint16(i * 2, true) : Number((t.int32Data ?? [])[i]));
      break;
    case T.DOUBLE:
      for (let i = 0; i < count; i++) data[i] = view ? view.getFloat64(i * 8, true) : (t.doubleData ?? [])[i];
      break;
    case T.INT64:
      for (let i = 0; i < count; i++) data[i] = view ? Number(view.getBigInt64(i * 8, true)) : Number((t.int64Data ?? [])[i]);
      break;
    default:
      throw new UserError(`constant ${t.name} has data type ${t.dataType}; internals read float32, float16 or float64 weights`);
  }
  return { dims, data };
}

function transpose(x: ConstTensor, perm: number[]): ConstTensor {
  const rank = x.dims.length;
  const p = perm.length === rank ? perm : [...Array(rank).keys()].reverse();
  const dims = p.map((i) => x.dims[i]);
  const inStride = new Array<number>(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) inStride[i] = inStride[i + 1] * x.dims[i + 1];
  const out = new Float32Array(x.data.length);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let a = 0; a < rank; a++) src += idx[a] * inStride[p[a]];
    out[o] = x.data[src];
    for (let a = rank - 1; a >= 0; a--) {
      if (++idx[a] < dims[a]) break;
      idx[a] = 0;
    }
  }
  return { dims, data: out };
}

/** Looks up constants of one graph by tensor name. */
export class GraphConstants {
  private readonly inits = new Map<string, onnx.ITensorProto>();
  private readonly producer = new Map<string, onnx.INodeProto>();
  private readonly memo = new Map<string, ConstTensor | undefined>();

  constructor(
    model: onnx.IModelProto,
    /** Folder external data locations resolve against. */
    private readonly dir: string,
  ) {
    for (const t of model.graph?.initializer ?? []) this.inits.set(t.name ?? '', t);
    for (const n of model.graph?.node ?? []) for (const o of n.output ?? []) this.producer.set(o, n);
  }

  /** Whether the tensor is a constant, decided from the graph alone (no weight is read). */
  isConst(name: string, depth = 0): boolean {
    if (this.inits.has(name)) return true;
    const n = this.producer.get(name);
    if (!n || depth >= 6) return false;
    if (n.opType === 'Constant') return true;
    const first = n.input?.[0];
    return !!first && ['Identity', 'Cast', 'Reshape', 'Squeeze', 'Unsqueeze', 'Transpose'].includes(n.opType ?? '') && this.isConst(first, depth + 1);
  }

  /** A 2-D weight's shape: an initializer's dims without reading it, else from its values. */
  dims(name: string): number[] | undefined {
    const init = this.inits.get(name);
    return init ? (init.dims ?? []).map(Number) : this.get(name)?.dims;
  }

  /** The constant's values, or undefined when the tensor depends on an input. */
  get(name: string, depth = 0): ConstTensor | undefined {
    if (this.memo.has(name)) return this.memo.get(name);
    let v: ConstTensor | undefined;
    const init = this.inits.get(name);
    const n = this.producer.get(name);
    if (init) v = tensorValues(init, this.dir);
    else if (n && depth < 6) {
      const attr = (k: string) => (n.attribute ?? []).find((a) => a.name === k);
      const first = n.input?.[0];
      if (n.opType === 'Constant') {
        const a = attr('value');
        if (a?.t) v = tensorValues(a.t, this.dir);
        else if (attr('value_float')) v = { dims: [], data: Float32Array.of(attr('value_float')!.f ?? 0) };
      } else if (first && ['Identity', 'Cast', 'Reshape', 'Squeeze', 'Unsqueeze'].includes(n.opType ?? '')) {
        const x = this.get(first, depth + 1);
        // Reshape keeps C order: same values, shape from the second input.
        if (x && n.opType === 'Reshape') {
          const s = this.get(n.input?.[1] ?? '', depth + 1);
          if (s) {
            const known = [...s.data].map((d, i) => (d === 0 ? x.dims[i] : d));
            const free = known.indexOf(-1);
            if (free >= 0) known[free] = x.data.length / known.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
            v = { dims: known, data: x.data };
          }
        } else if (x) v = x;
      } else if (first && n.opType === 'Transpose') {
        const x = this.get(first, depth + 1);
        if (x) v = transpose(x, (attr('perm')?.ints ?? []).map(Number));
      }
    }
    this.memo.set(name, v);
    return v;
  }

  /** A scalar constant's value (a one-element tensor), else undefined. */
  scalar(name: string): number | undefined {
    const v = this.get(name);
    return v && v.data.length === 1 ? v.data[0] : undefined;
  }
}
