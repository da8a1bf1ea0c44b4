/**
 * Q, K, V capture for ONNX graphs (exports, and Hugging Face checkpoints rebuilt as ONNX): from
 * a layer's attention Softmax (attentionFinder) walk back to the MatMul(Q, Kᵀ) that made its
 * scores and forward to the MatMul(P, V) that consumes it, expose those inputs as graph outputs
 * and run the model once. Queries are rescaled so that softmax(q·k/√d) reproduces the model's
 * own scores (the factor is measured from its probabilities and reported). The hidden states
 * entering the layer (the query projection's input, hiddenLocate.ts) come along when the graph
 * has them, for Mega, MoA, SwitchHead and Lin et al.; without them those variants fall back.
 */
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import type { ExecutionProviderSetting } from '../../protocol/runtime';
import { resolveIds } from '../capture/captureInput';
import { createSession } from '../capture/executionProvider';
import type { CaptureInput } from '../capture/types';
import { openWholeGraph } from '../capture/wholeGraph';
import { findAttention } from '../onnx/attentionFinder';
import { serializeModel, withExtraOutputs } from '../onnx/surgery';
import { locateHidden } from './hiddenLocate';
import { looksCausal, normaliseQkv, scoreScale } from './qkvShapes';
import type { VariantInputs } from './types';
import { UserError } from '../../common/errors';

export interface CapturedLayer {
  inputs: Omit<VariantInputs, 'seed'>;
  /** The model's own probabilities [heads, n, m]. */
  probs: Float32Array;
  /** Factor s of the model's scores s·q·k; queries were multiplied by s·√d. */
  scale: number;
  notes: string[];
}

export interface QkvSource {
  layers: number;
  resolve(input: CaptureInput, maxTokens?: number, isCancelled?: () => boolean, onWarning?: (line: string) => void): Promise<{ ids: number[]; tokens: string[] }>;
  capture(ids: number[]): Promise<CapturedLayer>;
  provider: string;
  dispose(): Promise<void>;
}

const FORWARD = new Set(['Cast', 'Identity', 'Dropout', 'Where', 'Mul', 'Reshape', 'Squeeze', 'Unsqueeze']);

/** Names of Q, Kᵀ, V and P for one attention site. */
export function locate(model: onnx.IModelProto, layer: number, file: string): { names: string[]; count: number } {
  const sites = findAttention(model, file);
  if (sites.length === 0) throw new UserError(`${file}: no attention Softmax found in the graph; export the model with eager attention`);
  if (layer < 0 || layer >= sites.length) throw new UserError(`${file}: --layer ${layer} is out of range (the model has ${sites.length} attention layers, 0-${sites.length - 1})`);
  const site = sites[layer];
  const nodes = model.graph?.node ?? [];
  const name = (n: onnx.INodeProto, i: number) => (n.name ? n.name : `${n.opType}_${i}`);
  const scoresNode = nodes.find((n, i) => name(n, i) === site.scoresNode);
  if (!scoresNode || scoresNode.opType !== 'MatMul') {
    throw new UserError(`${file}: layer ${layer} computes its scores with ${scoresNode?.opType ?? 'an unknown op'}; Q/K capture needs MatMul(Q, Kᵀ)`);
  }
  let t = site.output;
  for (let hop = 0; hop < 6; hop++) {
    const users = nodes.filter((n) => (n.input ?? []).includes(t));
    const pv = users.find((n) => n.opType === 'MatMul' && n.input?.[0] === t);
    if (pv) return { names: [scoresNode.input![0], scoresNode.input![1], pv.input![1], site.output], count: sites.length };
    const next = users.find((n) => FORWARD.has(n.opType ?? ''));
    if (!next) break;
    t = next.output![0];
  }
  throw new UserError(`${file}: layer ${layer}: no MatMul(P, V) after the Softmax; the export fuses or reorders the value product`);
}

