/**
 * OpenedModel for ONNX files: the graph is searched for attention probabilities, those
 * tensors become extra outputs, and one onnxruntime run returns them all; layers are then
 * handed to the caller one at a time, in graph order, so cancellation stops between layers.
 */
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { onnx } from 'onnx-proto';
import type { ExecutionProviderSetting, LayerInfo, ModelInfo } from '../../protocol/runtime';
import { findAttention, type AttentionSite } from '../onnx/attentionFinder';
import { attentionShape } from '../onnx/attentionShape';
import { expandFusedAttention } from '../onnx/fusedAttention';
import { externalDataSessionOptions, readOnnxModel } from '../onnx/modelFile';
import { type ReferencedFiles, changedFile, inlineBytes, requireUnchanged } from '../onnx/weightReferences';
import { exposeAttention } from '../onnx/surgery';
import { loadTokenizer, type TextTokenizer } from '../tokenizer';
import { createSession, type ProviderSession } from './executionProvider';
import { buildFeeds, planFeeds, type FeedPlan } from './onnxFeeds';
import { resolveIds, resolveTarget } from './captureInput';
import { DEFAULT_TOP_K, reductionFeeds } from './reductionFeeds';
import { fromGraph, fromMap } from './layerReductions';
import { reductionDecoration } from './reductions';
import { SegmentedGraph, type SegmentVariant } from './segmentedGraph';
import { layerBlocks, recomputeRows } from './blockedLayers';
import { DEFAULT_MEMORY_BUDGET_BYTES } from './layerMemory';
import { sampleRss } from './rssSampler';
import type { CaptureInput, CaptureOptions, CaptureResult, LayerMap, OpenedModel } from './types';
import { toFloat32 } from './tensorData';
import { UserError, firstLine } from '../../common/errors';

export interface OpenOnnxOptions {
  executionProvider?: ExecutionProviderSetting;
  log?: (line: string) => void;
  /** Folder holding tokenizer.json, when there is one. */
  tokenizerDir?: string;
  /** Display name (the model folder's name when opened as a folder). */
  name?: string;
}

/** Bytes of the largest output onnxruntime-node hands to JS (its bindings refuse 2 GiB); tests lower it. */
export const outputLimits = { bytes: 2 ** 31 };

/** The encoder's input (`ids`) or the decoder's (`targetIds`). */
type InputSide = 'source' | 'target';

interface Settled {
  /** The provider the first segment's session settled on (`auto` resolved). */
  provider?: string;
  notes: string[];
}

interface Current {
  graph: SegmentedGraph;
  settled: Settled;
  setting: ExecutionProviderSetting;
  loadMs: number;
}

class OnnxModel implements OpenedModel {
  info: ModelInfo;
  readonly recomputes = true;

  constructor(
    readonly path: string,
    /** The graph sessions made later are cut from (its large weights reference the file). */
    private readonly source: () => onnx.IModelProto,
    private readonly sessionOptions: ort.InferenceSession.SessionOptions,
    private readonly sites: AttentionSite[],
    private readonly plan: FeedPlan,
    private readonly tokenizer: TextTokenizer | undefined,
    private current: Current,
    name: string,
    /** The model file with its stamp when opened, when sessions read weights from it. */
    private readonly referenced: ReferencedFiles = [],
  ) {
    this.info = {
      modelId: createHash('sha1').update(path).digest('hex').slice(0, 12),
      name,
      format: 'onnx',
      layers: sites.map((s) => ({ index: s.index, kind: s.kind, heads: 0, source: s.nodeName })),
      heads: 0,
      hasTokenizer: tokenizer !== undefined,
    };
  }

  /**
   * Which input's length each site's queries and keys have, as the open probe saw them (an
   * encoder-decoder's decoder self-attention runs over the target, its encoder over the source).
   * Layers run by query blocks are laid out from these before they run, and the CLI writes their
   * .npy headers from them. Unset: a cross site is [target, source], a self site the longer input.
   */
  sides: [InputSide, InputSide][] = [];

  /** The segments of the current provider (tests count their runs). */
  get segments(): SegmentedGraph {
    return this.current.graph;
  }

  async session(setting: ExecutionProviderSetting, log?: (line: string) => void): Promise<Current> {
    if (setting !== this.current.setting) {
      const started = performance.now();
      const next = await segmentedGraph(this.path, this.source, this.sites, setting, this.sessionOptions, (k) => this.info.layers[k].heads, log);
      await next.graph.prepare('maps', this.feeds([0]), () => reductionFeeds(DEFAULT_TOP_K, 1));
      await this.current.graph.release();
      this.current = { ...next, setting, loadMs: performance.now() - started };
    }
    return this.current;
  }

