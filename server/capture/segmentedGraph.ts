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
import { blockRanges, ReductionSum, RowAssembler, rowOffset, setBlock } from './blockAssembly';
import { onnxElemType } from './tensorData';
import { BLOCK_ROWS_INPUT, BLOCK_START_INPUT, planQueryBlocks, type QueryBlockPlan } from './queryBlocks';
import { MIN_REDUCTION_OPSET, POOL_INPUT, ROW_OFFSET_INPUT } from './reductions';
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

/**
 * Query blocks for layers whose maps pass the memory budget (server/capture/queryBlocks.ts).
 * `rows(k)`: rows per block for segment k, 0 to run it whole; `onRows` gets each block's
 * probabilities [..., rows, keys] with its first row, in order, when the variant is `maps`.
 */
export interface BlockOptions {
  rows: (k: number) => number;
  onRows?: (k: number, start: number, probs: ort.Tensor) => Promise<void>;
}

export interface SiteOutput {
  site: number;
  /** The probabilities (maps variant). */
  probs?: ort.Tensor;
  /** The decoration's outputs by key. */
  extra: Record<string, ort.Tensor>;
}

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
  private plans?: (QueryBlockPlan | string)[];
  /** The boundaries of the first run (the one-token probe when a model opens): small, kept for rank checks. */
  private probe?: Boundaries;
  /** Block runs of each segment run by query blocks (tests count them; `runs` counts the segment once). */
  readonly blockRuns: number[];

  constructor(model: onnx.IModelProto, private readonly options: SegmentedGraphOptions) {
    const graph = model.graph ?? {};
    this.graphOutputs = (graph.output ?? []).map((o) => o.name ?? '').filter((n) => n && !options.sites.includes(n));
    this.specs = cutSegments(graph, options.sites, this.graphOutputs);
    this.runs = this.specs.map(() => 0);
    this.blockRuns = this.specs.map(() => 0);
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
    blocks?: BlockOptions,
  ): Promise<{ boundaries: Boundaries; outputs: Record<string, ort.Tensor>; cancelled: boolean }> {
    const boundaries: Boundaries = new Map(Object.entries(feeds));
    const outputs: Record<string, ort.Tensor> = {};
    // Each session holds its segment's weights: two variants' sessions, or a segment's whole
    // session beside its block parts, would hold them twice.
    await this.releaseUnused(variant, (k) => (blocks?.rows(k) ?? 0) > 0);
    // Sessions not made yet are all made from one read of the model, not one read each.
    let model: onnx.IModelProto | undefined;
    const source = () => (model ??= this.options.source());
    for (const spec of this.specs) {
      if (isCancelled()) return { boundaries, outputs, cancelled: true };
      const rows = blocks?.rows(spec.index) ?? 0;
      if (rows > 0) {
        const { out, extra } = await this.runBlocks(spec.index, boundaries, variant === 'reduced' ? 'reduced' : 'maps', extraFeeds(spec.index), source, rows, blocks?.onRows);
        for (const name of spec.outputs) {
          boundaries.set(name, out[name]);
          if (this.graphOutputs.includes(name)) outputs[name] = out[name];
        }
        await onSite({ site: spec.index, extra });
        continue;
      }
      const out = await this.runSegment(spec.index, boundaries, variant, extraFeeds(spec.index), source);
      for (const name of spec.outputs) {
        boundaries.set(name, out[name] as ort.Tensor);
        if (this.graphOutputs.includes(name)) outputs[name] = out[name] as ort.Tensor;
      }
      await onSite(this.siteOutput(spec.index, out, variant));
    }
    this.probe ??= boundaries;
    return { boundaries, outputs, cancelled: false };
  }

  /** Re-runs segment k alone from a capture's stored boundaries. */
  async rerun(k: number, boundaries: Boundaries, variant: SegmentVariant = 'maps', extraFeeds: (k: number) => Record<string, ort.Tensor> = () => ({})): Promise<SiteOutput> {
    const out = await this.runSegment(k, boundaries, variant, extraFeeds(k), this.options.source);
    return this.siteOutput(k, out, variant);
  }

  /**
   * Re-runs segment k by query blocks for rows q0..q1-1 only (a tile of a long input): its once
   * part, then blocks of at most `rows` rows from q0 to q1, fetching only the probabilities, so
   * no [heads, n, n] tensor is made. `onRows` gets each block's probabilities [..., rows, keys]
   * with its first row and keeps what the tile needs.
   */
  async rerunRows(
    k: number,
    boundaries: Boundaries,
    q0: number,
    q1: number,
    rows: number,
    extraFeeds: Record<string, ort.Tensor>,
    onRows: (start: number, probs: ort.Tensor) => void,
  ): Promise<void> {
    const plan = this.blockPlan(k);
    if (typeof plan === 'string') throw new Error(`segment ${k} cannot run by query blocks: ${plan}`);
    const source = this.options.source;
    const { local } = await this.runOncePart(k, plan, boundaries, source);
    // The same block session a capture's maps run made (or makes now), shared by both.
    const { built, feeds } = await this.blockRun(k, plan, local, 'maps', source, extraFeeds);
    const site = this.specs[k].sites[0];
    this.runs[k]++;
    for (let start = q0; start < q1; start += rows) {
      const n = Math.min(rows, q1 - start);
      setBlock(feeds, start, n, built.decorations[0]?.inputs);
      const res = await built.session.run(feeds, [site]);
      this.blockRuns[k]++;
      onRows(start, res[site] as ort.Tensor);
    }
  }

  /** The session stored under `key`, made on first use (sessions hold weights: made once, reused). */
  private async cached(key: string, make: () => { bytes: Uint8Array; decorations: (SiteDecoration | undefined)[] }): Promise<Built> {
    let built = this.sessions.get(key);
    if (!built) {
      const { bytes, decorations } = make();
      built = { session: await this.options.open(bytes), decorations };
      this.sessions.set(key, built);
    }
    return built;
  }

  /**
   * Segment k's once part (the nodes that do not depend on the query rows), run on the stored
   * boundaries: `local` is those boundaries plus what the block part reads from it.
   */
  private async runOncePart(k: number, plan: QueryBlockPlan, boundaries: Boundaries, source: () => onnx.IModelProto): Promise<{ local: Boundaries; made: ort.InferenceSession.OnnxValueMapType }> {
    const once = await this.cached(`once:${k}`, () => ({ bytes: this.partModel(source(), k, 'once', plan.once, plan.onceInputs, plan.onceOutputs, []), decorations: [] }));
    const onceFeeds: Record<string, ort.Tensor> = {};
    for (const name of plan.onceInputs) onceFeeds[name] = this.fed(k, name, boundaries);
    const made = plan.onceOutputs.length > 0 ? await once.session.run(onceFeeds) : {};
    const local: Boundaries = new Map(boundaries);
    for (const name of plan.onceOutputs) local.set(name, made[name] as ort.Tensor);
    return { local, made };
  }

  /** The block part's session of a variant, shared by captures and tiles. */
  private blockSession(k: number, plan: QueryBlockPlan, variant: 'maps' | 'reduced', source: () => onnx.IModelProto): Promise<Built> {
    return this.cached(`block:${variant}:${k}`, () => {
      // The softmax producing each site's probabilities lies in the block part: with it the
      // reductions take entropy from the scores (one Mul) instead of the direct Max, Log, Mul.
      const decorations = this.specs[k].sites.map((s) => this.options.decorate?.(s, k, variant, this.opset, plan.block.find((n) => (n.output ?? []).includes(s))));
      const outputs = [...plan.rowOutputs.keys(), ...(variant === 'maps' ? this.specs[k].sites : [])];
      return { bytes: this.partModel(source(), k, 'block', plan.block, [...plan.blockInputs, BLOCK_START_INPUT, BLOCK_ROWS_INPUT], outputs, decorations), decorations };
    });
  }

  /**
   * The block part's feeds that stay the same from block to block (setBlock sets the rest). The
   * block inputs are read before the block session is made: reading them records the element
   * types its inputs are declared with.
   */
  private async blockRun(k: number, plan: QueryBlockPlan, local: Boundaries, variant: 'maps' | 'reduced', source: () => onnx.IModelProto, extraFeeds: Record<string, ort.Tensor>): Promise<{ built: Built; feeds: Record<string, ort.Tensor> }> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of plan.blockInputs) feeds[name] = this.fed(k, name, local);
    const built = await this.blockSession(k, plan, variant, source);
    for (const d of built.decorations) for (const v of d?.inputs ?? []) if (v.name !== ROW_OFFSET_INPUT) feeds[v.name ?? ''] = extraFeeds[v.name ?? ''];
    return { built, feeds };
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
    for (const name of spec.inputs) feeds[name] = this.fed(k, name, boundaries);
    const built = await this.session(k, variant, source);
    for (const d of built.decorations) {
      for (const v of d?.inputs ?? []) {
        const t = extraFeeds[v.name ?? ''] ?? (v.name === ROW_OFFSET_INPUT ? rowOffset(0) : undefined);
        if (!t) throw new Error(`segment ${k}: no value fed for ${v.name}`);
        feeds[v.name ?? ''] = t;
      }
    }
    this.runs[k]++;
    return built.session.run(feeds);
  }

  private session(k: number, variant: SegmentVariant, source: () => onnx.IModelProto): Promise<Built> {
    return this.cached(`${variant}:${k}`, () => this.segmentModel(source(), k, variant));
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

  /**
   * Releases the sessions a run of `variant` does not use: a segment run by blocks keeps its
   * once part and its variant's block part, a segment run whole its variant's whole session.
   * So a segment's weights are held once, whether the last capture was short or long (a 7B
   * model's would otherwise be held twice after a short capture and a long one).
   */
  private async releaseUnused(variant: SegmentVariant, blocked: (k: number) => boolean): Promise<void> {
    // A blocked layer's parts: the once part serves every variant, the block part its own.
    const blockVariant = variant === 'reduced' ? 'reduced' : 'maps';
    for (const [key, built] of [...this.sessions]) {
      const k = Number(key.slice(key.lastIndexOf(':') + 1));
      const keep = blocked(k) ? key === `once:${k}` || key === `block:${blockVariant}:${k}` : key === `${variant}:${k}`;
      if (keep) continue;
      this.sessions.delete(key);
      await built.session.release();
    }
  }

  /** The sessions held now, by key (`<variant>:<k>`, `once:<k>`, `block:<variant>:<k>`; tests read them). */
  get sessionKeys(): string[] {
    return [...this.sessions.keys()];
  }

  resetCounts(): void {
    this.runs.fill(0);
    this.blockRuns.fill(0);
  }

  /**
   * Whether segment k can run by query blocks, or why not (one plan per segment, made from
   * one read of the model; the rank of a boundary is known once the segment before it ran).
   */
  blockPlan(k: number, source: () => onnx.IModelProto = this.options.source): QueryBlockPlan | string {
    this.plans ??= this.makePlans(source);
    return this.plans[k];
  }

  /**
   * Plans every segment's blocks; where the ops alone do not tell a tensor's rank (shapes
   * computed at run time, as torch exports do), the ranks are read from a run of the segment
   * on the boundaries of the first capture (the one-token probe when the model opened).
   */
  async prepareBlockPlans(source: () => onnx.IModelProto = this.options.source): Promise<void> {
    if (this.plans) return;
    let model: onnx.IModelProto | undefined;
    const once = () => (model ??= source());
    const plans = this.makePlans(once);
    const probe = this.probe;
    if (probe) {
      for (let k = 0; k < plans.length; k++) {
        if (typeof plans[k] !== 'string') continue;
        const observed = await this.observeRanks(k, once(), probe).catch(() => undefined);
        if (observed) plans[k] = this.makePlans(once, observed)[k];
      }
    }
    this.plans = plans;
  }

  /** Runs segment k on small boundaries with every tensor as an output, and keeps their ranks. */
  private async observeRanks(k: number, model: onnx.IModelProto, from: Boundaries): Promise<Map<string, number>> {
    const spec = this.specs[k];
    const outputs = [...new Set(spec.nodes.flatMap((n) => n.output ?? []).filter((o) => o))];
    const session = await this.options.open(this.partModel(model, k, 'ranks', spec.nodes, spec.inputs, outputs, []));
    try {
      const feeds: Record<string, ort.Tensor> = {};
      for (const name of spec.inputs) feeds[name] = this.fed(k, name, from);
      const out = await session.run(feeds);
      return new Map(Object.entries(out).map(([name, t]) => [name, (t as ort.Tensor).dims.length]));
    } finally {
      await session.release();
    }
  }

  private makePlans(source: () => onnx.IModelProto, observed?: Map<string, number>): (QueryBlockPlan | string)[] {
    {
      const model = source();
      const initializers = new Map((model.graph?.initializer ?? []).map((t) => [t.name ?? '', { ...t, rawData: t.dataType === 7 || t.dataType === 6 ? t.rawData : undefined }]));
      const rankOf = (name: string) => {
        const declared = this.graphInputs.get(name)?.type?.tensorType?.shape?.dim;
        return declared ? declared.length : this.types.get(name)?.rank;
      };
      const elemOf = (name: string) => this.graphInputs.get(name)?.type?.tensorType?.elemType ?? this.types.get(name)?.elem;
      return this.specs.map((spec) => {
        try {
          return planQueryBlocks(spec, initializers, rankOf, this.opset, observed, elemOf);
        } catch (e) {
          return e instanceof Error ? e.message : String(e);
        }
      });
    }
  }

  /**
   * Runs segment k by blocks of `rows` query rows: its once part, then one block run per
   * range, the probabilities of each handed to `onRows` (maps) and the reductions combined as
   * one whole run would have made them: row sums (stats) and column sums (colsum) add up,
   * pooled rows (block rows are a multiple of the pool factor) follow each other.
   */
  private async runBlocks(
    k: number,
    boundaries: Boundaries,
    variant: 'maps' | 'reduced',
    extraFeeds: Record<string, ort.Tensor>,
    source: () => onnx.IModelProto,
    rows: number,
    onRows?: (k: number, start: number, probs: ort.Tensor) => Promise<void>,
  ): Promise<{ out: Record<string, ort.Tensor>; extra: Record<string, ort.Tensor> }> {
    const plan = this.blockPlan(k, source);
    if (typeof plan === 'string') throw new Error(`segment ${k} cannot run by query blocks: ${plan}`);
    const { local, made } = await this.runOncePart(k, plan, boundaries, source);
    const out: Record<string, ort.Tensor> = {};
    for (const name of this.specs[k].outputs) if (made[name]) out[name] = made[name] as ort.Tensor;
    const { built, feeds } = await this.blockRun(k, plan, local, variant, source, extraFeeds);
    const queries = local.get(plan.queries)!;
    const total = Number(queries.dims[queries.dims.length - 2]);
    const assembled = new Map([...plan.rowOutputs].map(([name, axis]) => [name, new RowAssembler(total, axis)]));
    const deco = built.decorations[0];
    // At pool factor 1 the pooled map is the map itself, which nobody reads from a reduced run
    // (layerReductions.ts keeps pooled maps above 1 only): not fetched, a block holds no copy.
    const pool = extraFeeds[POOL_INPUT] ? Number((extraFeeds[POOL_INPUT].data as BigInt64Array)[0]) : 1;
    const reductions = Object.entries(deco?.outputs ?? {}).filter(([key]) => pool > 1 || (key !== 'pooled' && key !== 'headsum'));
    const fetches = [...plan.rowOutputs.keys(), ...(variant === 'maps' ? this.specs[k].sites : []), ...reductions.map(([, name]) => name)];
    const combined = new ReductionSum();
    this.runs[k]++;
    for (const [start, n] of blockRanges(total, rows, pool)) {
      setBlock(feeds, start, n, built.decorations[0]?.inputs);
      const res = await built.session.run(feeds, fetches);
      this.blockRuns[k]++;
      for (const [name, a] of assembled) a.add(res[name] as ort.Tensor, start);
      if (variant === 'maps') await onRows?.(k, start, res[this.specs[k].sites[0]] as ort.Tensor);
      for (const [key, name] of reductions) combined.add(key, res[name] as ort.Tensor, total);
    }
    for (const [name, a] of assembled) out[name] = a.tensor();
    return { out, extra: combined.tensors() };
  }

  private fed(k: number, name: string, from: Boundaries): ort.Tensor {
    const t = from.get(name);
    if (!t) throw new Error(`segment ${k}: boundary tensor ${name} was not kept`);
    if (!this.types.has(name)) this.types.set(name, { elem: onnxElemType(t.type), rank: t.dims.length });
    return t;
  }

  /** A model of some of segment k's nodes (its once or block part). */
  private partModel(
    model: onnx.IModelProto,
    k: number,
    part: string,
    nodes: onnx.INodeProto[],
    inputs: string[],
    outputs: string[],
    decorations: (SiteDecoration | undefined)[],
  ): Uint8Array {
    const graph = model.graph ?? {};
    const reads = new Set(nodes.flatMap((n) => n.input ?? []));
    const initializer = (graph.initializer ?? []).filter((t) => reads.has(t.name ?? ''));
    const produced = new Set(nodes.flatMap((n) => n.output ?? []));
    const index = (name: string): onnx.IValueInfoProto =>
      name === BLOCK_START_INPUT || name === BLOCK_ROWS_INPUT ? { name, type: { tensorType: { elemType: 7, shape: { dim: [{ dimValue: 1 }] } } } } : this.inputInfo(name, k);
    const extraOutputs = decorations.flatMap((d) => Object.values(d?.outputs ?? {}));
    const seg = onnx.ModelProto.create({
      ...model,
      graph: onnx.GraphProto.create({
        name: `${graph.name ?? 'graph'}_segment_${k}_${part}`,
        node: [...nodes, ...decorations.flatMap((d) => d?.nodes ?? [])],
        initializer: [...initializer, ...decorations.flatMap((d) => d?.initializers ?? [])],
        input: [...inputs.map(index), ...decorations.flatMap((d) => d?.inputs ?? [])],
        output: [...new Set([...outputs, ...extraOutputs])].map((name) => ({ name })),
        // The block part's tensors hold `rows` rows, not the shapes the model declared for them.
        valueInfo: part === 'once' ? (graph.valueInfo ?? []).filter((v) => produced.has(v.name ?? '') && !outputs.includes(v.name ?? '')) : [],
      }),
    });
    return onnx.ModelProto.encode(seg).finish();
  }

  async release(): Promise<void> {
    for (const b of this.sessions.values()) await b.session.release();
    this.sessions.clear();
  }
}
