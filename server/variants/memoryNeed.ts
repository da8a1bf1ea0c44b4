/**
 * Memory a run of attention variants needs, computed before it starts, so a length a user typed
 * (`compare --seq-lengths 30000`, a panel's `seqs: [12000]`) is refused in one line instead of
 * running until the kernel kills the process. The figure is each variant's own analytic bound
 * on its intermediates (VariantSpec.memoryBytes: exact keeps heads × n × m scores and
 * probabilities) plus the Q, K, V and output arrays this process holds, plus the maps it keeps.
 */
import { freemem } from 'node:os';
import { UserError } from '../../common/errors';
import { getVariant } from './registry';
import type { VariantParams } from './types';

/** What one run may use: 80% of the free memory, the bound capture uses too (layerGroups.ts). */
export function memoryLimitBytes(): number {
  return Math.max(256 * 2 ** 20, freemem() * 0.8);
}

export function gib(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : 'more memory than any machine has';
}

export interface RunShape {
  heads: number;
  d: number;
  /** Maps returned to this process (heads × n × n each, for the reference and the variant). */
  maps: boolean;
  /** The model is run again at this length to get Q, K, V (its own scores are as large as exact's). */
  rerun?: boolean;
}

/** Peak bytes of running `ids` one after another at n tokens, and the variant that sets it. */
export function variantRunBytes(ids: string[], n: number, shape: RunShape, params: Record<string, VariantParams> = {}): { bytes: number; variant: string } {
  const { heads, d } = shape;
  let worst = { bytes: 0, variant: ids[0] ?? 'exact' };
  for (const id of ids) {
    const spec = getVariant(id);
    const b = spec.memoryBytes(n, n, d, heads, { ...spec.defaults, ...(params[id] ?? {}) });
    if (!(b <= worst.bytes)) worst = { bytes: b, variant: id };
  }
  const arrays = 4 * 4 * heads * n * d;
  const maps = shape.maps ? 2 * 4 * heads * n * n : 0;
  const model = shape.rerun ? getVariant('exact').memoryBytes(n, n, d, heads, {}) : 0;
  return { bytes: worst.bytes + arrays + maps + model, variant: worst.variant };
}

/** The largest n in 1..upper with need(n) <= limit (need grows with n), or 0. */
export function largestFitting(need: (n: number) => number, limit: number, upper: number): number {
  let lo = 0;
  let hi = Math.max(0, Math.floor(upper));
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (need(mid) <= limit) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** How a message names a length and its fix: `--seq-lengths 30000` … `use --seq-lengths 2048 or less`. */
export interface LengthSubject {
  label(n: number): string;
  fix(fits: number): string;
}

export function flagSubject(flag: string): LengthSubject {
  return { label: (n) => `${flag} ${n}`, fix: (fits) => `use ${flag} ${fits} or less` };
}

/**
 * Throws a one-line UserError naming the first length that does not fit, what it needs, what
 * there is, and the largest length that would fit.
 */
export function checkRunsFit(
  lengths: number[], ids: string[], shape: (n: number) => RunShape, params: Record<string, VariantParams>,
  subject: LengthSubject, limit = memoryLimitBytes(),
): void {
  for (const n of lengths) {
    const need = variantRunBytes(ids, n, shape(n), params);
    if (need.bytes <= limit) continue;
    const s = shape(n);
    const fits = largestFitting((k) => variantRunBytes(ids, k, shape(k), params).bytes, limit, Math.min(n, 2 ** 24));
    const fix = fits > 0 ? subject.fix(fits) : 'free memory first';
    throw new UserError(
      `${subject.label(n)} needs ${gib(need.bytes)} (${need.variant} on ${s.heads} heads × ${n} tokens, head dim ${s.d}), more than the ${gib(limit)} this machine can spare; ${fix}${ids.length > 1 ? ', or run fewer variants' : ''}`,
    );
  }
}

/**
 * Before anything is loaded: a lower bound (exact attention on one head of dimension one) that
 * already refuses lengths no machine could hold, such as 1e8.
 */
export function checkLengthsPlausible(lengths: number[], subject: LengthSubject, limit = memoryLimitBytes()): void {
  for (const n of lengths) {
    const floor = getVariant('exact').memoryBytes(n, n, 1, 1, {});
    if (floor <= limit) continue;
    throw new UserError(
      `${subject.label(n)} needs at least ${gib(floor)} (the ${n} × ${n} attention scores of a single head), more than the ${gib(limit)} this machine can spare; use a length in the thousands`,
    );
  }
}