  feeds(ids: number[], targetIds?: number[]): Record<string, ort.Tensor> {
    if (this.plan.vocabSize !== undefined) {
      const bad = [...ids, ...(targetIds ?? [])].find((id) => id >= this.plan.vocabSize!);
      if (bad !== undefined) {
        throw new UserError(`token id ${bad} is outside the vocabulary (${this.plan.vocabSize} ids) of ${this.path}`);
      }
    }
    return buildFeeds(this.plan, ids, this.path, targetIds);
  }

  async capture(input: CaptureInput, options: CaptureOptions = {}): Promise<CaptureResult> {
    const t0 = performance.now();
    const { ids, tokens } = await resolveIds(input, this.tokenizer, this.path, options);
    const target = await resolveTarget(input, { ids, tokens }, this.tokenizer, this.path, this.plan.decoderInput !== undefined, options);
    // Before the (possibly long) first segment, so the client can draw the token strip and layer slots.
    options.onTokens?.(tokens, ids, target);
    const t1 = performance.now();
    const current = await this.session(options.executionProvider ?? this.current.setting, options.log);
    const feeds = this.feeds(ids, target?.ids);
    const rss = sampleRss();
    const layers: LayerInfo[] = [];
    const inGraph = current.graph.reducesInGraph;
    // Below opset 11 the reductions are made on the host, from full maps that then stay here.
    const topK = options.topK ?? DEFAULT_TOP_K;
    const longest = Math.max(ids.length, target?.ids.length ?? 0);
    const length = (side: InputSide) => (side === 'target' ? target?.ids.length ?? ids.length : ids.length);
    const shapes = this.sites.map((s) => this.sides[s.index]?.map(length) ?? (s.kind === 'cross' ? [length('target'), ids.length] : [longest, longest]));
    const pools = this.sites.map((s, i) => Math.max(1, Math.floor(options.poolFactor?.(s.index, this.info.layers[s.index].heads, shapes[i][0], shapes[i][1]) ?? 1)));
    // onnxruntime-node returns no output of 2 GiB or more: such maps come out one head at a time.
    const big = this.sites.some((s, i) => this.info.layers[s.index].heads * shapes[i][0] * shapes[i][1] * 4 >= outputLimits.bytes);
    const layerPlans = this.sites.map((s, i) => ({ index: s.index, kind: s.kind, heads: this.info.layers[s.index].heads, queries: shapes[i][0], keys: shapes[i][1], pool: pools[i] }));
    const blocked = await layerBlocks(current.graph, layerPlans, options, this.path, current.settled.provider);
    const fullVariant: SegmentVariant = inGraph && big ? 'heads' : 'maps';
    const variant: SegmentVariant = options.maps === 'none' && inGraph ? 'reduced' : blocked.any ? 'maps' : fullVariant;
    const extraFeeds = (k: number) => reductionFeeds(topK, pools[k]);
    let firstLayerMs: number | undefined;
    let run;
    try {
      run = await guardRun(this.path, () =>
        current.graph.runAll(
          feeds,
          variant,
          async (out) => {
            const site = this.sites[out.site];
            firstLayerMs ??= performance.now() - t0;
            const joined = blocked.joined(out.site);
            const map = out.probs
              ? this.layerMap(site, out.probs, options.log)
              : out.extra.head0
                ? this.joinHeads(site, out.extra)
                : joined
                  ? { index: site.index, kind: site.kind, ...attentionShape(Array.from(out.extra.dims.data as BigInt64Array, Number)), data: joined }
                  : undefined;
            const shape = map ?? attentionShape(Array.from(out.extra.dims.data as BigInt64Array, Number));
            this.info.layers[site.index].heads = shape.heads;
            layers.push({ index: site.index, kind: site.kind, heads: shape.heads, source: site.nodeName });
            if (options.onReductions) {
              const r = inGraph ? fromGraph(site, shape, out.extra, topK, pools[site.index]) : fromMap(map!, topK, pools[site.index]);
              await options.onReductions(r);
            }
            if (map && options.maps !== 'none') await options.onLayer?.(map);
            rss.sample();
            options.onProgress?.((site.index + 1) / this.sites.length, `layer ${site.index + 1} of ${this.sites.length}`);
          },
          () => options.isCancelled?.() ?? false,
          extraFeeds,
          blocked.blocks,
        ),
      );
    } finally {
      rss.stop();
    }
    this.info.heads = Math.max(this.info.heads, ...layers.map((l) => l.heads));
    const t3 = performance.now();
    const { boundaries } = run;
    const graph = current.graph;
    const recompute = async (index: number) => {
      if (graph !== this.current.graph) throw new UserError(`${this.path}: the model was reopened on another provider since this capture; run the inspection again`);
      const out = await guardRun(this.path, () => graph.rerun(index, boundaries, fullVariant, extraFeeds));
      return out.probs ? this.layerMap(this.sites[index], out.probs) : this.joinHeads(this.sites[index], out.extra);
    };
    return {
      tokens,
      ids,
      ...(target ? { targetTokens: target.tokens, targetIds: target.ids } : {}),
      layers,
      executionProvider: current.settled.provider ?? current.setting,
      providerNotes: [...current.settled.notes],
      timings: { loadMs: current.loadMs, tokenizeMs: t1 - t0, runMs: t3 - t1, totalMs: t3 - t0 },
      cancelled: run.cancelled,
      peakRssBytes: rss.peak(),
      segmentRuns: layers.length,
      ...(firstLayerMs !== undefined ? { firstLayerMs } : {}),
      recompute,
      recomputeRows: (index: number, head: number, q0: number, q1: number, k0?: number, k1?: number) =>
        guardRun(this.path, () => {
          if (!layerPlans[index]) throw new UserError(`${this.path}: the capture has no layer ${index}`);
          if (graph !== this.current.graph) throw new UserError(`${this.path}: the model was reopened on another provider since this capture; run the inspection again`);
          return recomputeRows(
            { graph, layer: { ...layerPlans[index], heads: this.info.layers[index].heads }, boundaries, budgetBytes: options.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET_BYTES, extraFeeds: extraFeeds(index), path: this.path, whole: () => recompute(index) },
            head,
            q0,
            q1,
            k0,
            k1,
          );
        }),
    };
  }

