/**
 * How many layers' maps one onnxruntime run may return. All layers in one run is fastest, but
 * maps grow with the square of the length (32 layers x 32 heads x 4096^2 floats is 68 GB), so
 * long inputs run in consecutive groups of layers that fit a memory budget: each run recomputes
 * the layers before its group, and the caller gets each group's maps before the next run,
 * so cancellation between groups really stops the work.
 */
import { freemem } from 'node:os';
import { UserError } from './types';

/** A quarter of the free memory, at least 256 MiB: room for onnxruntime's own buffers. */
export function defaultMapBudget(): number {
  return Math.max(256 * 2 ** 20, freemem() / 4);
}

export function mapBytes(heads: number, tokens: number): number {
  return Math.max(1, heads) * tokens * tokens * 4;
}

/** Consecutive groups of layer indices whose maps fit budgetBytes (at least one layer each). */
export function planLayerGroups(heads: number[], tokens: number, budgetBytes: number, modelPath: string): number[][] {
  const groups: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  heads.forEach((h, i) => {
    const b = mapBytes(h, tokens);
    if (b > Math.max(budgetBytes, freemem() * 0.8)) {
      throw new UserError(
        `${tokens} tokens need ${(b / 2 ** 30).toFixed(1)} GiB for one layer's maps of ${modelPath} (${(freemem() / 2 ** 30).toFixed(1)} GiB free); use fewer tokens (--max-tokens)`,
      );
    }
    if (current.length > 0 && bytes + b > budgetBytes) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(i);
    bytes += b;
  });
  if (current.length > 0) groups.push(current);
  return groups;
}
