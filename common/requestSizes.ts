/**
 * Sizes in efficiency requests, checked before any work: by the runtime for every
 * attention/estimateSweep and attention/measureEfficiency request, and by the Efficiency panel's
 * host before it forwards what its webview sent. Pure (no Node APIs beyond the error type), so
 * both sides share it. The memory a measurement needs is checked by the runtime, which knows the
 * model's heads (measured.ts); here only what needs no model.
 */
import { UserError } from './errors';

/** A sweep is analytic, but each point costs an estimate per variant and per hardware profile. */
export const MAX_SWEEP_POINTS = 256;
/** Past this no estimate means anything (2^31 tokens). */
export const MAX_SEQ = 2 ** 31;
export const MAX_BATCH = 1 << 20;
export const MAX_MEASURE_SEQS = 16;
/** Heads a measurement may run (one layer's core; more heads only cost the same again). */
export const MAX_MEASURE_HEADS = 256;

function isCount(n: unknown, max: number): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 1 && n <= max;
}

function checkSeqList(seqs: unknown, maxPoints: number, what: string): void {
  if (!Array.isArray(seqs) || seqs.length === 0 || seqs.length > maxPoints) {
    throw new UserError(`${what}: give 1 to ${maxPoints} sequence lengths (got ${Array.isArray(seqs) ? `${seqs.length}` : typeof seqs})`);
  }
  const bad = seqs.find((n) => !isCount(n, MAX_SEQ));
  if (bad !== undefined) throw new UserError(`${what}: sequence length ${JSON.stringify(bad)} is not an integer from 1 to ${MAX_SEQ}`);
}

export interface SweepSizes {
  seqs?: unknown;
  tableSeq?: unknown;
  batch?: unknown;
}

export function checkSweepSizes(p: SweepSizes, what = 'attention/estimateSweep'): void {
  if (p.seqs !== undefined) checkSeqList(p.seqs, MAX_SWEEP_POINTS, what);
  if (p.tableSeq !== undefined && !isCount(p.tableSeq, MAX_SEQ)) throw new UserError(`${what}: table length ${JSON.stringify(p.tableSeq)} is not an integer from 1 to ${MAX_SEQ}`);
  if (p.batch !== undefined && !isCount(p.batch, MAX_BATCH)) throw new UserError(`${what}: batch ${JSON.stringify(p.batch)} is not an integer from 1 to ${MAX_BATCH}`);
}

export interface MeasureSizes {
  seqs?: unknown;
  maxHeads?: unknown;
  variants?: unknown;
}

export function checkMeasureSizes(p: MeasureSizes, what = 'attention/measureEfficiency'): void {
  checkSeqList(p.seqs, MAX_MEASURE_SEQS, what);
  if (p.maxHeads !== undefined && !isCount(p.maxHeads, MAX_MEASURE_HEADS)) throw new UserError(`${what}: maxHeads ${JSON.stringify(p.maxHeads)} is not an integer from 1 to ${MAX_MEASURE_HEADS}`);
  if (p.variants !== undefined && (!Array.isArray(p.variants) || p.variants.length > 64 || p.variants.some((v) => typeof v !== 'string'))) {
    throw new UserError(`${what}: variants must be a list of variant ids`);
  }
}
