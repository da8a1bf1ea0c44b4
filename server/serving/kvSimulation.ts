/**
 * One eviction policy at one budget, simulated on the model: kept sets from the full-cache maps
 * (evictionPolicies.ts), then
 * - mass kept per head and layer (mean over all rows, rows q < B count as 1);
 * - relative L2 error of each layer's attention output, the layer's own full-cache probabilities
 *   and values with the dropped keys removed and the rest renormalised, against the full cache;
 * - the model run with every query restricted to its kept keys (masks before each Softmax):
 *   mean over q ≥ B of KL(p_full(·|≤q) ‖ p_policy(·|≤q)) and top-1 agreement;
 * - KV-cache bytes saved (kvBytes.ts).
 */
import { UserError } from '../../common/errors';
import { keepMask, massKept, type KeepMask, type PolicyOptions } from './evictionPolicies';
import { kvBytesSaved, servingShape } from './kvBytes';
import type { MaskedModel, MaskedRun } from './maskedModel';

export interface KvReport {
  policy: string;
  budget: number;
  sinks: number | null;
  layers: { massKept: number[] }[];
  nextTokenKL: number | null;
  top1Agreement: number | null;
  /** null when the model's head size is unknown (no config.json and no values found in the graph). */
  kvBytesSaved: number | null;
}

export interface KvDetails {
  /** Per layer: relative L2 error of the attention output (null where the values were not found). */
  outputRelativeL2: (number | null)[];
  /** KL at each position q ≥ B (index q − B). */
  klByPosition: number[];
  kept: KeepMask[];
  tokens: number;
  /** Why a figure is missing (no logits output), when one is. */
  notes: string[];
}

/** Log-softmax of one logits row, in float64. */
function logSoftmax(row: Float32Array): Float64Array {
  let mx = -Infinity;
  for (const v of row) mx = Math.max(mx, v);
  let z = 0;
  for (const v of row) z += Math.exp(v - mx);
  const lz = mx + Math.log(z);
  return Float64Array.from(row, (v) => v - lz);
}

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/** Mean KL(p ‖ p') over rows q ≥ from, and the share of those rows with the same argmax. */
export function nextTokenDivergence(full: Float32Array, policy: Float32Array, n: number, vocab: number, from: number): { kl: number[]; top1: number[] } {
  const kl: number[] = [];
  const top1: number[] = [];
  for (let q = from; q < n; q++) {
    const a = full.subarray(q * vocab, (q + 1) * vocab);
    const b = policy.subarray(q * vocab, (q + 1) * vocab);
    const la = logSoftmax(a);
    const lb = logSoftmax(b);
    let s = 0;
    for (let i = 0; i < vocab; i++) s += Math.exp(la[i]) * (la[i] - lb[i]);
    kl.push(Math.max(0, s));
    top1.push(argmax(a) === argmax(b) ? 1 : 0);
  }
  return { kl, top1 };
}

/** ‖O_policy − O_full‖ / ‖O_full‖ over one layer, O = P V with P renormalised over kept keys. */
export function outputRelativeL2(probs: Float32Array, values: Float32Array, headDim: number, mask: KeepMask): number {
  const { heads, n, keep } = mask;
  let num = 0;
  let den = 0;
  const full = new Float64Array(headDim);
  const pol = new Float64Array(headDim);
  for (let h = 0; h < heads; h++) {
    for (let q = 0; q < n; q++) {
      const r = (h * n + q) * n;
      full.fill(0);
      pol.fill(0);
      let z = 0;
      for (let k = 0; k < n; k++) {
        const p = probs[r + k];
        if (p === 0) continue;
        const v = (h * n + k) * headDim;
        for (let c = 0; c < headDim; c++) full[c] += p * values[v + c];
        if (keep[r + k]) {
          z += p;
          for (let c = 0; c < headDim; c++) pol[c] += p * values[v + c];
        }
      }
      for (let c = 0; c < headDim; c++) {
        const o = z > 0 ? pol[c] / z : 0;
        num += (o - full[c]) ** 2;
        den += full[c] ** 2;
      }
    }
  }
  return den > 0 ? Math.sqrt(num / den) : 0;
}

