/**
 * A model opened for policy-masked runs: the ONNX export, or the graph built from a Hugging
 * Face checkpoint, with a mask input before every attention Softmax (maskSurgery.ts). One
 * run takes per-layer keep masks (none: the full cache) and returns each layer's
 * probabilities and values and the logits.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import type { ExecutionProviderSetting } from '../../protocol/runtime';
import { resolveIds } from '../capture/captureInput';
import { createSession, type ProviderSession } from '../capture/executionProvider';
import { buildFeeds, planFeeds } from '../capture/onnxFeeds';
import { UserError, type CaptureInput } from '../capture/types';
import { buildFullModel, familyGraph, fullModelNeeds } from '../hf/buildModel';
import { openCheckpoint, refusePickleOnly } from '../hf/checkpoint';
import { readHfConfig } from '../hf/config';
import { hostInput } from '../hf/hostInputs';
import { findAttention } from '../onnx/attentionFinder';
import { expandFusedAttention } from '../onnx/fusedAttention';
import { externalDataSessionOptions, readOnnxModel } from '../onnx/modelFile';
import { serializeModel } from '../onnx/surgery';
import { hasTokenizer, loadTokenizer, type TextTokenizer } from '../tokenizer';
import type { KeepMask } from './evictionPolicies';
import { maskAttention, type MaskedGraph } from './maskSurgery';

/** Masked scores: exp(-1e9 - max) is exactly 0 in float32, as the HF builders' causal mask. */
const DROPPED = -1e9;
/** Whole HF graphs above this are refused: protobuf cannot serialise more than 2 GiB. */
const WHOLE_GRAPH_LIMIT = 1.5 * 1024 ** 3;

export interface MaskedRun {
  /** Per layer [heads, n, n]. */
  probs: Float32Array[];
  /** Per layer the values the map multiplies, [heads, n, d] (after any GQA expansion). */
  values: ({ data: Float32Array; headDim: number } | undefined)[];
  /** [n, vocab] */
  logits: Float32Array;
  vocab: number;
}

export interface MaskedModel {
  path: string;
  name: string;
  /** Folder holding the model (config.json, tokenizer.json). */
  folder: string;
  tokenizer?: TextTokenizer;
  provider: string;
  resolve(input: CaptureInput, maxTokens?: number): { ids: number[]; tokens: string[] };
  run(ids: number[], masks?: KeepMask[]): Promise<MaskedRun>;
  dispose(): Promise<void>;
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return (msg.split('\n').find((l) => l.trim()) ?? msg).slice(0, 300);
}

function onnxIn(dir: string): string | undefined {
  for (const c of ['model.onnx', join('onnx', 'model.onnx')]) if (existsSync(join(dir, c))) return join(dir, c);
  const files = readdirSync(dir).filter((e) => e.toLowerCase().endsWith('.onnx'));
  if (files.length > 1) throw new UserError(`${dir}: holds several .onnx files (${files.slice(0, 4).join(', ')}); pass the one to inspect`);
  return files.length === 1 ? join(dir, files[0]) : undefined;
}

function additive(mask: KeepMask | undefined, heads: number, n: number): Float32Array {
  const out = new Float32Array(heads * n * n);
  if (!mask) return out;
  if (mask.heads !== heads || mask.n !== n) throw new Error(`keep mask ${mask.heads}x${mask.n} does not fit ${heads} heads over ${n} tokens`);
  for (let i = 0; i < out.length; i++) if (!mask.keep[i]) out[i] = DROPPED;
  return out;
}

function toF32(t: ort.Tensor): Float32Array {
  if (t.type === 'float32') return t.data as Float32Array;
  return Float32Array.from(t.data as ArrayLike<number>);
}

interface Built {
  graph: MaskedGraph;
  bytes: Uint8Array;
  options: ort.InferenceSession.SessionOptions;
  feeds: (ids: number[]) => Record<string, ort.Tensor>;
  heads: number[];
}

function onnxBuilt(file: string): Built {
  const loaded = readOnnxModel(file);
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
    heads: [],
  };
}

