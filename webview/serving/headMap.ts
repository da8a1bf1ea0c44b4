/**
 * The head map: the selected head's real (full-cache) map on a canvas, every cell a policy
 * drops tinted red, and the selected query's row outlined with its dropped keys solid red, so
 * what the policy removes is read against where the head actually looks.
 */
import { writeColor } from '../colorScale';

export interface HeadMapView {
  n: number;
  /** [n, n] weights of the head. */
  map: Float32Array;
  /** [n, n] kept flags of the head (1 kept). */
  keep: Uint8Array;
  query: number;
}

export const DROPPED_RGB: [number, number, number] = [230, 40, 40];

/** Cell size in canvas pixels for an n-token map within `size` pixels (at least 1). */
export function cellSize(n: number, size: number): number {
  return Math.max(1, Math.floor(size / n));
}

export function drawHeadMap(canvas: HTMLCanvasElement, v: HeadMapView, size = 480): void {
  const { n, map, keep, query } = v;
  const c = cellSize(n, size);
  canvas.width = n * c;
  canvas.height = n * c;
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(n * c, n * c);
  const px = img.data;
  let mx = 0;
  for (let i = 0; i < map.length; i++) mx = Math.max(mx, map[i]);
  const cell = new Uint8ClampedArray(4);
  for (let q = 0; q < n; q++) {
    for (let k = 0; k < n; k++) {
      const w = mx > 0 ? map[q * n + k] / mx : 0;
      const dropped = k <= q && !keep[q * n + k];
      writeColor(cell, 0, w);
      let [r, g, b] = [cell[0], cell[1], cell[2]];
      if (dropped && q === query) [r, g, b] = DROPPED_RGB;
      else if (dropped) [r, g, b] = [Math.round(0.55 * r + 0.45 * DROPPED_RGB[0]), Math.round(0.55 * g + 0.45 * DROPPED_RGB[1]), Math.round(0.55 * b + 0.45 * DROPPED_RGB[2])];
      for (let y = 0; y < c; y++) {
        for (let x = 0; x < c; x++) {
          const o = ((q * c + y) * n * c + k * c + x) * 4;
          px[o] = r;
          px[o + 1] = g;
          px[o + 2] = b;
          px[o + 3] = 255;
        }
      }
    }
  }
  ctx.putImageData(img, 0, 0);
  ctx.strokeStyle = '#ffffff';
  ctx.lineWidth = Math.max(1, c / 6);
  ctx.strokeRect(0.5, query * c + 0.5, n * c - 1, c - 1);
}

/** What the selected query keeps: kept and dropped counts and the mass on the kept keys. */
export function querySummary(v: HeadMapView): { kept: number; dropped: number; mass: number } {
  const { n, map, keep, query } = v;
  let kept = 0;
  let mass = 0;
  for (let k = 0; k <= query; k++) {
    if (keep[query * n + k]) {
      kept++;
      mass += map[query * n + k];
    }
  }
  return { kept, dropped: query + 1 - kept, mass };
}
