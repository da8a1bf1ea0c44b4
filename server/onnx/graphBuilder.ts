/**
 * A small typed builder for ONNX graphs, encoded with the onnx-proto protobuf definitions.
 * Everything the runtime executes that is not a user's ONNX file is built with it: the sample
 * models, the test graphs (torch- and HF-style), Hugging Face checkpoints rebuilt as graphs,
 * the attention variants, and the standard ops that com.microsoft fused attention nodes are
 * expanded into (a fragment spliced into the user's graph, see fragment()). Keeping one builder
 * means one place knows the wire format.
 */
import { onnx } from 'onnx-proto';

export type DType = 'float32' | 'float16' | 'int64' | 'int32' | 'bool' | 'uint8';
export type Dim = number | string;

/** Where a tensor's raw little-endian bytes lie in a file. */
export interface ExternalRef {
  location: string;
  offset: number;
  length: number;
}

const DTYPE_CODE: Record<DType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float16: onnx.TensorProto.DataType.FLOAT16,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  bool: onnx.TensorProto.DataType.BOOL,
  uint8: onnx.TensorProto.DataType.UINT8,
};

/** The ONNX TensorProto.DataType code of a dtype (what a Cast's `to` attribute takes). */
export function onnxDataType(dtype: DType): number {
  return DTYPE_CODE[dtype];
}

/** IEEE half-precision bits of v (round to nearest; magnitudes past 65504 clamp to it). */
export function floatToHalf(v: number): number {
  if (v === 0) return 0;
  const sign = v < 0 ? 0x8000 : 0;
  const a = Math.min(Math.abs(v), 65504);
  const e = Math.floor(Math.log2(a));
  if (e < -14) return sign | Math.round(a / 2 ** -24);
  // Added, not or-ed: a mantissa that rounds up to 1024 carries into the exponent (2047.9 -> 2048).
  return sign | (((e + 15) << 10) + Math.round((a / 2 ** e - 1) * 1024));
}

export type AttrValue = number | string | number[] | string[] | { tensor: onnx.ITensorProto } | { float: number };

export interface NodeOptions {
  /** Node name; a unique one is generated when omitted. */
  name?: string;
  domain?: string;
  attrs?: Record<string, AttrValue>;
  /** How many outputs to create (default 1), or explicit output names. */
  outputs?: number | string[];
}

function valueInfo(name: string, dtype: DType, shape?: Dim[]): onnx.IValueInfoProto {
  const tensorType: onnx.TypeProto.ITensor = { elemType: DTYPE_CODE[dtype] };
  if (shape) {
    tensorType.shape = {
      dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
    };
  }
  return { name, type: { tensorType } };
}

/** Integers that are whole numbers go to `i`/`ints`; wrap a float in {float: x} to force FLOAT. */
function attribute(name: string, v: AttrValue): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'number') {
    return Number.isInteger(v) ? { name, type: T.INT, i: v } : { name, type: T.FLOAT, f: v };
  }
  if (Array.isArray(v)) {
    if (v.length > 0 && typeof v[0] === 'string') {
      return { name, type: T.STRINGS, strings: (v as string[]).map((s) => new TextEncoder().encode(s)) };
    }
    const nums = v as number[];
    return nums.every((x) => Number.isInteger(x))
      ? { name, type: T.INTS, ints: nums }
      : { name, type: T.FLOATS, floats: nums };
  }
  if ('float' in v) return { name, type: T.FLOAT, f: v.float };
  return { name, type: T.TENSOR, t: v.tensor };
}

