/**
 * A token x token matrix as a GridPlot, at most MAX_CELLS a side like the head heatmap: past
 * that each drawn cell is the block maximum (a sharp link stays visible where a mean would wash
 * it out) and its hover names the token ranges and says "max". Blank (NaN) cells stay blank
 * unless a block holds a drawn value.
 */
import type { Mat } from '../analysis/matrix';
import { MAX_CELLS } from '../layerMaps';
import { escapeHtml, type GridPlot } from './matrixPlot';

export interface TokenAxis {
  /** Tick label of cell i. */
  label(i: number): string;
  /** Hover name of cell i. */
  describe(i: number): string;
  /** Index in the text of the first token of cell i (for sparse ticks). */
  index(i: number): number;
}

function edges(n: number, out: number): number[] {
  return Array.from({ length: out + 1 }, (_, i) => Math.floor((i * n) / out));
}

export function tokenGrid(
  m: Mat,
  rows: TokenAxis,
  cols: TokenAxis,
  names: { row: string; col: string; value: string },
  shown: Mat = m,
): Pick<GridPlot, 'z' | 'xLabels' | 'yLabels' | 'hover' | 'xStarts' | 'yStarts'> {
  const outR = Math.min(MAX_CELLS, m.rows);
  const outC = Math.min(MAX_CELLS, m.cols);
  const re = edges(m.rows, outR);
  const ce = edges(m.cols, outC);
  const exact = outR === m.rows && outC === m.cols;
  const range = (ax: TokenAxis, a: number, b: number) => (b - a <= 1 ? escapeHtml(ax.describe(a)) : `${escapeHtml(ax.describe(a))} … ${escapeHtml(ax.describe(b - 1))}`);
  const z: (number | null)[][] = [];
  const hover: string[][] = [];
  for (let i = 0; i < outR; i++) {
    const zr: (number | null)[] = [];
    const hr: string[] = [];
    const rowName = range(rows, re[i], re[i + 1]);
    for (let j = 0; j < outC; j++) {
      let best = -Infinity;
      let bestShown = -Infinity;
      for (let r = re[i]; r < re[i + 1]; r++) {
        for (let c = ce[j]; c < ce[j + 1]; c++) {
          best = Math.max(best, m.data[r * m.cols + c]);
          const v = shown.data[r * m.cols + c];
          if (Number.isFinite(v)) bestShown = Math.max(bestShown, v);
        }
      }
      zr.push(Number.isFinite(bestShown) ? bestShown : null);
      hr.push(`${names.row}: ${rowName}<br>${names.col}: ${range(cols, ce[j], ce[j + 1])}<br>${exact ? '' : 'max '}${names.value}: ${best.toFixed(4)}`);
    }
    z.push(zr);
    hover.push(hr);
  }
  // Tick labels only where a drawn cell is one token.
  const labels = (ax: TokenAxis, e: number[]) => e.slice(0, -1).map((a, i) => (e[i + 1] - a === 1 ? ax.label(a) : `#${a}`));
  return { z, hover, xLabels: labels(cols, ce), yLabels: labels(rows, re), xStarts: ce.slice(0, -1).map((c) => cols.index(c)), yStarts: re.slice(0, -1).map((r) => rows.index(r)) };
}
