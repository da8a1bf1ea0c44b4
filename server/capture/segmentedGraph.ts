/**
 * Runs a model as its segments (server/capture/segments.ts): one onnxruntime session per
 * segment, run in order, each fed the boundary tensors earlier segments returned. A capture
 * keeps those boundaries, so one layer's map can be recomputed later by re-running its segment
 * alone (a tile of a long input) instead of the runtime holding every full map.
 *
 * A segment's model comes in two variants: `maps` returns the attention probabilities (what the
 * CLI writes and tiles read), `reduced` returns only what the reductions computed from them
 * next to the probabilities, so the full maps never leave the provider. Sessions are made on
 * first use of a variant; a segment's boundary inputs are declared with the element type and
 * rank observed when the segment before it first ran, with every dimension symbolic.
 */
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { MIN_REDUCTION_OPSET } from './reductions';
import { cutSegments, type SegmentSpec } from './segments';

/**
 * `heads`: the probabilities as one output per head, for layers whose map passes the 2 GiB an
 * onnxruntime-node output can hold (12 heads at 8,192 tokens are 3.2 GB).
 */
export type SegmentVariant = 'maps' | 'reduced' | 'heads';

/** Extra nodes a variant adds after a site's probabilities (server/capture/reductions.ts). */
export interface SiteDecoration {
  nodes: onnx.INodeProto[];
  initializers: onnx.ITensorProto[];
  /** Extra graph inputs (fed at every run, e.g. the pool factor). */
  inputs: onnx.IValueInfoProto[];
  /** Outputs returned for this site, by the short key the caller reads them back with. */
  outputs: Record<string, string>;
}

export interface SegmentedGraphOptions {
  /** Re-reads the model (ONNX Attention ops already set to expose their probabilities). */
  source: () => onnx.IModelProto;
  /** Probability tensor of each attention site, in graph order. */
  sites: string[];
  /** Opens one session from model bytes, on the provider the model runs on. */
  open: (bytes: Uint8Array) => Promise<ort.InferenceSession>;
  /** Adds a variant's extra nodes after a site; undefined: the `maps` variant has none. */
  /** `producer`: the segment's node computing the site's probabilities (its softmax, usually). */
  decorate?: (site: string, siteIndex: number, variant: SegmentVariant, opset: number, producer?: onnx.INodeProto) => SiteDecoration | undefined;
}

/** The activations a capture keeps: graph feeds and every tensor one segment passes on. */
export type Boundaries = Map<string, ort.Tensor>;

export interface SiteOutput {
  site: number;
  /** The probabilities (maps variant). */
  probs?: ort.Tensor;
  /** The decoration's outputs by key. */
  extra: Record<string, ort.Tensor>;
}

const ELEM: Record<string, number> = {
  float32: 1, uint8: 2, int8: 3, uint16: 4, int16: 5, int32: 6, int64: 7, string: 8, bool: 9,
  float16: 10, float64: 11, uint32: 12, uint64: 13,
};

interface Built {
  session: ort.InferenceSession;
  decorations: (SiteDecoration | undefined)[];
}

export class SegmentedGraph {
  readonly specs: SegmentSpec[];
  /** Runs of each segment since the counters were last reset (tests count them). */
  readonly runs: number[];
  private readonly graphInputs: Map<string, onnx.IValueInfoProto>;
  private readonly graphOutputs: string[];
  private readonly opset: number;
  private readonly types = new Map<string, { elem: number; rank: number }>();
  private readonly sessions = new Map<string, Built>();

  constructor(model: onnx.IModelProto, private readonly options: SegmentedGraphOptions) {
    const graph = model.graph ?? {};
    this.graphOutputs = (graph.output ?? []).map((o) => o.name ?? '').filter((n) => n && !options.sites.includes(n));
    this.specs = cutSegments(graph, options.sites, this.graphOutputs);
    this.runs = this.specs.map(() => 0);
    this.graphInputs = new Map((graph.input ?? []).map((v) => [v.name ?? '', v]));
    this.opset = Number((model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 13);
  }

  /** Whether the model's opset lets reductions run in the graph (else they are made on the host). */
  get reducesInGraph(): boolean {
    return this.options.decorate !== undefined && this.opset >= MIN_REDUCTION_OPSET;
  }

  get count(): number {
    return this.specs.length;
  }

  /** The boundary tensors segment k reads (for tests and spill accounting). */
  inputsOf(k: number): string[] {
    return this.specs[k].inputs;
  }

  /**
   * Runs every segment once, in order. `onSite` gets each site's outputs as soon as its
   * segment ends; returning true from `isCancelled` stops before the next segment.
   */
  async runAll(
    feeds: Record<string, ort.Tensor>,
    variant: SegmentVariant,
    onSite: (out: SiteOutput) => Promise<void>,
    isCancelled: () => boolean = () => false,
    extraFeeds: (k: number) => Record<string, ort.Tensor> = () => ({}),
  ): Promise<{ boundaries: Boundaries; outputs: Record<string, ort.Tensor>; cancelled: boolean }> {
    const boundaries: Boundaries = new Map(Object.entries(feeds));
    const outputs: Record<string, ort.Tensor> = {};
    // Each session holds its segment's weights: two variants' sessions would hold them twice.
    await this.releaseVariantsBut(variant);
    // Sessions not made yet are all made from one read of the model, not one read each.
    let model: onnx.IModelProto | undefined;
    const source = () => (model ??= this.options.source());
    for (const spec of this.specs) {
      if (isCancelled()) return { boundaries, outputs, cancelled: true };
      const out = await this.runSegment(spec.index, boundaries, variant, extraFeeds(spec.index), source);
      for (const name of spec.outputs) {
        boundaries.set(name, out[name] as ort.Tensor);
        if (this.graphOutputs.includes(name)) outputs[name] = out[name] as ort.Tensor;
      }
      await onSite(this.siteOutput(spec.index, out, variant));
    }
    return { boundaries, outputs, cancelled: false };
  }

  /** Re-runs segment k alone from a capture's stored boundaries. */
  async rerun(k: number, boundaries: Boundaries, variant: SegmentVariant = 'maps', extraFeeds: (k: number) => Record<string, ort.Tensor> = () => ({})): Promise<SiteOutput> {
    const out = await this.runSegment(k, boundaries, variant, extraFeeds(k), this.options.source);
    return this.siteOutput(k, out, variant);
  }

  private siteOutput(k: number, out: ort.InferenceSession.OnnxValueMapType, variant: SegmentVariant): SiteOutput {
    const spec = this.specs[k];
    const deco = this.sessions.get(`${variant}:${k}`)?.decorations[0];
    const extra: Record<string, ort.Tensor> = {};
    for (const [key, name] of Object.entries(deco?.outputs ?? {})) extra[key] = out[name] as ort.Tensor;
    return { site: k, ...(variant === 'maps' ? { probs: out[spec.sites[0]] as ort.Tensor } : {}), extra };
  }

  private async runSegment(
    k: number,
    boundaries: Boundaries,
    variant: SegmentVariant,
    extraFeeds: Record<string, ort.Tensor>,
    source: () => onnx.IModelProto,
  ): Promise<ort.InferenceSession.OnnxValueMapType> {
    const spec = this.specs[k];
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of spec.inputs) {
      const t = boundaries.get(name);
      if (!t) throw new Error(`segment ${k}: boundary tensor ${name} was not kept`);
      feeds[name] = t;
      if (!this.types.has(name)) this.types.set(name, { elem: ELEM[t.type] ?? 1, rank: t.dims.length });
    }
    const built = await this.session(k, variant, source);
    for (const d of built.decorations) {
      for (const v of d?.inputs ?? []) {
        const t = extraFeeds[v.name ?? ''];
        if (!t) throw new Error(`segment ${k}: no value fed for ${v.name}`);
        feeds[v.name ?? ''] = t;
      }
    }
    this.runs[k]++;
    return built.session.run(feeds);
  }