  private layerMap(site: AttentionSite, tensor: ort.Tensor, log?: (line: string) => void): LayerMap {
    const dims = tensor.dims.map(Number);
    const axis = site.axis < 0 ? site.axis + dims.length : site.axis;
    if (axis !== dims.length - 1) log?.(`${site.nodeName}: softmax over axis ${site.axis}, not the last one; map may be transposed`);
    const shape = attentionShape(dims);
    this.info.layers[site.index].heads = shape.heads;
    return { index: site.index, kind: site.kind, ...shape, data: toFloat32(tensor) };
  }

  /** One map from the `heads` variant's per-head outputs (head<h>, each [1, q, k]). */
  private joinHeads(site: AttentionSite, extra: Record<string, ort.Tensor>): LayerMap {
    const shape = attentionShape(Array.from(extra.dims.data as BigInt64Array, Number));
    const cells = shape.queries * shape.keys;
    const data = new Float32Array(shape.heads * cells);
    for (let h = 0; h < shape.heads; h++) data.set(extra[`head${h}`].data as Float32Array, h * cells);
    this.info.layers[site.index].heads = shape.heads;
    return { index: site.index, kind: site.kind, ...shape, data };
  }

  /** Records the time opening took (files, segments' sessions, the probe). */
  opened(loadMs: number): void {
    this.current.loadMs = loadMs;
  }

  changed(): boolean {
    return changedFile(this.referenced) !== undefined;
  }

  async dispose(): Promise<void> {
    this.tokenizer?.dispose();
    await this.current.graph.release();
  }
}

