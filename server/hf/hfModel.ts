/**
 * OpenedModel for Hugging Face folders (config.json + safetensors + tokenizer.json): the
 * checkpoint is rebuilt as an ONNX graph with every layer's attention probabilities as outputs
 * and run by onnxruntime-node. Checkpoints too big to build whole run layer by layer.
 */
import { createHash } from 'node:crypto';
import { freemem } from 'node:os';
import { basename, resolve } from 'node:path';
import type { ExecutionProviderSetting, LayerInfo, ModelInfo } from '../../protocol/runtime';
import { UserError } from '../../common/errors';
import { resolveIds } from '../capture/captureInput';
import { fromGraph, fromMap } from '../capture/layerReductions';
import { DEFAULT_TOP_K, reductionFeeds } from '../capture/reductionFeeds';
import { DEFAULT_MEMORY_BUDGET_BYTES, checkLayerFits } from '../capture/layerMemory';
import { layerBlocks, recomputeRows } from '../capture/blockedLayers';
import { sampleRss } from '../capture/rssSampler';
import type { CaptureInput, CaptureOptions, CaptureResult, OpenedModel } from '../capture/types';
import { hasTokenizer, loadTokenizer, type TextTokenizer } from '../tokenizer';
import { buildFullModel, familyGraph, fullModelNeeds } from './buildModel';
import { openCheckpoint, refusePickleOnly, type WeightSource } from './checkpoint';
import { readHfConfig, type HfConfig } from './config';
import { LayerRunner, wholeRunner, type Runner } from './runner';

export interface OpenHfOptions {
  executionProvider?: ExecutionProviderSetting;
  log?: (line: string) => void;
  /**
   * 'auto' (default) builds the whole graph when it fits comfortably in memory and under
   * protobuf's 2 GiB limit, else runs layer by layer; true/false force one way.
   */
  layerByLayer?: boolean | 'auto';
  /** Layer mode: bound on weight bytes held at once (default: a quarter of free memory). */
  memoryBudgetBytes?: number;
}

/** Whole graphs above this are not attempted: protobuf cannot serialise more than 2 GiB. */
const WHOLE_GRAPH_LIMIT = 1.5 * 1024 ** 3;

export class HfModel implements OpenedModel {
  readonly info: ModelInfo;
  /** Weight bytes held at once by the last layer-mode capture (0 in whole mode). */
  lastPeakWeightBytes = 0;
  /** Logits of the last capture, [T, V] (tests and the CLI's next-token view read them). */
  lastLogits?: { data: Float32Array; dims: number[] };

  constructor(
    readonly path: string,
    readonly cfg: HfConfig,
    readonly mode: 'whole' | 'layer',
    /** Builds a runner for a provider setting; called again when a capture asks for another. */
    private readonly makeRunner: (setting: ExecutionProviderSetting) => Promise<Runner>,
    private runner: Runner,
    private setting: ExecutionProviderSetting,
    private readonly src: WeightSource,
    private readonly tokenizer: TextTokenizer | undefined,
    private readonly loadMs: number,
  ) {
    const layers: LayerInfo[] = Array.from({ length: cfg.layers }, (_, i) => ({ index: i, kind: 'self', heads: cfg.heads, source: `attn_${i}` }));
    this.info = {
      modelId: createHash('sha1').update(path).digest('hex').slice(0, 12),
      name: basename(path),
      format: 'huggingface',
      layers,
      heads: cfg.heads,
      hasTokenizer: tokenizer !== undefined,
    };
  }

  changed(): boolean {
    return this.runner.changed?.() ?? false;
  }