  private async session(k: number, variant: SegmentVariant, source: () => onnx.IModelProto): Promise<Built> {
    const key = `${variant}:${k}`;
    let built = this.sessions.get(key);
    if (!built) {
      const { bytes, decorations } = this.segmentModel(source(), k, variant);
      built = { session: await this.options.open(bytes), decorations };
      this.sessions.set(key, built);
    }
    return built;
  }

  /** Declares a boundary input with its observed element type and a symbolic shape. */
  private inputInfo(name: string, k: number): onnx.IValueInfoProto {
    const declared = this.graphInputs.get(name);
    if (declared) return declared;
    const t = this.types.get(name);
    if (!t) throw new Error(`segment ${k}: type of boundary ${name} unknown before the segment producing it ran`);
    const dim = Array.from({ length: t.rank }, (_, i) => ({ dimParam: `b${k}_${i}_${name.replace(/\W/g, '_')}` }));
    return { name, type: { tensorType: { elemType: t.elem, shape: { dim } } } };
  }

  private segmentModel(model: onnx.IModelProto, k: number, variant: SegmentVariant): { bytes: Uint8Array; decorations: (SiteDecoration | undefined)[] } {
    const spec = this.specs[k];
    const graph = model.graph ?? {};
    const wanted = new Set(spec.initializers);
    const initializer = (graph.initializer ?? []).filter((t) => wanted.has(t.name ?? ''));
    const produced = new Set(spec.nodes.flatMap((n) => n.output ?? []));
    const valueInfo = (graph.valueInfo ?? []).filter((v) => produced.has(v.name ?? ''));
    const decorations = spec.sites.map((s) => this.options.decorate?.(s, k, variant, this.opset, spec.nodes.find((n) => (n.output ?? []).includes(s))));
    const extraNodes = decorations.flatMap((d) => d?.nodes ?? []);
    const extraOutputs = decorations.flatMap((d) => Object.values(d?.outputs ?? {}));
    const outputs = [...spec.outputs, ...(variant === 'maps' ? spec.sites : []), ...extraOutputs];
    const seg = onnx.ModelProto.create({
      ...model,
      graph: onnx.GraphProto.create({
        name: `${graph.name ?? 'graph'}_segment_${k}`,
        node: [...spec.nodes, ...extraNodes],
        initializer: [...initializer, ...decorations.flatMap((d) => d?.initializers ?? [])],
        input: [...spec.inputs.map((n) => this.inputInfo(n, k)), ...decorations.flatMap((d) => d?.inputs ?? [])],
        output: [...new Set(outputs)].map((name) => ({ name })),
        valueInfo,
      }),
    });
    return { bytes: onnx.ModelProto.encode(seg).finish(), decorations };
  }

  /** Creates every session of a variant now (model open), from one read of the model. */
  async prepare(variant: SegmentVariant, feeds: Record<string, ort.Tensor>, extraFeeds: (k: number) => Record<string, ort.Tensor> = () => ({})): Promise<void> {
    await this.runAll(feeds, variant, async () => undefined, () => false, extraFeeds);
  }

  private async releaseVariantsBut(variant: SegmentVariant): Promise<void> {
    for (const [key, built] of [...this.sessions]) {
      if (key.startsWith(`${variant}:`)) continue;
      this.sessions.delete(key);
      await built.session.release();
    }
  }

  resetCounts(): void {
    this.runs.fill(0);
  }

  async release(): Promise<void> {
    for (const b of this.sessions.values()) await b.session.release();
    this.sessions.clear();
  }
}