async function hfBuilt(folder: string): Promise<Built> {
  const cfg = readHfConfig(folder);
  if (cfg.family === 'bert') throw new UserError(`${folder}: ${cfg.modelType} is an encoder (no KV cache); KV-cache eviction is simulated on causal decoders`);
  refusePickleOnly(folder);
  const src = await openCheckpoint(folder);
  try {
    const fam = familyGraph(cfg, src, folder);
    fullModelNeeds(cfg, fam, src);
    if (src.float32Bytes() > WHOLE_GRAPH_LIMIT) {
      throw new UserError(`${folder}: ${(src.float32Bytes() / 1e9).toFixed(1)} GB of float32 weights; KV-cache simulation builds the whole graph and takes checkpoints up to ${(WHOLE_GRAPH_LIMIT / 1e9).toFixed(1)} GB`);
    }
    const built = await buildFullModel(cfg, fam, src);
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
    return { graph, bytes: serializeModel(graph.model), options: { logSeverityLevel: 3 }, feeds, heads: [] };
  } finally {
    await src.close();
  }
}

export async function openMaskedModel(path: string, setting: ExecutionProviderSetting = 'auto', log?: (line: string) => void): Promise<MaskedModel> {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new UserError(`${path}: no such file or folder; check the model path`);
  const isDir = statSync(abs).isDirectory();
  const folder = isDir ? abs : dirname(abs);
  const file = isDir ? onnxIn(abs) : abs;
  let built: Built;
  if (file) built = onnxBuilt(file);
  else if (existsSync(join(abs, 'config.json'))) built = await hfBuilt(abs);
  else throw new UserError(`${path}: no model.onnx, and no config.json with *.safetensors; point at an ONNX export or a Hugging Face checkpoint folder`);
  let ps: ProviderSession;
  try {
    ps = await createSession(built.bytes, setting, built.options, log);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${path}: onnxruntime cannot load the masked model: ${firstLine(e)}`);
  }
  const tokenizer = hasTokenizer(folder) ? loadTokenizer(folder) : undefined;
  const g = built.graph;
  const sites = g.maskInputs.length;
  const heads: number[] = new Array(sites).fill(0);

  const runOnce = async (ids: number[], masks: KeepMask[] | undefined): Promise<ort.InferenceSession.OnnxValueMapType> => {
    const n = ids.length;
    const feeds = built.feeds(ids);
    g.maskInputs.forEach((name, i) => {
      feeds[name] = new ort.Tensor('float32', additive(masks?.[i], heads[i], n), [heads[i], n, n]);
    });
    try {
      return await ps.session.run(feeds);
    } catch (e) {
      if (e instanceof UserError) throw e;
      throw new UserError(`${path}: onnxruntime failed to run the masked model: ${firstLine(e)}`);
    }
  };

  // Head counts are only known from shapes: a one-token run with 1 x 1 x 1 masks finds them.
  heads.fill(1);
  const probe = await runOnce([0], undefined);
  g.probs.forEach((name, i) => {
    const d = (probe[name] as ort.Tensor).dims.map(Number);
    heads[i] = d.length === 4 ? d[1] : d[0];
  });

  return {
    path: abs,
    name: basename(isDir ? abs : file ?? abs),
    folder,
    tokenizer,
    provider: ps.provider,
    resolve: (input, maxTokens) => resolveIds(input, tokenizer, abs, maxTokens),
    async run(ids, masks) {
      const n = ids.length;
      const out = await runOnce(ids, masks);
      const probs = g.maskInputs.map((_, i) => toF32(out[g.probs[i]] as ort.Tensor));
      const values = g.values.map((name, i) => {
        const t = name ? (out[name] as ort.Tensor | undefined) : undefined;
        if (!t) return undefined;
        const data = toF32(t);
        const headDim = data.length / (heads[i] * n);
        return Number.isInteger(headDim) ? { data, headDim } : undefined;
      });
      const lt = out[g.logits] as ort.Tensor;
      const vocab = Number(lt.dims[lt.dims.length - 1]);
      const logits = toF32(lt);
      if (logits.length !== n * vocab) throw new UserError(`${path}: output ${g.logits} has shape [${lt.dims.join(', ')}], not one row of logits per token`);
      return { probs, values, logits, vocab };
    },
    dispose: () => ps.session.release(),
  };
}
