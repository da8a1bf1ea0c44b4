/**
 * The one entry point that turns a path into an OpenedModel: an .onnx file, a folder holding
 * model.onnx (and usually tokenizer.json), or a Hugging Face folder (config.json plus
 * *.safetensors). Pickle checkpoints are refused with the way to convert them.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { ExecutionProviderSetting } from '../../protocol/runtime';
import { openHuggingFaceModel } from '../hf/hfModel';
import { PICKLE_EXTENSIONS, pickleAdvice } from '../onnx/modelFile';
import { modelDisplayName } from '../discovery/modelName';
import { hasTokenizer } from '../tokenizer';
import { openOnnxModel } from './onnxModel';
import type { OpenedModel } from './types';
import { UserError } from '../../common/errors';

export interface OpenModelOptions {
  executionProvider?: ExecutionProviderSetting;
  log?: (line: string) => void;
}

/** model.onnx, or the optimum layout onnx/model.onnx, or the folder's only .onnx file. */
function onnxInFolder(dir: string, entries: string[]): string | undefined {
  for (const candidate of ['model.onnx', join('onnx', 'model.onnx')]) {
    if (existsSync(join(dir, candidate))) return join(dir, candidate);
  }
  const onnxFiles = entries.filter((e) => e.toLowerCase().endsWith('.onnx'));
  if (onnxFiles.length === 1) return join(dir, onnxFiles[0]);
  if (onnxFiles.length > 1) {
    throw new UserError(`${dir}: holds several .onnx files (${onnxFiles.slice(0, 4).join(', ')}); pass the one to inspect`);
  }
  return undefined;
}

export async function openModel(path: string, options: OpenModelOptions = {}): Promise<OpenedModel> {
  const model = await openAny(path, options);
  model.info.name = modelDisplayName(path);
  return model;
}

async function openAny(path: string, options: OpenModelOptions): Promise<OpenedModel> {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new UserError(`${path}: no such file or folder; check the model path`);
  if (!statSync(abs).isDirectory()) {
    const ext = extname(abs).toLowerCase();
    if (PICKLE_EXTENSIONS.has(ext)) throw new UserError(pickleAdvice(path));
    if (ext === '.safetensors' || basename(abs) === 'config.json') {
      throw new UserError(`${path}: open the folder holding config.json and the *.safetensors files, not one file`);
    }
    const dir = dirname(abs);
    return openOnnxModel(abs, { ...options, tokenizerDir: hasTokenizer(dir) ? dir : undefined });
  }
  const entries = readdirSync(abs);
  const onnxFile = onnxInFolder(abs, entries);
  if (onnxFile) {
    return openOnnxModel(onnxFile, { ...options, tokenizerDir: hasTokenizer(abs) ? abs : undefined, name: basename(abs) });
  }
  const safetensors = entries.some((e) => e.endsWith('.safetensors'));
  if (entries.includes('config.json') && safetensors) return openHuggingFaceModel(abs, options);
  const pickles = entries.filter((e) => PICKLE_EXTENSIONS.has(extname(e).toLowerCase()));
  if (pickles.length > 0) throw new UserError(pickleAdvice(join(path, pickles[0])));
  if (safetensors) throw new UserError(`${path}: has *.safetensors but no config.json; keep the config.json that came with the checkpoint`);
  throw new UserError(`${path}: no model.onnx, and no config.json with *.safetensors; point at an ONNX export or a Hugging Face checkpoint folder`);
}
