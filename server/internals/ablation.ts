/**
 * Head importance by ablation: one head's slice of the concatenated heads is set to zero before
 * the output projection (a Mul by a per-layer keep mask fed as a graph input), the model re-runs,
 * and the effect on the output is measured. Causal LMs: KL(p_full ‖ p_ablated) of the next-token
 * distribution at the last position, in nats. Encoders, and graphs that end in hidden states
 * rather than logits: the relative L2 change of the last hidden state (all positions).
 *
 * Every re-run goes through AblationForward.run(keep, from): `from` is the layer whose output
 * changes. Here that is served by the graph cut at the residual stream entering `from`
 * (layerCut.ts), fed from the full run, so each ablation pays only for the layers from the head's
 * on; layer 0 and graphs that cannot be cut cleanly run whole. A capture that keeps its own layer
 * boundaries can serve the same call.
 */
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import type { ExecutionProviderSetting } from '../../protocol/runtime';
import { createSession } from '../capture/executionProvider';
import { UserError } from '../../common/errors';
import { serializeModel, withExtraOutputs } from '../onnx/surgery';
import { looksCausal } from '../variants/qkvShapes';
import { f32Output, type InternalsGraph } from './internalsGraph';
import { cutAtLayer } from './layerCut';
import { klLastPosition, relativeL2 } from './outputEffect';

export interface AblationResult {
  /** The position the KL is read at: n − 1. */
  position: number;
  metric: 'kl' | 'relL2';
  /** The tensor compared (logits or the last hidden state). */
  target: string;
  /** One array per attention layer in graph order, one value per head. */
  layers: number[][];
  provider: string;
  notes: string[];
}

export interface AblationForward {
  /** The target tensor with the heads whose keep-mask entries are 0 removed; layers before `from` are unchanged. */
  run(keep: Float32Array[], from: number): Promise<Float32Array>;
  release(): Promise<void>;
}

const LAYOUT = new Set(['Identity', 'Unsqueeze', 'Squeeze', 'Reshape', 'Cast', 'Transpose']);
const keepInput = (layer: number) => `attention_inspector_keep_${layer}`;

/** The model with a keep mask [heads·dHead] multiplied in before every output projection. */
export function withHeadMasks(model: onnx.IModelProto, g: InternalsGraph): onnx.ModelProto {
  const graph = model.graph ?? {};
  const node = [...(graph.node ?? [])];
  const inputs = [...(graph.input ?? [])];
  const added: onnx.INodeProto[] = [];
  for (const s of g.sites) {
    if (!s.outProj) throw new UserError(`${g.where} layer ${s.layer}: no output projection with a constant weight after P·V, so its heads cannot be removed one by one`);
    const name = keepInput(s.layer);
    const masked = `${name}/masked`;
    inputs.push(onnx.ValueInfoProto.create({
      name,
      type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimValue: s.outProj.dims[0] }] } } },
    }));
    added.push(onnx.NodeProto.create({ opType: 'Mul', name: `${name}/Mul`, input: [s.outProj.input, name], output: [masked] }));
    const proj = node[s.outProj.node];
    node[s.outProj.node] = onnx.NodeProto.create({ ...proj, input: [masked, ...(proj.input ?? []).slice(1)] });
  }
  // Each Mul goes right before its projection so the node list stays topologically sorted.
  const order: onnx.INodeProto[] = [];
  node.forEach((n, i) => {
    const s = g.sites.find((x) => x.outProj?.node === i);
    if (s) order.push(added[s.layer]);
    order.push(n);
  });
  return onnx.ModelProto.create({ ...model, graph: onnx.GraphProto.create({ ...graph, node: order, input: inputs }) });
}

/** The first graph output that is not an attention map (or a reshaped copy of one): logits or hidden states. */
function modelOutput(g: InternalsGraph): string {
  const nodes = g.model.graph?.node ?? [];
  const maps = new Set(g.sites.map((s) => s.probs));
  for (let hop = 0; hop < 4; hop++) {
    for (const n of nodes) if (LAYOUT.has(n.opType ?? '') && maps.has(n.input?.[0] ?? '')) maps.add(n.output![0]);
  }
  const out = (g.model.graph?.output ?? []).map((o) => o.name ?? '').find((o) => !maps.has(o));
  if (!out) throw new UserError(`${g.where}: every graph output is an attention map; ablation needs the model's logits or hidden states as an output`);
  return out;
}

