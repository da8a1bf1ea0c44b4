/**
 * A model opened for policy-masked runs: the ONNX export, or the graph built from a Hugging
 * Face checkpoint, with a mask input before every attention Softmax (maskSurgery.ts). One
 * run takes per-layer keep masks (none: the full cache) and returns each layer's
 * probabilities and values and the logits.
 */
import { existsSync, statSync } from 'node:fs';
import { freemem } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import type { ExecutionProviderSetting } from '../../protocol/runtime';
import { resolveIds } from '../capture/captureInput';
import { createSession, type ProviderSession } from '../capture/executionProvider';
import { buildFeeds, planFeeds } from '../capture/onnxFeeds';
import { onnxIn } from '../capture/wholeGraph';
import type { CaptureInput } from '../capture/types';
import { buildFullModel, familyGraph, fullModelNeeds, hfSessionOptions } from '../hf/buildModel';
import { openCheckpoint, refusePickleOnly } from '../hf/checkpoint';
import { readHfConfig } from '../hf/config';
import { hostInput } from '../hf/hostInputs';
import { findAttention } from '../onnx/attentionFinder';
import { expandFusedAttention } from '../onnx/fusedAttention';
import { externalDataSessionOptions, readOnnxModel } from '../onnx/modelFile';
import { serializeModel } from '../onnx/surgery';
import { hasTokenizer, loadTokenizer, type TextTokenizer } from '../tokenizer';
import type { KeepMask } from './evictionPolicies';
import { MaskedLayerRunner } from './maskedLayerRunner';
import { maskAttention, type MaskedGraph } from './maskSurgery';
import { toFloat32 } from '../capture/tensorData';
import { UserError, firstLine } from '../../common/errors';

/** Masked scores: exp(-1e9 - max) is exactly 0 in float32, as the HF builders' causal mask. */
const DROPPED = -1e9;
/** HF checkpoints above this run layer by layer: protobuf cannot serialise more than 2 GiB. */
const WHOLE_GRAPH_LIMIT = 1.5 * 1024 ** 3;

export interface MaskedRun {
  /** Per layer [heads, n, n]. */
  probs: Float32Array[];
  /** Per layer the values the map multiplies, [heads, n, d] (after any GQA expansion). */
  values: ({ data: Float32Array; headDim: number } | undefined)[];
  /** [n, vocab]; undefined for a model without a language-model head (a base model export). */
  logits?: Float32Array;
  vocab: number;
}

export interface MaskedModel {
  path: string;
  name: string;
  /** Folder holding the model (config.json, tokenizer.json). */
  folder: string;
  tokenizer?: TextTokenizer;
  provider: string;
  /** Heads of each attention layer, in graph order. */
  heads: number[];
  resolve(input: CaptureInput, maxTokens?: number): Promise<{ ids: number[]; tokens: string[] }>;
  run(ids: number[], masks?: KeepMask[]): Promise<MaskedRun>;
  dispose(): Promise<void>;
}

function additive(mask: KeepMask | undefined, heads: number, n: number): Float32Array {
  const out = new Float32Array(heads * n * n);
  if (!mask) return out;
  if (mask.heads !== heads || mask.n !== n) throw new Error(`keep mask ${mask.heads}x${mask.n} does not fit ${heads} heads over ${n} tokens`);
  for (let i = 0; i < out.length; i++) if (!mask.keep[i]) out[i] = DROPPED;
  return out;
}

/** Runs ids with per-layer additive masks; what openMaskedModel wraps. */
interface Runner {
  provider: string;
  heads: number[];
  run(ids: number[], masks: Float32Array[]): Promise<{ probs: Float32Array[]; values: ({ data: Float32Array; dims: number[] } | undefined)[]; logits?: Float32Array; vocab: number }>;
  dispose(): Promise<void>;
}

interface Built {
  graph: MaskedGraph;
  bytes: Uint8Array;
  options: ort.InferenceSession.SessionOptions;
  feeds: (ids: number[]) => Record<string, ort.Tensor>;
}

