/**
 * CodeLenses at the top of a model config: "Estimate attention cost" always, "Inspect attention"
 * when a checkpoint (safetensors, PyTorch .bin or ONNX) sits beside it. Both pass the folder
 * path to the extension's commands.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CodeLens } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { parseConfig } from './configDocument';

export const ESTIMATE_COMMAND = 'attentionInspector.estimateCost';
export const INSPECT_COMMAND = 'attentionInspector.inspectModel';

const CHECKPOINT = /\.(safetensors|onnx)$|^pytorch_model(-\d+-of-\d+)?\.bin$/i;

/** True when the folder holds weights the runtime could open. */
export function hasCheckpoint(folder: string): boolean {
  try {
    if (readdirSync(folder).some((f) => CHECKPOINT.test(f))) return true;
    const onnxDir = join(folder, 'onnx');
    return existsSync(onnxDir) && readdirSync(onnxDir).some((f) => f.endsWith('.onnx'));
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
  if (hasCheckpoint(folder)) {
    lenses.push({ range, command: { title: 'Inspect attention', command: INSPECT_COMMAND, arguments: [folder] } });
  }
  return lenses;
}
