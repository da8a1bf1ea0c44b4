/**
 * Seeded random numbers for the parameters a checkpoint does not have (Bahdanau's W1/W2/v,
 * Reformer's rotations, BigBird's random blocks). Everything derives from VariantInputs.seed so
 * a comparison can be rerun bit for bit.
 */

import { mulberry32 } from '../../common/seededRandom';

export { mulberry32 };

/** Gaussian samples (Box-Muller) with the given standard deviation. */
export function gaussian(count: number, seed: number, std = 1): Float32Array {
  const rand = mulberry32(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const u = Math.max(rand(), 1e-12);
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u)) * std;
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < count) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** Sub-seeds so that each parameter of a variant draws an independent stream. */
export function subSeed(seed: number, salt: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 2654435761) + salt * 40503) >>> 0;
}
