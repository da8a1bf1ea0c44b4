/**
 * Reading a user's .onnx file into an onnx.ModelProto, with one-line errors for the usual
 * mistakes (wrong path, a PyTorch pickle, a file that is not ONNX). Models whose weights live
 * in external files stay where they are: we never copy or write into the user's folder; the
 * session is told which folder to resolve the external locations against instead (see
 * externalDataSessionOptions), because onnxruntime refuses absolute or escaping locations.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { requireRegularFile } from '../regularFile';
import { basename, dirname, extname, isAbsolute, join, normalize, resolve } from 'node:path';
import { onnx } from 'onnx-proto';
import { UserError } from '../../common/errors';
import { tensorsOf } from './tensorWalk';
import { type ReferencedFiles, fileStamp, referenceInlineWeights } from './weightReferences';

export const PICKLE_EXTENSIONS = new Set(['.bin', '.pt', '.pth', '.ckpt', '.pkl']);

export function pickleAdvice(file: string): string {
  return (
    `${file}: PyTorch pickle checkpoints are not loaded (unpickling runs arbitrary code); ` +
    'save the model as safetensors (model.save_pretrained(dir, safe_serialization=True)) or export it to ONNX'
  );
}

export interface OnnxModelFile {
  /** Absolute path of the .onnx file. */
  path: string;
  /** Folder external data locations are relative to. */
  dir: string;
  model: onnx.ModelProto;
  /** Distinct external data files (relative locations as written in the model). */
  externalFiles: string[];
  /**
   * The model file itself, with its size and time when read, when large float weights were left
   * in it (readOnnxModel's `referenceWeights`): sessions made later check it (requireUnchanged).
   */
  referenced: ReferencedFiles;
}

export interface ReadOptions {
  /**
   * Leave large float weights in the file as external-data references to it instead of
   * holding them in memory (server/onnx/weightReferences.ts).
   */
  referenceWeights?: boolean;
}

function externalLocation(t: onnx.ITensorProto): string | undefined {
  if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) return undefined;
  return (t.externalData ?? []).find((e) => e.key === 'location')?.value ?? undefined;
}

export function readOnnxModel(file: string, options: ReadOptions = {}): OnnxModelFile {
  const path = resolve(file);
  if (!existsSync(path)) throw new UserError(`${file}: no such file; check the --model path`);
  if (statSync(path).isDirectory()) throw new UserError(`${file}: is a folder; expected an .onnx file`);
  if (PICKLE_EXTENSIONS.has(extname(path).toLowerCase())) throw new UserError(pickleAdvice(file));
  requireRegularFile(path, 'an ONNX model', 'point --model at the exported .onnx file itself');
  const stamp = options.referenceWeights ? fileStamp(path) : undefined;
  const bytes = readFileSync(path);
  // Pickles saved under another extension: protocol 2+ starts with 0x80, torch zips with PK.
  if (bytes.length > 2 && ((bytes[0] === 0x80 && bytes[1] <= 5) || (bytes[0] === 0x50 && bytes[1] === 0x4b))) {
    throw new UserError(pickleAdvice(file));
  }
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch {
    throw new UserError(`${file}: not an ONNX model (the file does not decode as onnx.ModelProto); export one with torch.onnx.export or optimum-cli`);
  }
  if (!model.graph || (model.graph.node ?? []).length === 0 || !model.irVersion) {
    throw new UserError(`${file}: not an ONNX model (no graph inside); export one with torch.onnx.export or optimum-cli`);
  }
  const dir = dirname(path);
  const externalFiles = new Set<string>();
  const referenced: ReferencedFiles = stamp && referenceInlineWeights(model, bytes, basename(path)) > 0 ? [[path, stamp]] : [];
  if (referenced.length > 0) externalFiles.add(basename(path));
  for (const [t] of tensorsOf(model.graph)) {
    const loc = externalLocation(t);
    if (loc === undefined) continue;
    if (isAbsolute(loc) || normalize(loc).startsWith('..')) {
      throw new UserError(`${file}: external data location "${loc}" of tensor ${t.name} is outside the model folder; onnxruntime only loads locations relative to the model`);
    }
    if (!existsSync(join(dir, loc))) {
      throw new UserError(`${file}: external data file ${loc} (tensor ${t.name}) is missing; keep it beside ${basename(path)}`);
    }
    requireRegularFile(join(dir, loc), `external data of ${basename(path)}`, 'keep the real data file beside the model');
    externalFiles.add(loc);
  }
  return { path, dir, model, externalFiles: [...externalFiles], referenced };
}

/**
 * Session options that let onnxruntime find external data when the (modified) model is passed
 * as bytes: the locations stay relative and resolve against the original model folder.
 */
export function externalDataSessionOptions(file: OnnxModelFile): { extra?: Record<string, unknown> } {
  if (file.externalFiles.length === 0) return {};
  return { extra: { session: { model_external_initializers_file_folder_path: file.dir } } };
}