  async capture(input: CaptureInput, options: CaptureOptions = {}): Promise<CaptureResult> {
    const t0 = performance.now();
    const { ids, tokens } = await resolveIds(input, this.tokenizer, this.path, options);
    options.onTokens?.(tokens, ids);
    const t1 = performance.now();
    let loadMs = this.loadMs;
    const wanted = options.executionProvider ?? this.setting;
    if (wanted !== this.setting) {
      const next = await this.makeRunner(wanted);
      await this.runner.dispose();
      this.runner = next;
      this.setting = wanted;
      loadMs = performance.now() - t1;
    }
    const t2 = performance.now();
    const rss = sampleRss();
    const layers: LayerInfo[] = [];
    const topK = options.topK ?? DEFAULT_TOP_K;
    const pools = this.info.layers.map((l) => Math.max(1, Math.floor(options.poolFactor?.(l.index, l.heads, ids.length, ids.length) ?? 1)));
    // Segmented runs take query blocks above the memory budget; layer mode refuses what does not fit.
    const layerPlans = this.info.layers.map((l, i) => ({ index: l.index, kind: 'self' as const, heads: l.heads, queries: ids.length, keys: ids.length, pool: pools[i] }));
    const blocked = this.runner.segments ? await layerBlocks(this.runner.segments, layerPlans, options, this.path, this.runner.provider) : undefined;
    if (!blocked) checkLayerFits(this.cfg.heads, ids.length, this.path);
    let firstLayerMs: number | undefined;
    let out;
    try {
      out = await this.runner.run(ids, {
        isCancelled: () => options.isCancelled?.() ?? false,
        maps: options.maps,
        extraFeeds: (k) => reductionFeeds(topK, pools[k]),
        ...(blocked ? { blocks: blocked.blocks } : {}),
        onLayer: async (index, probs, dims, extra) => {
          firstLayerMs ??= performance.now() - t0;
          const [heads, queries, keys] = dims.slice(-3);
          const data = probs ?? blocked?.joined(index);
          layers.push(this.info.layers[index]);
          const map = data ? { index, kind: 'self' as const, heads, queries, keys, data } : undefined;
          if (options.onReductions) {
            const site = { index, kind: 'self' as const };
            await options.onReductions(extra?.stats ? fromGraph(site, { heads, queries, keys }, extra, topK, pools[index]) : fromMap(map!, topK, pools[index]));
          }
          if (map && options.maps !== 'none') await options.onLayer?.(map);
          rss.sample();
          options.onProgress?.((index + 1) / this.cfg.layers, `layer ${index + 1} of ${this.cfg.layers}`);
        },
      });
    } finally {
      rss.stop();
    }
    this.lastPeakWeightBytes = out.peakWeightBytes;
    const recompute = out.recompute;
    const segments = this.runner.segments;
    const boundaries = out.boundaries;
    const wholeMap = async (index: number) => {
      const { data, dims } = await recompute!(index);
      const [, heads, queries, keys] = dims;
      return { index, kind: 'self' as const, heads, queries, keys, data };
    };
    this.lastLogits = out.logits ? { data: out.logits, dims: out.logitsDims } : undefined;
    const t3 = performance.now();
    return {
      tokens,
      ids,
      layers,
      executionProvider: this.runner.provider,
      providerNotes: [...this.runner.notes],
      timings: { loadMs, tokenizeMs: t1 - t0, runMs: t3 - t2, totalMs: t3 - t0 },
      cancelled: out.cancelled,
      peakRssBytes: rss.peak(),
      segmentRuns: layers.length,
      ...(firstLayerMs !== undefined ? { firstLayerMs } : {}),
      ...(recompute
        ? {
            recompute: wholeMap,
            ...(segments && boundaries
              ? {
                  recomputeRows: async (index: number, head: number, q0: number, q1: number, k0?: number, k1?: number) => {
                    if (!layerPlans[index]) throw new UserError(`${this.path}: the capture has no layer ${index}`);
                    if (this.runner.segments !== segments) throw new UserError(`${this.path}: the model was reopened on another provider since this capture; run the inspection again`);
                    return recomputeRows(
                      {
                        graph: segments,
                        layer: layerPlans[index],
                        boundaries,
                        budgetBytes: options.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET_BYTES,
                        extraFeeds: reductionFeeds(topK, pools[index]),
                        path: this.path,
                        whole: () => wholeMap(index),
                      },
                      head,
                      q0,
                      q1,
                      k0,
                      k1,
                    );
                  },
                }
              : {}),
          }
        : {}),
    };
  }

  get recomputes(): boolean {
    return this.runner.segments !== undefined;
  }

  /** The segments of a whole-graph model (undefined in layer mode, which runs stage by stage). */
  get segments(): Runner['segments'] {
    return this.runner.segments;
  }

  async dispose(): Promise<void> {
    this.tokenizer?.dispose();
    await this.runner.dispose();
    await this.src.close();
  }
}

export async function openHuggingFaceModel(path: string, options: OpenHfOptions = {}): Promise<OpenedModel> {
  const started = performance.now();
  const folder = resolve(path);
  const cfg = readHfConfig(folder);
  refusePickleOnly(folder);
  const src = await openCheckpoint(folder);
  try {
    const fam = familyGraph(cfg, src, folder);
    // Resolving every tensor name up front turns a mismatched checkpoint into one line now.
    fullModelNeeds(cfg, fam, src);
    const tokenizer = hasTokenizer(folder) ? loadTokenizer(folder) : undefined;
    const bytes = src.float32Bytes();
    const layerMode =
      options.layerByLayer === 'auto' || options.layerByLayer === undefined
        ? // Whole mode peaked at about 4x the weights (arrays, protobuf, onnxruntime's copy).
          bytes > WHOLE_GRAPH_LIMIT || bytes * 4 > freemem()
        : options.layerByLayer;
    const setting = options.executionProvider ?? 'auto';
    const budget = options.memoryBudgetBytes ?? Math.floor(freemem() / 4);
    if (layerMode) {
      options.log?.(`${basename(folder)}: ${(bytes / 1e6).toFixed(0)} MB of float32 weights, running layer by layer (budget ${(budget / 1e6).toFixed(0)} MB)`);
    }
    const makeRunner = async (ep: ExecutionProviderSetting): Promise<Runner> =>
      layerMode
        ? new LayerRunner(cfg, fam, src, folder, budget, ep, options.log)
        : wholeRunner(cfg, await buildFullModel(cfg, fam, src, folder), folder, ep, options.log);
    const runner = await makeRunner(setting);
    return new HfModel(folder, cfg, layerMode ? 'layer' : 'whole', makeRunner, runner, setting, src, tokenizer, performance.now() - started);
  } catch (e) {
    await src.close();
    throw e;
  }
}
