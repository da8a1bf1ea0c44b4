/**
 * CodeLenses at the top of a model config: "Estimate attention cost" always, "Inspect attention"
 * when the runtime can open what sits beside it: an ONNX export, or Hugging Face weights
 * (safetensors, PyTorch .bin) of a model_type in the family catalog (hf/family.ts). Both pass
 * the folder path to the extension's commands.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CodeLens } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { findFamily, scalarText } from '../hf/family';
import { parseConfig } from './configDocument';

export const ESTIMATE_COMMAND = 'attentionInspector.estimateCost';
export const INSPECT_COMMAND = 'attentionInspector.inspectModel';

const CHECKPOINT = /\.(safetensors|onnx)$|^pytorch_model(-\d+-of-\d+)?\.bin$/i;

/**
 * True when the folder holds weights the runtime could open: an ONNX export whatever the
 * model_type, Hugging Face weights only for a family the runtime builds (`modelType` given).
 */
export function hasCheckpoint(folder: string, modelType?: string): boolean {
  try {
    const files = readdirSync(folder);
    const onnxDir = join(folder, 'onnx');
    if (files.some((f) => f.endsWith('.onnx')) || (existsSync(onnxDir) && readdirSync(onnxDir).some((f) => f.endsWith('.onnx')))) return true;
    return files.some((f) => CHECKPOINT.test(f)) && (modelType === undefined || findFamily(modelType) !== undefined);
  } catch {
    return false;
  }
}

export function configCodeLenses(doc: TextDocument): CodeLens[] {
  if (!doc.uri.startsWith('file:')) return [];
  const parsed = parseConfig(doc);
  if (!parsed) return [];
  const folder = dirname(fileURLToPath(doc.uri));
  const first = parsed.root.children?.[0];
  const start = doc.positionAt(first ? first.offset : parsed.root.offset);
  const range = { start, end: start };
  const lenses: CodeLens[] = [{ range, command: { title: 'Estimate attention cost', command: ESTIMATE_COMMAND, arguments: [folder] } }];
  if (hasCheckpoint(folder, scalarText(parsed.properties.get('model_type')?.children?.[1]?.value))) {
    lenses.push({ range, command: { title: 'Inspect attention', command: INSPECT_COMMAND, arguments: [folder] } });
  }
  return lenses;
}
