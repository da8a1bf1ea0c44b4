/**
 * How a graph gets its weights. The family builders ask for HF tensors by name; the binder
 * decides whether they become initializers (whole model in one graph) or graph inputs fed
 * per run (layer-by-layer mode, where only one stage's weights are ever in memory).
 */
import type { Dim, ExternalRef, GraphBuilder } from '../onnx/graphBuilder';

export interface WeightBinder {
  has(name: string): boolean;
  shape(name: string): number[];
  /** A tensor used whole. */
  w(name: string): string;
  /** Rows of an embedding table picked by an int64 [T] host input: [T, width]. */
  rows(name: string, index: string): string;
  /** A vocabulary-sized tensor [V, ...] that may arrive in chunks of rows. */
  vocab(name: string): string;
}

/** Host-computed graph inputs every stage may ask for. */
export type HostInputName =
  | 'input_ids'
  | 'position_ids'
  | 'token_type_ids'
  /** Encoders: 1 for tokens to attend to, 0 for padding (all ones for one unpadded text). */
  | 'attention_mask'
  | 'rope_cos'
  | 'rope_sin'
  /** Causal; with a number W > 0, also only the last W keys (sliding window). */
  | `attn_bias_causal${number}`;

export interface BuildCtx {
  g: GraphBuilder;
  b: WeightBinder;
  /** Declares (once) and returns a host input. */
  input(name: HostInputName): string;
  /** The host inputs declared so far. */
  readonly hostInputs: string[];
}

export function makeCtx(g: GraphBuilder, b: WeightBinder, headDim: number): BuildCtx {
  const declared: string[] = [];
  return {
    g,
    b,
    hostInputs: declared,
    input(name) {
      if (!declared.includes(name)) {
        declared.push(name);
        if (name.startsWith('attn_bias_')) g.input(name, 'float32', ['T', 'T']);
        else if (name === 'rope_cos' || name === 'rope_sin') g.input(name, 'float32', ['T', headDim]);
        else g.input(name, 'int64', ['T']);
      }
      return name;
    },
  };
}

const safe = (name: string) => name.replace(/[^A-Za-z0-9_.]/g, '_');

/** Everything as initializers, from tensors loaded beforehand. */
export class InitializerBinder implements WeightBinder {
  private readonly made = new Map<string, string>();
  constructor(
    private readonly g: GraphBuilder,
    /** Each weight's values, or where its float32 bytes lie for onnxruntime to read in place. */
    private readonly data: Map<string, { shape: number[]; values?: Float32Array; ref?: ExternalRef }>,
  ) {}
  has(name: string): boolean {
    return this.data.has(name);
  }
  shape(name: string): number[] {
    const t = this.data.get(name);
    if (!t) throw new Error(`weight ${name} was not loaded`);
    return t.shape;
  }
  w(name: string): string {
    let made = this.made.get(name);
    if (!made) {
      const t = this.data.get(name)!;
      made = t.ref ? this.g.externalInitializer(safe(name), 'float32', t.shape, t.ref) : this.g.f32(safe(name), t.shape, t.values!);
      this.made.set(name, made);
    }
    return made;
  }
  rows(name: string, index: string): string {
    return this.g.node('Gather', [this.w(name), index], { attrs: { axis: 0 } });
  }
  vocab(name: string): string {
    return this.w(name);
  }
}

export interface WeightNeed {
  input: string;
  name: string;
  kind: 'whole' | 'rows' | 'vocab';
  /** For rows: the host input whose values pick the rows. */
  index?: string;
}

/**
 * Weights as graph inputs; records what each input needs. Input names drop the layer number,
 * so every layer of a family builds the same graph and can share one session.
 */
export class InputBinder implements WeightBinder {
  readonly needs: WeightNeed[] = [];
  private readonly made = new Map<string, string>();
  constructor(
    private readonly g: GraphBuilder,
    /** shape() throws the one-line UserError for a tensor the checkpoint lacks. */
    private readonly src: { has(name: string): boolean; shape(name: string): number[] },
  ) {}
  has(name: string): boolean {
    return this.src.has(name);
  }
  shape(name: string): number[] {
    return this.src.shape(name);
  }
  private declare(name: string, kind: WeightNeed['kind'], dims: Dim[], index?: string): string {
    const key = `${kind}:${name}:${index ?? ''}`;
    let made = this.made.get(key);
    if (!made) {
      made = this.g.input(`w_${kind}_${safe(name.replace(/\.\d+\./, '.L.'))}`, 'float32', dims);
      this.made.set(key, made);
      this.needs.push({ input: made, name, kind, index });
    }
    return made;
  }
  w(name: string): string {
    return this.declare(name, 'whole', this.shape(name));
  }
  rows(name: string, index: string): string {
    return this.declare(name, 'rows', ['T', ...this.shape(name).slice(1)], index);
  }
  vocab(name: string): string {
    return this.declare(name, 'vocab', ['V', ...this.shape(name).slice(1)]);
  }
}
