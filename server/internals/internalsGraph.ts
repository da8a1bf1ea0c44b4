/**
 * One model as an ONNX graph for the head internals (queries and keys, value-weighted norms,
 * ablation): an .onnx export read in place, or a Hugging Face folder built as one graph with its
 * weights as initializers. Feeds and tokenizer come with it, so every internals command runs the
 * same graph the capture runs.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { resolveIds } from '../capture/captureInput';
import { buildFeeds, planFeeds } from '../capture/onnxFeeds';
import { UserError, type CaptureInput } from '../capture/types';
import { buildFullModel, familyGraph } from '../hf/buildModel';
import { openCheckpoint } from '../hf/checkpoint';
import { readHfConfig } from '../hf/config';
import { hostInput } from '../hf/hostInputs';
import { externalDataSessionOptions, readOnnxModel } from '../onnx/modelFile';
import { hasTokenizer, loadTokenizer, type TextTokenizer } from '../tokenizer';
import { onnxIn } from '../variants/qkvCapture';
import { GraphConstants } from './constants';
import { headSites, type HeadSite } from './headSites';

export interface InternalsGraph {
  model: onnx.IModelProto;
  /** The file or folder, for messages. */
  where: string;
  constants: GraphConstants;
  sites: HeadSite[];
  options: ort.InferenceSession.SessionOptions;
  feedsFor(ids: number[]): Record<string, ort.Tensor>;
  resolve(input: CaptureInput, maxTokens?: number): Promise<{ ids: number[]; tokens: string[] }>;
}

export async function openInternalsGraph(path: string): Promise<InternalsGraph> {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new UserError(`${path}: no such file or folder; check --model`);
  const isDir = statSync(abs).isDirectory();
  const dir = isDir ? abs : resolve(abs, '..');
  const file = isDir ? onnxIn(abs) : abs;
  let model: onnx.IModelProto;
  let feedsFor: (ids: number[]) => Record<string, ort.Tensor>;
  let options: ort.InferenceSession.SessionOptions = { logSeverityLevel: 3 };
  let constDir = dir;
  if (file) {
    const loaded = readOnnxModel(file);
    model = loaded.model;
    constDir = loaded.dir;
    const plan = planFeeds(model, file);
    feedsFor = (ids) => buildFeeds(plan, ids, file);
    options = { ...options, ...externalDataSessionOptions(loaded) };
  } else if (existsSync(join(abs, 'config.json'))) {
    const cfg = readHfConfig(abs);
    const src = await openCheckpoint(abs);
    try {
      const built = await buildFullModel(cfg, familyGraph(cfg, src, abs), src);
      model = onnx.ModelProto.decode(built.bytes);
      feedsFor = (ids) => Object.fromEntries(built.hostInputs.map((n) => {
        const t = hostInput(cfg, ids, n, abs);
        return [n, new ort.Tensor(t.type, t.data, t.dims)];
      }));
    } finally {
      await src.close();
    }
  } else {
    throw new UserError(`${path}: no .onnx model and no config.json; point --model at an ONNX export or a Hugging Face folder`);
  }
  const where = file ?? abs;
  const constants = new GraphConstants(model, constDir);
  const tokenizer: TextTokenizer | undefined = hasTokenizer(dir) ? loadTokenizer(dir) : undefined;
  return {
    model,
    where,
    constants,
    sites: headSites(model, constants, where),
    options,
    feedsFor,
    resolve: (input, maxTokens) => resolveIds(input, tokenizer, where, { maxTokens }),
  };
}

/** A float32 output of a run, or a one-line error naming what was expected. */
export function f32Output(out: ort.InferenceSession.OnnxValueMapType, name: string, what: string): { data: Float32Array; dims: number[] } {
  const t = out[name];
  if (!(t instanceof ort.Tensor)) throw new UserError(`${what} (${name}) was not returned by onnxruntime`);
  if (t.type !== 'float32') throw new UserError(`${what} (${name}) is ${t.type}; internals read float32 models (export in float32)`);
  return { data: t.data as Float32Array, dims: t.dims.map(Number) };
}
