/**
 * Inside the heads of attention layers for one input: queries and keys exactly as they enter
 * the score (after RoPE and any pre-scaling, grouped-query keys repeated per query head), the
 * factor `scale` such that softmax(q·kᵀ·scale + mask) is the model's map, the per-key norms of
 * the transformed values (value-weighted attention) and the mixing ratio with the residual.
 * One onnxruntime run returns every requested layer's tensors.
 */
import type * as ort from 'onnxruntime-node';
import type { ExecutionProviderSetting } from '../../protocol/runtime';
import { createSession } from '../capture/executionProvider';
import { UserError } from '../../common/errors';
import { serializeModel, withExtraOutputs } from '../onnx/surgery';
import { looksCausal, normaliseQkv, scoreScale } from '../variants/qkvShapes';
import { f32Output, type InternalsGraph } from './internalsGraph';
import { mixingRatios, transformedValueNorms } from './valueNorms';

export interface LayerInternals {
  layer: number;
  heads: number;
  n: number;
  dHead: number;
  /** [heads, n, dHead] as they enter Q·Kᵀ. */
  q: Float32Array;
  /** [heads, n, dHead], grouped-query keys repeated per query head. */
  k: Float32Array;
  /** The model's map [heads, n, n]. */
  probs: Float32Array;
  scale: number;
  /** How scale was found: read from the graph's constants, or measured from the map. */
  scaleFrom: 'graph' | 'measured';
  causal: boolean;
  /** Sliding-window attention (Mistral): a query sees only the last `window` keys. */
  window?: number;
  /** ‖f_h(x_k)‖ [heads, n]; absent when the output projection was not found. */
  valueNorms?: Float32Array;
  /** Per query token [n]; absent without a residual. */
  mixing?: Float32Array;
  notes: string[];
}

export interface InternalsRun {
  provider: string;
  layers: LayerInternals[];
}

/** A session that returns the given layers' internals for any ids (one run each). */
export interface InternalsSession {
  provider: string;
  run(ids: number[]): Promise<LayerInternals[]>;
  release(): Promise<void>;
}

export interface InternalsOptions {
  /** Value norms and mixing ratios (default true); a corpus for the query–key view needs neither. */
  norms?: boolean;
}

/** Refuses a layer the graph does not have, with the range it does have. */
export function checkLayers(g: InternalsGraph, layers: number[]): void {
  for (const l of layers) {
    if (!Number.isInteger(l) || l < 0 || l >= g.sites.length) {
      throw new UserError(`${g.where}: layer ${l} is out of range (the model has ${g.sites.length} attention layers, 0-${g.sites.length - 1})`);
    }
  }
}

export async function openInternalsSession(g: InternalsGraph, layers: number[], ep: ExecutionProviderSetting = 'auto', opts: InternalsOptions = {}): Promise<InternalsSession> {
  checkLayers(g, layers);
  const fetch = new Set<string>();
  for (const l of layers) {
    const s = g.sites[l];
    [s.q, s.kt, s.v, s.probs].forEach((t) => fetch.add(t));
    if (s.residual) fetch.add(s.residual);
  }
  const names = [...fetch];
  const ps = await createSession(serializeModel(withExtraOutputs(g.model, names)), ep, g.options);
  return {
    provider: ps.provider,
    async run(ids) {
      let out: ort.InferenceSession.OnnxValueMapType;
      try {
        out = await ps.session.run(g.feedsFor(ids), names);
      } catch (e) {
        throw new UserError(`${g.where}: onnxruntime failed to run the model: ${String(e instanceof Error ? e.message : e).split('\n')[0]}`);
      }
      return layers.map((l) => layerFrom(g, out, l, opts.norms !== false));
    },
    release: () => ps.session.release(),
  };
}

export async function headInternals(g: InternalsGraph, ids: number[], layers: number[], ep: ExecutionProviderSetting = 'auto'): Promise<InternalsRun> {
  const s = await openInternalsSession(g, layers, ep);
  try {
    return { provider: s.provider, layers: await s.run(ids) };
  } finally {
    await s.release();
  }
}

/** The widest band of keys any causal row gives weight to: a sliding window when narrower than the text. */
export function visibleWindow(p: Float32Array, heads: number, n: number): number {
  let w = 1;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < n; i++) {
      let j = 0;
      while (j < i && p[(h * n + i) * n + j] === 0) j++;
      w = Math.max(w, i - j + 1);
    }
  }
  // A real window leaves its oldest key visible in every full row; weights that merely
  // underflowed to 0 (very peaked heads) do not line up like that.
  for (let h = 0; h < heads && w < n; h++) for (let i = w - 1; i < n; i++) if (p[(h * n + i) * n + i - w + 1] === 0) return n;
  return w;
}

function layerFrom(g: InternalsGraph, out: ort.InferenceSession.OnnxValueMapType, layer: number, norms: boolean): LayerInternals {
  const s = g.sites[layer];
  const what = `${g.where} layer ${layer}`;
  const x = normaliseQkv(f32Output(out, s.q, `${what} queries`), f32Output(out, s.kt, `${what} keys`), f32Output(out, s.v, `${what} values`), what);
  const probs = f32Output(out, s.probs, `${what} probabilities`).data;
  if (probs.length !== x.heads * x.n * x.m || x.n !== x.m) throw new UserError(`${what}: map of ${probs.length} values is not ${x.heads} heads × ${x.n} × ${x.n}; internals cover self-attention`);
  const notes = [...s.notes];
  const measured = scoreScale(x, probs);
  // The graph's constants give the exact factor; the fit only stands in when there is none.
  const fromGraph = s.scale !== undefined && Math.abs(s.scale - measured) <= 1e-2 * Math.abs(s.scale);
  if (s.scale !== undefined && !fromGraph) notes.push(`score factor ${s.scale} read from the graph disagrees with ${measured.toPrecision(5)} measured from the map; the measured one is used`);
  const res: LayerInternals = {
    layer, heads: x.heads, n: x.n, dHead: x.d, q: x.q, k: x.k, probs,
    scale: fromGraph ? s.scale! : measured, scaleFrom: fromGraph ? 'graph' : 'measured',
    causal: looksCausal(probs, x.heads, x.n, x.m), notes,
  };
  if (res.causal) {
    const w = visibleWindow(probs, x.heads, x.n);
    if (w < x.n) {
      res.window = w;
      notes.push(`sliding window: each query sees its last ${w} keys (the mask is causal and j > i - ${w})`);
    }
  }
  const proj = s.outProj;
  if (!norms) return res;
  if (proj && proj.dims[0] === x.heads * x.d) {
    const wo = proj.weight();
    const dModel = wo.dims[1];
    const tensors = { heads: x.heads, n: x.n, m: x.m, d: x.d, v: x.v, probs };
    res.valueNorms = transformedValueNorms(tensors, wo.data, dModel);
    const r = s.residual ? f32Output(out, s.residual, `${what} residual stream`).data : undefined;
    if (r && r.length === x.n * dModel) res.mixing = mixingRatios(tensors, wo.data, dModel, r);
    else if (r) notes.push(`residual stream of ${r.length} values is not ${x.n} × ${dModel}; no mixing ratio`);
  } else if (proj) {
    notes.push(`output projection reads ${proj.dims[0]} features, not heads × dHead = ${x.heads * x.d}; no value-weighted norms`);
  }
  return res;
}