function onnxBuilt(file: string): Built {
  // Large float weights stay in the file (server/onnx/weightReferences.ts): the one session made
  // right away reads them from there, and the bytes kept here are the graph's alone.
  const loaded = readOnnxModel(file, { referenceWeights: true });
  const model = expandFusedAttention(loaded.model, file);
  const sites = findAttention(model, file);
  const plan = planFeeds(model, file);
  if (plan.decoderInput || sites.some((s) => s.kind === 'cross')) {
    throw new UserError(`${file}: an encoder-decoder; KV-cache eviction is simulated on decoder-only (causal) models`);
  }
  const graph = maskAttention(model, sites, file);
  return {
    graph,
    bytes: serializeModel(graph.model),
    options: { ...externalDataSessionOptions(loaded), logSeverityLevel: 3, enableCpuMemArena: false },
    feeds: (ids) => {
      const bad = plan.vocabSize !== undefined ? ids.find((id) => id >= plan.vocabSize!) : undefined;
      if (bad !== undefined) throw new UserError(`token id ${bad} is outside the vocabulary (${plan.vocabSize} ids) of ${file}`);
      return buildFeeds(plan, ids, file);
    },
  };
}

/** One session over the whole masked graph (ONNX exports, HF checkpoints that fit). */
async function graphRunner(path: string, built: Built, setting: ExecutionProviderSetting, log?: (line: string) => void): Promise<Runner> {
  let ps: ProviderSession;
  try {
    ps = await createSession(built.bytes, setting, built.options, log);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${path}: onnxruntime cannot load the masked model: ${firstLine(e)}`);
  }
  const g = built.graph;
  const heads: number[] = g.maskInputs.map(() => 1);
  const runOnce = async (ids: number[], masks: Float32Array[] | undefined): Promise<ort.InferenceSession.OnnxValueMapType> => {
    const n = ids.length;
    const feeds = built.feeds(ids);
    g.maskInputs.forEach((name, i) => {
      feeds[name] = new ort.Tensor('float32', masks?.[i] ?? new Float32Array(heads[i] * n * n), [heads[i], n, n]);
    });
    try {
      return await ps.session.run(feeds);
    } catch (e) {
      if (e instanceof UserError) throw e;
      throw new UserError(`${path}: onnxruntime failed to run the masked model: ${firstLine(e)}`);
    }
  };
  // Head counts are only known from shapes: a one-token run with 1 x 1 x 1 masks finds them.
  const probe = await runOnce([0], undefined);
  g.probs.forEach((name, i) => {
    const d = (probe[name] as ort.Tensor).dims.map(Number);
    heads[i] = d.length === 4 ? d[1] : d[0];
  });
  return {
    provider: ps.provider,
    heads,
    async run(ids, masks) {
      const n = ids.length;
      const out = await runOnce(ids, masks);
      const lt = g.logits ? (out[g.logits] as ort.Tensor) : undefined;
      const vocab = lt ? Number(lt.dims[lt.dims.length - 1]) : 0;
      const logits = lt ? toFloat32(lt) : undefined;
      if (logits && logits.length !== n * vocab) throw new UserError(`${path}: output ${g.logits} has shape [${lt!.dims.join(', ')}], not one row of logits per token`);
      return {
        probs: g.probs.map((name) => toFloat32(out[name] as ort.Tensor)),
        values: g.values.map((name) => (name && out[name] ? { data: toFloat32(out[name] as ort.Tensor), dims: (out[name] as ort.Tensor).dims.map(Number) } : undefined)),
        logits,
        vocab,
      };
    },
    dispose: () => ps.session.release(),
  };
}

export interface MaskedOpenOptions {
  /** HF checkpoints: true runs layer by layer; default when the whole graph would not fit. */
  layerByLayer?: boolean;
  log?: (line: string) => void;
}

async function hfRunner(folder: string, setting: ExecutionProviderSetting, o: MaskedOpenOptions): Promise<Runner> {
  const cfg = readHfConfig(folder);
  if (cfg.family === 'bert') throw new UserError(`${folder}: ${cfg.modelType} is an encoder (no KV cache); KV-cache eviction is simulated on causal decoders`);
  refusePickleOnly(folder);
  const src = await openCheckpoint(folder);
  let keepSource = false;
  try {
    const fam = familyGraph(cfg, src, folder);
    fullModelNeeds(cfg, fam, src);
    const bytes = src.float32Bytes();
    // As hfModel.ts: whole graphs peak at about 4x the weights and protobuf stops at 2 GiB.
    const layerMode = o.layerByLayer ?? (bytes > WHOLE_GRAPH_LIMIT || bytes * 4 > freemem());
    if (layerMode) {
      const runner = new MaskedLayerRunner(cfg, fam, src, folder, setting, o.log);
      keepSource = true;
      return {
        get provider() {
          return runner.provider || setting;
        },
        heads: new Array(cfg.layers).fill(cfg.heads),
        run: (ids, masks) => runner.run(ids, masks.length > 0 ? masks : new Array(cfg.layers).fill(0).map(() => new Float32Array(cfg.heads * ids.length * ids.length))),
        async dispose() {
          await runner.dispose();
          await src.close();
        },
      };
    }
    const built = await buildFullModel(cfg, fam, src, folder);
    const model = onnx.ModelProto.decode(built.bytes);
    const graph = maskAttention(model, findAttention(model, folder), folder);
    const feeds = (ids: number[]) => {
      const out: Record<string, ort.Tensor> = {};
      for (const name of built.hostInputs) {
        const t = hostInput(cfg, ids, name, folder);
        out[name] = new ort.Tensor(t.type, t.data, t.dims);
      }
      return out;
    };
    return await graphRunner(folder, { graph, bytes: serializeModel(graph.model), options: hfSessionOptions(folder), feeds }, setting, o.log);
  } finally {
    if (!keepSource) await src.close();
  }
}

export async function openMaskedModel(path: string, setting: ExecutionProviderSetting = 'auto', options: MaskedOpenOptions = {}): Promise<MaskedModel> {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new UserError(`${path}: no such file or folder; check the model path`);
  const isDir = statSync(abs).isDirectory();
  const folder = isDir ? abs : dirname(abs);
  const file = isDir ? onnxIn(abs) : abs;
  let runner: Runner;
  if (file) runner = await graphRunner(file, onnxBuilt(file), setting, options.log);
  else if (existsSync(join(abs, 'config.json'))) runner = await hfRunner(abs, setting, options);
  else throw new UserError(`${path}: no model.onnx, and no config.json with *.safetensors; point at an ONNX export or a Hugging Face checkpoint folder`);
  const tokenizer = hasTokenizer(folder) ? loadTokenizer(folder) : undefined;
  return {
    path: abs,
    name: basename(isDir ? abs : file ?? abs),
    folder,
    tokenizer,
    get provider() {
      return runner.provider;
    },
    heads: runner.heads,
    resolve: (input, maxTokens) => resolveIds(input, tokenizer, abs, { maxTokens }),
    async run(ids, masks) {
      const n = ids.length;
      const out = await runner.run(ids, masks ? masks.map((m, i) => additive(m, runner.heads[i], n)) : []);
      // Values count only when laid out [.., heads, n, d] like the map: K/V heads a MatMul
      // broadcasts over query-head groups would pair the wrong rows.
      const values = out.values.map((v, i) => {
        if (!v || v.dims.length < 2) return undefined;
        const headDim = v.dims[v.dims.length - 1];
        const lead = v.dims.slice(0, -2).reduce((a, b) => a * b, 1);
        return v.dims[v.dims.length - 2] === n && lead === runner.heads[i] ? { data: v.data, headDim } : undefined;
      });
      return { probs: out.probs, values, logits: out.logits, vocab: out.vocab };
    },
    dispose: () => runner.dispose(),
  };
}