/** The last hidden state of a graph that ends in logits: the last residual sum, after its LayerNorm when one follows (post-norm). */
function lastHiddenState(g: InternalsGraph): string | undefined {
  const nodes = g.model.graph?.node ?? [];
  const produced = new Set(nodes.flatMap((n) => n.output ?? []));
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if (n.opType !== 'Add' || (n.input ?? []).length !== 2) continue;
    if (!(n.input ?? []).every((x) => produced.has(x) && !g.constants.isConst(x))) continue;
    const t = n.output![0];
    const ln = nodes.find((u) => u.opType === 'LayerNormalization' && u.input?.[0] === t);
    return ln ? ln.output![0] : t;
  }
  return undefined;
}

async function wholeGraphForward(g: InternalsGraph, ids: number[], ep: ExecutionProviderSetting, target: string, extra: string[]) {
  const outputs = [target, ...extra];
  const ps = await createSession(serializeModel(withExtraOutputs(withHeadMasks(g.model, g), outputs)), ep, g.options);
  const base = g.feedsFor(ids);
  const runOnce = async (keep: Float32Array[]) => {
    const feeds: Record<string, ort.Tensor> = { ...base };
    keep.forEach((k, l) => (feeds[keepInput(l)] = new ort.Tensor('float32', k, [k.length])));
    try {
      return await ps.session.run(feeds, outputs);
    } catch (e) {
      throw new UserError(`${g.where}: onnxruntime failed to run the model with a head removed: ${String(e instanceof Error ? e.message : e).split('\n')[0]}`);
    }
  };
  return { ps, runOnce };
}

/**
 * Runs from layer `from` on when the graph can be cut at the residual stream entering it (fed
 * from the full run) and the cut pays: building its session must cost less than the layers it
 * skips over the layer's heads (session build time is measured as cuts are made; the first
 * guess is three whole forwards). One cut session is held at a time: the driver goes layer by
 * layer, so each is built at most once.
 */
function segmentedForward(
  g: InternalsGraph,
  ids: number[],
  ep: ExecutionProviderSetting,
  target: string,
  whole: Awaited<ReturnType<typeof wholeGraphForward>>,
  streams: Map<number, ort.Tensor>,
  notes: string[],
  cost: { wholeMs: number; heads: number; always: boolean },
): AblationForward {
  const masked = withHeadMasks(g.model, g);
  const base = g.feedsFor(ids);
  let current: { from: number; session?: ort.InferenceSession } | undefined;
  let cuts = 0;
  let buildMs = 3 * cost.wholeMs;
  const runWhole = async (keep: Float32Array[]) => f32Output(await whole.runOnce(keep), target, 'ablation target').data.slice();
  return {
    async run(keep, from) {
      const stream = streams.get(from);
      if (from === 0 || !stream) return runWhole(keep);
      if (current?.from !== from) {
        await current?.session?.release();
        const saved = cost.heads * cost.wholeMs * (from / g.sites.length);
        const cut = cost.always || saved > buildMs ? cutAtLayer(masked, g, from, [target]) : undefined;
        // A cut session reads the weights from the model file: refuse one that changed meanwhile.
        if (cut && g.changed()) throw new UserError(`${g.where}: the model file changed on disk during the ablation; run it again`);
        const t = performance.now();
        current = { from, session: cut ? (await createSession(serializeModel(cut), ep, g.options)).session : undefined };
        if (cut) {
          cuts++;
          buildMs = performance.now() - t;
        }
      }
      if (!current.session) return runWhole(keep);
      const feeds: Record<string, ort.Tensor> = { ...base, [g.sites[from].residual!]: stream };
      keep.forEach((k, l) => (feeds[keepInput(l)] = new ort.Tensor('float32', k, [k.length])));
      try {
        return f32Output(await current.session.run(feeds, [target]), target, 'ablation target').data.slice();
      } catch (e) {
        throw new UserError(`${g.where}: onnxruntime failed to run layers ${from}+ with a head removed: ${String(e instanceof Error ? e.message : e).split('\n')[0]}`);
      }
    },
    async release() {
      await current?.session?.release();
      await whole.ps.session.release();
      if (cuts > 0) notes.push(`${cuts} of ${g.sites.length - 1} layers after the first: each ablation re-ran only the layers from the head's on, fed the residual stream of the full run`);
      else if (streams.size > 1) notes.push('every ablation re-ran the whole graph (building a session that starts at a later layer would cost more than it saves at this length)');
    },
  };
}

