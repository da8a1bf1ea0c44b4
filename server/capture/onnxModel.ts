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
import { exposeAttention, serializeModel } from '../onnx/surgery';
import { loadTokenizer, type TextTokenizer } from '../tokenizer';
import { createSession, type ProviderSession } from './executionProvider';
import { buildFeeds, planFeeds, type FeedPlan } from './onnxFeeds';
import { resolveIds, resolveTarget } from './captureInput';
import { groupModel } from './groupModel';
import { defaultMapBudget, planLayerGroups } from './layerGroups';
import { sampleRss } from './rssSampler';
import { UserError, type CaptureInput, type CaptureOptions, type CaptureResult, type LayerMap, type OpenedModel } from './types';

export interface OpenOnnxOptions {
  executionProvider?: ExecutionProviderSetting;
  log?: (line: string) => void;
  /** Folder holding tokenizer.json, when there is one. */
  tokenizerDir?: string;
  /** Display name (the model folder's name when opened as a folder). */
  name?: string;
  /** Bytes of maps one run may return (default: layerGroups.defaultMapBudget()). */
  mapBudgetBytes?: number;
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return (msg.split('\n').find((l) => l.trim()) ?? msg).slice(0, 300);
}

function halfToFloat(h: number): number {
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  const sign = h & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

function toFloat32(t: ort.Tensor): Float32Array {
  if (t.type === 'float32') return t.data as Float32Array;
  if (t.type === 'float16') {
    const src = t.data as ArrayLike<number>;
    const out = new Float32Array(src.length);
    // Uint16Array holds raw halves; a Float16Array (newer runtimes) already holds numbers.
    const raw = src instanceof Uint16Array;
    for (let i = 0; i < src.length; i++) out[i] = raw ? halfToFloat(src[i]) : src[i];
    return out;
  }
  throw new Error(`attention tensor of type ${t.type}`);
}

class OnnxModel implements OpenedModel {
  info: ModelInfo;
  private current: ProviderSession & { setting: ExecutionProviderSetting; loadMs: number };

  constructor(
    readonly path: string,
    /** Re-reads the model (kept out of memory between sessions: weights can be GBs). */
    private readonly source: () => onnx.IModelProto,
    private readonly sessionOptions: ort.InferenceSession.SessionOptions,
    private readonly sites: AttentionSite[],
    private readonly plan: FeedPlan,
    private readonly tokenizer: TextTokenizer | undefined,
    first: ProviderSession & { setting: ExecutionProviderSetting; loadMs: number },
    name: string,
    private readonly mapBudgetBytes?: number,
  ) {
    this.current = first;
    this.info = {
      modelId: createHash('sha1').update(path).digest('hex').slice(0, 12),
      name,
      format: 'onnx',
      layers: sites.map((s) => ({ index: s.index, kind: s.kind, heads: 0, source: s.nodeName })),
      heads: 0,
      hasTokenizer: tokenizer !== undefined,
    };
  }

  async session(setting: ExecutionProviderSetting, log?: (line: string) => void): Promise<OnnxModel['current']> {
    if (setting !== this.current.setting) {
      const started = performance.now();
      const next = await openSession(this.path, serializeModel(exposeAttention(this.source(), this.sites)), setting, this.sessionOptions, log);
      await this.current.session.release();
      this.current = { ...next, setting, loadMs: performance.now() - started };
    }
    return this.current;
  }

  /** Runs ids through the graph; returns the probability tensors of the given sites. */
  async run(session: ort.InferenceSession, ids: number[], sites: AttentionSite[] = this.sites, targetIds?: number[]): Promise<ort.InferenceSession.OnnxValueMapType> {
    if (this.plan.vocabSize !== undefined) {
      const bad = [...ids, ...(targetIds ?? [])].find((id) => id >= this.plan.vocabSize!);
      if (bad !== undefined) {
        throw new UserError(`token id ${bad} is outside the vocabulary (${this.plan.vocabSize} ids) of ${this.path}`);
      }
    }
    try {
      return await session.run(buildFeeds(this.plan, ids, this.path, targetIds), sites.map((s) => s.output));
    } catch (e) {
      if (e instanceof UserError) throw e;
      throw new UserError(`${this.path}: onnxruntime failed to run the model: ${firstLine(e)}`);
    }
  }

  async capture(input: CaptureInput, options: CaptureOptions = {}): Promise<CaptureResult> {
    const t0 = performance.now();
    const { ids, tokens } = await resolveIds(input, this.tokenizer, this.path, options);
    const target = await resolveTarget(input, { ids, tokens }, this.tokenizer, this.path, this.plan.decoderInput !== undefined, options);
    // Before the (possibly long) first run, so the client can draw the token strip and layer slots.
    options.onTokens?.(tokens, ids, target);
    const t1 = performance.now();
    const current = await this.session(options.executionProvider ?? this.current.setting, options.log);
    const budget = options.memoryBudgetBytes ?? this.mapBudgetBytes ?? defaultMapBudget();
    // Encoder-decoder maps are n x n, m x m and m x n: the longer side bounds them all.
    const longest = Math.max(ids.length, target?.ids.length ?? 0);
    const groups = planLayerGroups(this.info.layers.map((l) => l.heads), longest, budget, this.path);
    if (groups.length > 1) options.log?.(`${ids.length} tokens: maps returned in ${groups.length} runs to stay within the memory budget`);
    // Several groups: each runs a model cut down to its layers (server/capture/groupModel.ts).
    const graph = groups.length > 1 ? this.source() : undefined;
    const rss = sampleRss();
    const layers: LayerInfo[] = [];
    let cancelled = false;
    let runMs = 0;
    try {
      for (const group of groups) {
        if (options.isCancelled?.()) {
          cancelled = true;
          break;
        }
        const sites = group.map((i) => this.sites[i]);
        const started = performance.now();
        const outputs: Record<string, unknown> = { ...(await this.runGroup(graph, current, sites, ids, target?.ids, options.log)) };
        runMs += performance.now() - started;
        for (const site of sites) {
          if (options.isCancelled?.()) {
            cancelled = true;
            break;
          }
          const map = this.layerMap(site, outputs[site.output] as ort.Tensor, options.log);
          // Handed over: the caller keeps (or spills) it; the next layer should not wait on GC for room.
          delete outputs[site.output];
          layers.push({ index: site.index, kind: site.kind, heads: map.heads, source: site.nodeName });
          await options.onLayer?.(map);
          rss.sample();
          options.onProgress?.((site.index + 1) / this.sites.length, `layer ${site.index + 1} of ${this.sites.length}`);
        }
        if (cancelled) break;
      }
    } finally {
      rss.stop();
    }
    this.info.heads = Math.max(this.info.heads, ...layers.map((l) => l.heads));
    const t3 = performance.now();
    return {
      tokens,
      ids,
      ...(target ? { targetTokens: target.tokens, targetIds: target.ids } : {}),
      layers,
      executionProvider: current.provider,
      providerNotes: [...current.notes],
      timings: { loadMs: current.loadMs, tokenizeMs: t1 - t0, runMs, totalMs: t3 - t0 },
      cancelled,
      peakRssBytes: rss.peak(),
    };
  }

  /** One group's maps: the whole-model session, or a session of the group's own model. */
  private async runGroup(
    graph: onnx.IModelProto | undefined,
    current: OnnxModel['current'],
    sites: AttentionSite[],
    ids: number[],
    targetIds: number[] | undefined,
    log?: (line: string) => void,
  ): Promise<ort.InferenceSession.OnnxValueMapType> {
    if (!graph) return this.run(current.session, ids, sites, targetIds);
    const own = await openSession(this.path, serializeModel(groupModel(graph, sites)), current.setting, this.sessionOptions, log);
    try {
      return await this.run(own.session, ids, sites, targetIds);
    } finally {
      await own.session.release();
    }
  }

  private layerMap(site: AttentionSite, tensor: ort.Tensor, log?: (line: string) => void): LayerMap {
    const dims = tensor.dims.map(Number);
    const axis = site.axis < 0 ? site.axis + dims.length : site.axis;
    if (axis !== dims.length - 1) log?.(`${site.nodeName}: softmax over axis ${site.axis}, not the last one; map may be transposed`);
    const shape = attentionShape(dims);
    this.info.layers[site.index].heads = shape.heads;
    return { index: site.index, kind: site.kind, ...shape, data: toFloat32(tensor) };
  }

  async dispose(): Promise<void> {
    this.tokenizer?.dispose();
    await this.current.session.release();
  }
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

export async function openOnnxModel(file: string, options: OpenOnnxOptions = {}): Promise<OpenedModel> {
  const started = performance.now();
  const loaded = readOnnxModel(file);
  const graph = expandFusedAttention(loaded.model, file);
  const sites = findAttention(graph, file);
  const plan = planFeeds(graph, file);
  const tokenizer = options.tokenizerDir ? loadTokenizer(options.tokenizerDir) : undefined;
  const path = loaded.path;
  // Only path and sites are captured: the decoded model is not kept alive by this closure.
  const source = (): onnx.IModelProto => expandFusedAttention(readOnnxModel(path).model, file);
  const bytes = serializeModel(exposeAttention(graph, sites));
  // No CPU arena: it grows by powers of two and never gives memory back, so the 805 MB maps of
  // a 4096-token layer left a 16 GB process behind (measured: 4.4 GB -> 1.7 GB peak at 2048).
  const sessionOptions = { ...externalDataSessionOptions(loaded), logSeverityLevel: 3 as const, enableCpuMemArena: false };
  const setting = options.executionProvider ?? 'auto';
  const first = await openSession(loaded.path, bytes, setting, sessionOptions, options.log);
  const model = new OnnxModel(
    loaded.path, source, sessionOptions, sites, plan, tokenizer,
    { ...first, setting, loadMs: performance.now() - started },
    options.name ?? basename(loaded.path),
    options.mapBudgetBytes,
  );
  // One-token probe: fills in the head counts (unknown until shapes resolve) and surfaces
  // missing inputs or broken graphs when the model is opened rather than at first capture.
  const probe = await model.run(first.session, [0]);
  for (const s of sites) {
    const heads = attentionShape((probe[s.output] as ort.Tensor).dims.map(Number)).heads;
    model.info.layers[s.index].heads = heads;
    model.info.heads = Math.max(model.info.heads, heads);
  }
  return model;
}