async function guardRun<T>(path: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${path}: onnxruntime failed to run the model: ${firstLine(e)}`);
  }
}

/** The model's segments on a provider: the first session settles `auto`, the rest follow it. */
async function segmentedGraph(
  path: string,
  source: () => onnx.IModelProto,
  sites: AttentionSite[],
  setting: ExecutionProviderSetting,
  options: ort.InferenceSession.SessionOptions,
  headsOf: (site: number) => number,
  log?: (line: string) => void,
): Promise<Omit<Current, 'setting' | 'loadMs'>> {
  const settled: Settled = { notes: [] };
  const exposed = (): onnx.IModelProto => exposeAttention(source(), sites);
  const open = async (bytes: Uint8Array): Promise<ort.InferenceSession> => {
    const ps = await openSession(path, bytes, (settled.provider as ExecutionProviderSetting | undefined) ?? setting, options, log);
    if (!settled.provider) {
      settled.provider = ps.provider;
      settled.notes = ps.notes;
    }
    return ps.session;
  };
  const graph = new SegmentedGraph(exposed(), {
    source: exposed,
    sites: sites.map((s) => s.output),
    open,
    decorate: (probs, k, variant, opset, producer) =>
      reductionDecoration(probs, k, opset, { pooled: variant === 'reduced', heads: variant === 'heads' ? headsOf(k) : 0 }, producer),
  });
  return { graph, settled };
}

async function openSession(
  path: string,
  bytes: Uint8Array,
  setting: ExecutionProviderSetting,
  options: ort.InferenceSession.SessionOptions,
  log?: (line: string) => void,
): Promise<ProviderSession> {
  try {
    return await createSession(bytes, setting, options, log);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${path}: onnxruntime cannot load the model: ${firstLine(e)}`);
  }
}

/** Tensor data a kept graph may hold (the rest of its weights are references to the file). */
const KEPT_GRAPH_BYTES = 64 * 2 ** 20;

export async function openOnnxModel(file: string, options: OpenOnnxOptions = {}): Promise<OpenedModel> {
  const started = performance.now();
  // Large float weights stay in the file (server/onnx/weightReferences.ts): each session reads
  // its own from there, and the decoded graph kept here for every later session is small.
  const loaded = readOnnxModel(file, { referenceWeights: true });
  const graph = expandFusedAttention(loaded.model, file);
  const sites = findAttention(graph, file);
  const plan = planFeeds(graph, file);
  const tokenizer = options.tokenizerDir ? loadTokenizer(options.tokenizerDir) : undefined;
  const path = loaded.path;
  // Kept for every later session when its weights are referenced; a graph that still holds
  // much data (weights stored as float_data, say) is read again for each batch of sessions
  // instead, only path and file captured by that closure.
  const kept = inlineBytes(graph) <= KEPT_GRAPH_BYTES ? graph : undefined;
  const reread = (): onnx.IModelProto => expandFusedAttention(readOnnxModel(path, { referenceWeights: true }).model, file);
  const source = (): onnx.IModelProto => {
    // Sessions made now read the weights from the file as it was when it was opened.
    requireUnchanged(loaded.referenced);
    return kept ?? opening ?? reread();
  };
  // While opening, the graph decoded above serves every segment either way.
  let opening: onnx.IModelProto | undefined = graph;
  // No CPU arena: it grows by powers of two and never gives memory back, so the 805 MB maps of
  // a 4096-token layer left a 16 GB process behind (measured: 4.4 GB -> 1.7 GB peak at 2048).
  const sessionOptions = { ...externalDataSessionOptions(loaded), logSeverityLevel: 3 as const, enableCpuMemArena: false };
  const setting = options.executionProvider ?? 'auto';
  const heads: number[] = [];
  const segmented = await segmentedGraph(loaded.path, source, sites, setting, sessionOptions, (k) => heads[k] ?? 0, options.log);
  const model = new OnnxModel(
    loaded.path, source, sessionOptions, sites, plan, tokenizer,
    { ...segmented, setting, loadMs: 0 },
    options.name ?? basename(loaded.path),
    loaded.referenced,
  );
  // One-token probe: makes every segment's session, fills in the head counts (unknown until
  // shapes resolve) and surfaces missing inputs or broken graphs when the model is opened
  // rather than at first capture. An encoder-decoder gets a two-token target, so each site's
  // map tells which input its queries and keys follow (1: the source, 2: the target).
  const probeTarget = plan.decoderInput !== undefined ? [0, 0] : undefined;
  await guardRun(loaded.path, () =>
    segmented.graph.runAll(
      model.feeds([0], probeTarget),
      'maps',
      async (out) => {
        const dims = out.probs!.dims.map(Number);
        heads[out.site] = attentionShape(dims).heads;
        if (probeTarget) model.sides[sites[out.site].index] = [dims[dims.length - 2], dims[dims.length - 1]].map((n) => (n === probeTarget.length ? 'target' : 'source')) as [InputSide, InputSide];
      },
      () => false,
      () => reductionFeeds(DEFAULT_TOP_K, 1),
    ),
  );
  opening = undefined;
  segmented.graph.resetCounts();
  for (const s of sites) {
    model.info.layers[s.index].heads = heads[s.index];
    model.info.heads = Math.max(model.info.heads, heads[s.index]);
  }
  model.opened(performance.now() - started);
  return model;
}