export interface AblationOptions {
  onLayer?: (layer: number, values: number[]) => void;
  /** Checked between heads: a cancelled ablation stops there. */
  isCancelled?: () => boolean;
  /**
   * How a run re-runs the model: 'auto' (default) starts at the head's layer where the graph can
   * be cut and a cut session pays for itself; 'from-layer' always starts there when it can;
   * 'whole' re-runs the whole graph every time.
   */
  rerun?: 'auto' | 'from-layer' | 'whole';
}

export async function ablateHeads(g: InternalsGraph, ids: number[], ep: ExecutionProviderSetting = 'auto', opts: AblationOptions = {}): Promise<AblationResult> {
  const { onLayer, isCancelled } = opts;
  const notes: string[] = [];
  const dModel = g.sites[0].outProj?.dims[1];
  const first = modelOutput(g);
  // The residual stream entering each layer, for runs that start there.
  const streamNames = g.sites.map((s) => s.residual).filter((x): x is string => x !== undefined);
  // Decide the target after one run: causality is read off layer 0's map.
  const probe = await wholeGraphForward(g, ids, ep, first, [g.sites[0].probs, ...streamNames]);
  const ones = g.sites.map((s) => new Float32Array(s.outProj!.dims[0]).fill(1));
  const out0 = await probe.runOnce(ones);
  const p0 = f32Output(out0, g.sites[0].probs, 'layer 0 map').data;
  const n = ids.length;
  // A first output of n × dModel values is a hidden state (a base model's export), not logits.
  const endsInHidden = f32Output(out0, first, 'the first graph output').data.length === n * (dModel ?? -1);
  const causal = looksCausal(p0, p0.length / (n * n), n, n);
  let target = first;
  let metric: AblationResult['metric'] = 'kl';
  let runner = probe;
  if (!causal || endsInHidden) {
    metric = 'relL2';
    if (!endsInHidden) {
      const h = lastHiddenState(g);
      if (!h) throw new UserError(`${g.where}: no residual sum found after the last layer to compare hidden states; export the model's last_hidden_state as its first output`);
      target = h;
      await probe.ps.session.release();
      runner = await wholeGraphForward(g, ids, ep, target, [g.sites[0].probs, ...streamNames]);
    }
    notes.push(causal ? `the graph ends in hidden states (${target}), not logits: relative L2 change of the last hidden state` : `encoder: relative L2 change of the last hidden state (${target}) over all positions`);
  } else {
    notes.push(`KL(p_full ‖ p_ablated) of the next-token distribution from ${target} at position ${n - 1}`);
  }
  const t0 = performance.now();
  const fullOut = await runner.runOnce(ones);
  const wholeMs = performance.now() - t0;
  const full = f32Output(fullOut, target, 'ablation target').data.slice();
  const streams = new Map<number, ort.Tensor>();
  for (const s of g.sites) {
    const t = s.residual ? fullOut[s.residual] : undefined;
    if (opts.rerun !== 'whole' && t instanceof ort.Tensor && t.type === 'float32') streams.set(s.layer, new ort.Tensor('float32', (t.data as Float32Array).slice(), t.dims));
  }
  const forward = segmentedForward(g, ids, ep, target, runner, streams, notes, { wholeMs, heads: p0.length / (n * n), always: opts.rerun === 'from-layer' });
  try {
    const layers: number[][] = [];
    for (const s of g.sites) {
      const width = s.outProj!.dims[0];
      const heads = headsOf(g, s.layer, width, p0.length / (n * n));
      const d = width / heads;
      const values: number[] = [];
      for (let h = 0; h < heads; h++) {
        if (isCancelled?.()) throw new UserError('ablation cancelled');
        const keep = [...ones];
        keep[s.layer] = new Float32Array(width).fill(1).fill(0, h * d, (h + 1) * d);
        const ablated = await forward.run(keep, s.layer);
        values.push(metric === 'kl' ? klLastPosition(full, ablated, n) : relativeL2(full, ablated));
      }
      layers.push(values);
      onLayer?.(s.layer, values);
    }
    return { position: n - 1, metric, target, layers, provider: runner.ps.provider, notes };
  } finally {
    await forward.release();
  }
}

/** Heads of a later layer: the same count as layer 0 unless its projection width says otherwise. */
function headsOf(g: InternalsGraph, layer: number, width: number, heads0: number): number {
  const w0 = g.sites[0].outProj!.dims[0];
  if (width === w0) return heads0;
  throw new UserError(`${g.where} layer ${layer}: output projection width ${width} differs from layer 0's ${w0}; per-layer head counts are not supported for ablation`);
}
