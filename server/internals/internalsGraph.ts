/**
 * One model as an ONNX graph for the head internals (queries and keys, value-weighted norms,
 * ablation): an .onnx export read in place, or a Hugging Face folder built as one graph with its
 * weights as initializers. Feeds and tokenizer come with it, so every internals command runs the
 * same graph the capture runs.
 */
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { resolveIds } from '../capture/captureInput';
import type { CaptureInput } from '../capture/types';
import { openWholeGraph } from '../capture/wholeGraph';
import { GraphConstants } from './constants';
import { headSites, type HeadSite } from './headSites';
import { UserError } from '../../common/errors';

export interface InternalsGraph {
  model: onnx.IModelProto;
  /** The file or folder, for messages. */
  where: string;
  constants: GraphConstants;
  sites: HeadSite[];
  options: ort.InferenceSession.SessionOptions;
  feedsFor(ids: number[]): Record<string, ort.Tensor>;
  resolve(input: CaptureInput, maxTokens?: number): Promise<{ ids: number[]; tokens: string[] }>;
  /** Whether the model file changed since it was read (WholeGraph.changed): read it again then. */
  changed(): boolean;
}

export async function openInternalsGraph(path: string): Promise<InternalsGraph> {
  const { model, where, constDir, options, feedsFor, tokenizer, changed } = await openWholeGraph(path);
  const constants = new GraphConstants(model, constDir);
  return {
    model,
    where,
    constants,
    sites: headSites(model, constants, where),
    options,
    feedsFor,
    resolve: (input, maxTokens) => resolveIds(input, tokenizer, where, { maxTokens }),
    changed,
  };
}

/** A float32 output of a run, or a one-line error naming what was expected. */
export function f32Output(out: ort.InferenceSession.OnnxValueMapType, name: string, what: string): { data: Float32Array; dims: number[] } {
  const t = out[name];
  if (!(t instanceof ort.Tensor)) throw new UserError(`${what} (${name}) was not returned by onnxruntime`);
  if (t.type !== 'float32') throw new UserError(`${what} (${name}) is ${t.type}; internals read float32 models (export in float32)`);
  return { data: t.data as Float32Array, dims: t.dims.map(Number) };
}