function float32(t: ort.Tensor, what: string): { data: Float32Array; dims: number[] } {
  if (t.type !== 'float32') throw new UserError(`${what} is ${t.type}; variants run on float32 models (export in float32)`);
  return { data: t.data as Float32Array, dims: t.dims.map(Number) };
}

/** The projection's input as [n, dModel] rows, or why it cannot stand for the layer's hidden states. */
function hiddenOf(t: ort.OnnxValue | undefined, n: number): { hidden?: Float32Array; dModel?: number; why?: string } {
  if (!(t instanceof ort.Tensor)) return { why: 'the query projection input was not returned' };
  if (t.type !== 'float32') return { why: `the query projection input is ${t.type}, not float32` };
  const dims = t.dims.map(Number);
  const dModel = dims[dims.length - 1];
  if (!dModel || t.data.length !== n * dModel) return { why: `the query projection input is [${dims}], not [${n}, dModel]` };
  return { hidden: Float32Array.from(t.data as Float32Array), dModel };
}

/** Opens a model for Q/K/V capture of one layer: an .onnx file/folder or a Hugging Face folder. */
export async function openQkvSource(path: string, layer: number, ep: ExecutionProviderSetting = 'auto'): Promise<QkvSource> {
  const { model, where, options, feedsFor, tokenizer } = await openWholeGraph(path);
  const { names, count } = locate(model, layer, where);
  // The hidden states ride along as one more output when the walk back from Q finds them.
  const hiddenSite = locateHidden(model, names[0]);
  const fetch = hiddenSite ? [...names, hiddenSite.name] : names;
  const ps = await createSession(serializeModel(withExtraOutputs(model, fetch)), ep, options);
  return {
    layers: count,
    provider: ps.provider,
    resolve: (input, maxTokens, isCancelled, onWarning) => resolveIds(input, tokenizer, where, { maxTokens, isCancelled, onWarning }),
    async capture(ids) {
      let out: ort.InferenceSession.OnnxValueMapType;
      try {
        out = await ps.session.run(feedsFor(ids), fetch);
      } catch (e) {
        throw new UserError(`${where}: onnxruntime failed to run the model for Q/K/V capture: ${String(e instanceof Error ? e.message : e).split('\n')[0]}`);
      }
      const [q, kt, v, p] = names.map((n, i) => float32(out[n] as ort.Tensor, `${['queries', 'keys', 'values', 'probabilities'][i]} of layer ${layer}`));
      const x = normaliseQkv(q, kt, v, `${where} layer ${layer}`);
      if (p.data.length !== x.heads * x.n * x.m) throw new UserError(`${where} layer ${layer}: map [${p.dims}] does not match ${x.heads} heads × ${x.n} × ${x.m}`);
      const scale = scoreScale(x, p.data);
      const factor = scale * Math.sqrt(x.d);
      for (let i = 0; i < x.q.length; i++) x.q[i] *= factor;
      const causal = looksCausal(p.data, x.heads, x.n, x.m);
      const h = hiddenOf(hiddenSite && out[hiddenSite.name], x.n);
      return {
        inputs: { ...x, causal, ...(h.hidden ? { hidden: h.hidden, dModel: h.dModel } : {}) },
        probs: p.data,
        scale,
        notes: [
          `Q/K/V taken from the inputs of ${names[0]}·${names[1]} and P·${names[2]}`,
          `model score factor ${scale.toPrecision(5)} (1/√d = ${(1 / Math.sqrt(x.d)).toPrecision(5)}); queries multiplied by ${factor.toPrecision(5)}`,
          causal ? 'causal (no mass above the diagonal)' : 'bidirectional',
          h.hidden && hiddenSite
            ? `hidden states [${x.n}, ${h.dModel}] taken from ${hiddenSite.name}, the input of the query projection ${hiddenSite.projection}`
            : `no hidden states: ${hiddenSite ? h.why : 'no projection with a constant weight found behind the queries'}; variants that read token states use the concatenated queries`,
        ],
      };
    },
    dispose: () => {
      tokenizer?.dispose();
      return ps.session.release();
    },
  };
}