export function tensorProto(
  name: string,
  dtype: DType,
  dims: number[],
  data: Float32Array | BigInt64Array | Int32Array | Uint8Array | Uint16Array,
): onnx.ITensorProto {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (data.length !== expected) {
    throw new Error(`tensor ${name}: ${data.length} values for shape [${dims.join(', ')}]`);
  }
  return {
    name,
    dataType: DTYPE_CODE[dtype],
    dims,
    // A Buffer view (no copy): protobufjs encodes Buffers about twice as fast as plain
    // Uint8Arrays (0.9 s against 1.8 s for 188 MB of weights, measured here).
    rawData:
      typeof Buffer !== 'undefined'
        ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
        : new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

export class GraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly usedNames = new Set<string>();
  private counter = 0;
  private readonly extraOpsets = new Map<string, number>();

  /**
   * namePrefix starts every name the builder makes up: a fragment spliced into another graph
   * (a fused node expanded in place) takes the node's name plus '/', so no generated name can
   * collide with one of the host graph's.
   */
  constructor(
    readonly graphName: string,
    readonly opset = 17,
    private readonly namePrefix = '',
  ) {}

  /** A fresh tensor/node name: the builder's name prefix, then `prefix`, then a number. */
  fresh(prefix: string): string {
    return this.unique(`${this.namePrefix}${prefix}`);
  }

  private unique(stem: string): string {
    let name = `${stem}_${this.counter++}`;
    while (this.usedNames.has(name)) name = `${stem}_${this.counter++}`;
    this.usedNames.add(name);
    return name;
  }

  input(name: string, dtype: DType, shape?: Dim[]): string {
    this.usedNames.add(name);
    this.inputs.push(valueInfo(name, dtype, shape));
    return name;
  }

  output(name: string, dtype: DType = 'float32', shape?: Dim[]): string {
    this.outputs.push(valueInfo(name, dtype, shape));
    return name;
  }

  /** A weight or constant stored in the graph. Returns its name. */
  initializer(
    name: string,
    dtype: DType,
    dims: number[],
    data: Float32Array | BigInt64Array | Int32Array | Uint8Array | Uint16Array,
  ): string {
    const unique = this.usedNames.has(name) ? this.unique(name) : name;
    this.usedNames.add(unique);
    this.initializers.push(tensorProto(unique, dtype, dims, data));
    return unique;
  }

  /**
   * A weight onnxruntime reads from a file when the session is made (ONNX external data):
   * `location` relative to the folder the session is told (model_external_initializers_file_folder_path).
   */
  externalInitializer(name: string, dtype: DType, dims: number[], ref: ExternalRef): string {
    const unique = this.usedNames.has(name) ? this.unique(name) : name;
    this.usedNames.add(unique);
    this.initializers.push({
      name: unique,
      dataType: DTYPE_CODE[dtype],
      dims,
      dataLocation: 1, // onnx.TensorProto.DataLocation.EXTERNAL
      externalData: [
        { key: 'location', value: ref.location },
        { key: 'offset', value: String(ref.offset) },
        { key: 'length', value: String(ref.length) },
      ],
    });
    return unique;
  }

  f32(name: string, dims: number[], data: Float32Array | number[]): string {
    return this.initializer(name, 'float32', dims, data instanceof Float32Array ? data : Float32Array.from(data));
  }

  i64(name: string, values: number[], dims: number[] = [values.length]): string {
    return this.initializer(name, 'int64', dims, BigInt64Array.from(values.map((v) => BigInt(v))));
  }

  scalar(name: string, value: number): string {
    return this.initializer(name, 'float32', [], Float32Array.of(value));
  }

  /** An unnamed int64 1-D constant (shapes, axes, Slice bounds). */
  ints(values: number[]): string {
    return this.i64(this.fresh('const'), values);
  }

  /** An unnamed int64 scalar (rank 0), as Range and Gather indices want. */
  int(value: number): string {
    return this.i64(this.fresh('const'), [value], []);
  }

  /** An unnamed float scalar of the given precision (scales and mask fills next to fp16 weights). */
  floatScalar(value: number, dtype: 'float32' | 'float16'): string {
    const data = dtype === 'float16' ? Uint16Array.of(floatToHalf(value)) : Float32Array.of(value);
    return this.initializer(this.fresh('const'), dtype, [], data);
  }

  /** Size of one axis of x, as an int64 scalar (Gather on Shape works from opset 13). */
  dim(x: string, axis: number): string {
    return this.node('Gather', [this.node('Shape', [x]), this.int(axis)], { attrs: { axis: 0 } });
  }

  /** Adds a node and returns its first output name (use nodeN for several). */
  node(opType: string, inputs: string[], opts: NodeOptions = {}): string {
    return this.nodeN(opType, inputs, opts)[0];
  }

  nodeN(opType: string, inputs: string[], opts: NodeOptions = {}): string[] {
    const name = opts.name ?? this.fresh(opType);
    this.usedNames.add(name);
    const outs =
      Array.isArray(opts.outputs)
        ? opts.outputs
        : Array.from({ length: opts.outputs ?? 1 }, (_, i) => this.unique(`${name}_out${i}`));
    for (const o of outs) this.usedNames.add(o);
    if (opts.domain && !this.extraOpsets.has(opts.domain)) this.extraOpsets.set(opts.domain, 1);
    this.nodes.push({
      name,
      opType,
      domain: opts.domain ?? '',
      input: inputs,
      output: outs,
      attribute: Object.entries(opts.attrs ?? {}).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  /** Declares the version of a non-default domain (e.g. com.microsoft). */
  useDomain(domain: string, version: number): void {
    this.extraOpsets.set(domain, version);
  }

  /** The nodes and initializers built so far, to splice into another graph. */
  fragment(): { nodes: onnx.INodeProto[]; initializers: onnx.ITensorProto[] } {
    return { nodes: this.nodes, initializers: this.initializers };
  }

  toModel(producer = 'attention-inspector'): onnx.IModelProto {
    return {
      irVersion: 8,
      producerName: producer,
      opsetImport: [
        { domain: '', version: this.opset },
        ...[...this.extraOpsets].map(([domain, version]) => ({ domain, version })),
      ],
      graph: {
        name: this.graphName,
        node: this.nodes,
        input: this.inputs,
        output: this.outputs,
        initializer: this.initializers,
      },
    };
  }

  toBytes(producer?: string): Uint8Array {
    return onnx.ModelProto.encode(onnx.ModelProto.create(this.toModel(producer))).finish();
  }
}
