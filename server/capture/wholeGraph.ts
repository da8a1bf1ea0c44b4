/**
 * A model as one runnable ONNX graph, for the analyses that change the graph before running it
 * (Q/K/V capture for the variants, head internals, ablation): an .onnx export read in place, or
 * a Hugging Face folder built as one graph with its weights as initializers. The capture itself
 * goes through openModel.ts, which also runs checkpoints larger than memory layer by layer.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { buildFullModel, familyGraph, hfSessionOptions } from '../hf/buildModel';
import { openCheckpoint } from '../hf/checkpoint';
import { readHfConfig } from '../hf/config';
import { hostInput } from '../hf/hostInputs';
import { externalDataSessionOptions, readOnnxModel } from '../onnx/modelFile';
import { changedFile } from '../onnx/weightReferences';
import { hasTokenizer, loadTokenizer, type TextTokenizer } from '../tokenizer';
import { buildFeeds, planFeeds } from './onnxFeeds';
import { UserError } from '../../common/errors';

export interface WholeGraph {
  model: onnx.IModelProto;
  /** The .onnx file, or the Hugging Face folder: for messages. */
  where: string;
  /** Where the graph's external data files are (the .onnx file's folder, or the checkpoint). */
  constDir: string;
  options: ort.InferenceSession.SessionOptions;
  feedsFor(ids: number[]): Record<string, ort.Tensor>;
  tokenizer: TextTokenizer | undefined;
  /**
   * Whether the .onnx file changed on disk since it was read: every session made from `model`
   * reads the large weights from the file itself (server/onnx/weightReferences.ts), so a changed
   * file has to be read again; for a Hugging Face folder, whether a safetensors file its float32
   * weights are read from changed since the graph was built.
   */
  changed(): boolean;
}

/** The .onnx file a folder holds: model.onnx, onnx/model.onnx, or its only .onnx file. */
export function onnxIn(dir: string): string | undefined {
  for (const c of ['model.onnx', join('onnx', 'model.onnx')]) if (existsSync(join(dir, c))) return join(dir, c);
  const files = readdirSync(dir).filter((e) => e.toLowerCase().endsWith('.onnx'));
  if (files.length > 1) throw new UserError(`${dir}: holds several .onnx files (${files.slice(0, 4).join(', ')}); pass the one to inspect`);
  return files.length === 1 ? join(dir, files[0]) : undefined;
}

export async function openWholeGraph(path: string): Promise<WholeGraph> {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new UserError(`${path}: no such file or folder; check --model`);
  const isDir = statSync(abs).isDirectory();
  const dir = isDir ? abs : resolve(abs, '..');
  const file = isDir ? onnxIn(abs) : abs;
  const tokenizer = hasTokenizer(dir) ? loadTokenizer(dir) : undefined;
  const options: ort.InferenceSession.SessionOptions = { logSeverityLevel: 3 };
  if (file) {
    const loaded = readOnnxModel(file, { referenceWeights: true });
    const plan = planFeeds(loaded.model, file);
    return {
      model: loaded.model, where: file, constDir: loaded.dir, tokenizer,
      options: { ...options, ...externalDataSessionOptions(loaded) },
      feedsFor: (ids) => buildFeeds(plan, ids, file),
      changed: () => changedFile(loaded.referenced) !== undefined,
    };
  }
  if (!existsSync(join(abs, 'config.json'))) {
    throw new UserError(`${path}: no .onnx model and no config.json; point --model at an ONNX export or a Hugging Face folder`);
  }
  const cfg = readHfConfig(abs);
  const src = await openCheckpoint(abs);
  try {
    const built = await buildFullModel(cfg, familyGraph(cfg, src, abs), src, abs);
    return {
      model: onnx.ModelProto.decode(built.bytes), where: abs, constDir: abs, tokenizer,
      options: { ...options, ...hfSessionOptions(abs) },
      changed: () => changedFile(built.referenced) !== undefined,
      feedsFor: (ids) => Object.fromEntries(built.hostInputs.map((n) => {
        const t = hostInput(cfg, ids, n, abs);
        return [n, new ort.Tensor(t.type, t.data, t.dims)];
      })),
    };
  } finally {
    await src.close();
  }
}
