/**
 * One comparison: every requested variant run on the same Q, K, V and scored against `exact`.
 * Used by the CLI's compare command (and by the runtime when a panel asks for a comparison).
 * Variants that fail are reported with their error instead of aborting the others.
 */
import type { CompareVariantRow } from '../../protocol/mechanisms';
import type { ExecutionProviderSetting } from '../../protocol/runtime';
import { UserError, firstLine } from '../../common/errors';
import { compareToExact } from './metrics';
import { getVariant } from './registry';
import { gaussian, subSeed } from './rng';
import { runVariant, type VariantRun } from './runVariant';
import type { VariantInputs, VariantParams } from './types';

/** A row of the comparison channel, with the parameters the variant ran with (the CLI prints them). */
export interface VariantResult extends CompareVariantRow {
  params: VariantParams;
}

export interface CompareOptions {
  executionProvider?: ExecutionProviderSetting;
  /** Per-variant parameter overrides, by variant id. */
  params?: Record<string, VariantParams>;
  /** Keep maps (needed for js, massKept and .npy files). */
  maps?: boolean;
  repeats?: number;
  onMap?: (id: string, map: Float32Array, dims: number[]) => void;
  /** Checked before each variant: true stops the comparison there (the runtime's cancellation). */
  isCancelled?: () => boolean;
  /** Called after each variant's result (progress; a place to let cancellation messages in). */
  onResult?: (result: VariantResult, index: number, total: number) => void | Promise<void>;
}

export async function compareVariants(ids: string[], x: VariantInputs, opts: CompareOptions = {}): Promise<{ reference: VariantRun; results: VariantResult[]; cancelled?: boolean }> {
  const specs = ids.map(getVariant);
  const mapParam: VariantParams = opts.maps === false ? { map: 0 } : {};
  const run = (id: string) => {
    const spec = getVariant(id);
    return runVariant(spec, x, { ...mapParam, ...opts.params?.[id] }, { executionProvider: opts.executionProvider, repeats: opts.repeats });
  };
  const reference = await run('exact');
  const dims = { n: x.n, m: x.m, d: x.d, heads: x.heads };
  const results: VariantResult[] = [];
  for (const spec of specs) {
    if (opts.isCancelled?.()) return { reference, results, cancelled: true };
    const params = { ...spec.defaults, ...mapParam, ...opts.params?.[spec.id] };
    const base = { id: spec.id, paper: spec.paper, params, flops: spec.flops(x.n, x.m, x.d, x.heads, params), bytes: spec.memoryBytes(x.n, x.m, x.d, x.heads, params) };
    try {
      const r = spec.id === 'exact' ? reference : await run(spec.id);
      const comparable = r.output.length === reference.output.length;
      const m = comparable ? compareToExact(spec, params, dims, r, reference) : undefined;
      const mapShaped = !!r.map && r.map.length === x.heads * x.n * x.m;
      if (r.map && opts.onMap) opts.onMap(spec.id, r.map, r.mapDims ?? [x.heads, x.n, x.m]);
      results.push({
        ...base,
        relL2: m?.relL2 ?? null,
        cosine: m?.cosine ?? null,
        js: mapShaped ? (m?.js ?? null) : null,
        massKept: mapShaped ? (m?.massKept ?? null) : null,
        latencyMs: r.latencyMs,
        peakBytes: r.peakBytes,
        mapMeaning: r.mapMeaning,
        notes: [...r.notes, ...(comparable ? [] : [`output [${r.outputDims}] is not per token: no relL2/cosine against exact`])],
      });
    } catch (e) {
      if (e instanceof UserError && specs.length === 1) throw e;
      results.push({ ...base, relL2: null, cosine: null, js: null, massKept: null, latencyMs: 0, peakBytes: 0, notes: [], error: firstLine(e) });
    }
    await opts.onResult?.(results[results.length - 1], results.length - 1, specs.length);
  }
  return { reference, results };
}

/** Q/K/V at another length from the text's rows: tiled (repeat) or seeded Gaussians of the same std (random). */
export function extendInputs(x: VariantInputs, n: number, mode: 'repeat' | 'random'): VariantInputs {
  const { heads, d } = x;
  const grow = (t: Float32Array, rows: number, salt: number) => {
    const out = new Float32Array(heads * n * d);
    if (mode === 'random') {
      let ss = 0;
      for (const v of t) ss += v * v;
      return gaussian(out.length, subSeed(x.seed, salt), Math.sqrt(ss / t.length));
    }
    for (let h = 0; h < heads; h++) for (let i = 0; i < n; i++) out.set(t.subarray((h * rows + (i % rows)) * d, (h * rows + (i % rows) + 1) * d), (h * n + i) * d);
    return out;
  };
  // Hidden states follow the same rule as Q/K/V: their rows tiled, or Gaussians of their std.
  const hidden = x.hidden && x.dModel ? extendRows(x.hidden, x.dModel, n, mode, subSeed(x.seed, 74)) : undefined;
  return { ...x, n, m: n, q: grow(x.q, x.n, 71), k: grow(x.k, x.m, 72), v: grow(x.v, x.m, 73), hidden, dModel: hidden ? x.dModel : undefined };
}

/** [rows, width] -> [n, width]: rows repeated in order, or seeded Gaussians with the data's RMS. */
function extendRows(t: Float32Array, width: number, n: number, mode: 'repeat' | 'random', seed: number): Float32Array {
  const rows = t.length / width;
  if (mode === 'random') {
    let ss = 0;
    for (const v of t) ss += v * v;
    return gaussian(n * width, seed, Math.sqrt(ss / t.length));
  }
  const out = new Float32Array(n * width);
  for (let i = 0; i < n; i++) out.set(t.subarray((i % rows) * width, (i % rows + 1) * width), i * width);
  return out;
}

/** One head of [heads, rows, cols] data. */
export function pickHead(t: Float32Array, heads: number, head: number): Float32Array {
  const per = t.length / heads;
  return t.slice(head * per, (head + 1) * per);
}