/** Refuses maps with weight above the diagonal: eviction is about causal decoders' caches. */
export function assertCausal(probs: Float32Array[], n: number, path: string): void {
  for (const p of probs) {
    const heads = p.length / (n * n);
    for (let h = 0; h < heads; h++) {
      for (let q = 0; q < n; q++) {
        for (let k = q + 1; k < n; k++) {
          if (p[(h * n + q) * n + k] > 1e-6) throw new UserError(`${path}: attention looks at later tokens (not causal); KV-cache eviction is simulated on causal decoders`);
        }
      }
    }
  }
}

/**
 * Map cells (layers x heads x n²) a simulation may hold: the full-cache maps, the masks, the
 * kept flags and the masked run's maps come to about 13 bytes a cell (~3.5 GB here).
 */
export const MAX_SIMULATION_CELLS = 2 ** 28;

/** Refuses, before any run, a text whose maps would not fit the simulation's bound. */
export function checkSimulationSize(heads: number[], n: number, path: string, limit = MAX_SIMULATION_CELLS): void {
  const perToken2 = heads.reduce((a, b) => a + b, 0);
  const cells = perToken2 * n * n;
  if (cells > limit) {
    const most = Math.floor(Math.sqrt(limit / Math.max(1, perToken2)));
    throw new UserError(`${path}: ${n} tokens make ${cells.toExponential(2)} attention cells over ${heads.length} layers, above the simulation's ${limit.toExponential(2)}; use at most ${most} tokens`);
  }
}

export function validatePolicy(o: PolicyOptions): void {
  if (!Number.isInteger(o.budget) || o.budget < 1) throw new UserError(`--budget must be a whole number of tokens ≥ 1 (got ${o.budget})`);
  if (o.sinks !== undefined) {
    if (o.policy !== 'streaming') throw new UserError(`--sinks applies to --policy streaming only (got --policy ${o.policy})`);
    if (!Number.isInteger(o.sinks) || o.sinks < 0) throw new UserError(`--sinks must be a whole number ≥ 0 (got ${o.sinks})`);
    if (o.sinks >= o.budget) throw new UserError(`--sinks (${o.sinks}) must be below --budget (${o.budget}): the recent window needs at least the current token`);
  }
}

/** Runs one policy; `full` is the model's full-cache run on the same ids (reused across a sweep). */
export async function simulateKv(model: MaskedModel, ids: number[], full: MaskedRun, o: PolicyOptions): Promise<{ report: KvReport; details: KvDetails }> {
  validatePolicy(o);
  const n = ids.length;
  const sinks = o.policy === 'streaming' ? (o.sinks ?? Math.min(4, o.budget - 1)) : undefined;
  const opts = { ...o, sinks };
  const kept = full.probs.map((p) => keepMask(p, p.length / (n * n), n, opts));
  const layers = kept.map((m, i) => ({ massKept: massKept(full.probs[i], m) }));
  const outputRelL2 = kept.map((m, i) => {
    const v = full.values[i];
    return v ? outputRelativeL2(full.probs[i], v.data, v.headDim, m) : null;
  });
  let kl: number[] = [];
  let top1: number[] = [];
  // A base model (no language-model head) has no next-token distribution: KL stays null.
  if (n > o.budget && full.logits) {
    const masked = await model.run(ids, kept);
    ({ kl, top1 } = nextTokenDivergence(full.logits, masked.logits!, n, full.vocab, o.budget));
  }
  const mean = (xs: number[]) => (xs.length > 0 ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  const heads = kept[0]?.heads ?? 0;
  const headDim = full.values.find((v) => v)?.headDim ?? 0;
  const shape = servingShape(model.folder, kept.length, heads, headDim);
  return {
    report: {
      policy: o.policy,
      budget: o.budget,
      sinks: sinks ?? null,
      layers,
      nextTokenKL: mean(kl),
      top1Agreement: mean(top1),
      kvBytesSaved: shape ? kvBytesSaved(shape, n, o.budget) : null,
    },
    details: {
      outputRelativeL2: outputRelL2,
      klByPosition: kl,
      kept,
      tokens: n,
      notes: [
        ...(full.logits ? [] : ['the model has no logits output (a base model without its language-model head): next-token KL and top-1 agreement are not defined']),
        ...(shape ? shape.notes : ['no config.json and no values found in the graph: the head size, so the KV bytes, are unknown']),
      ],
    },
  };
}
