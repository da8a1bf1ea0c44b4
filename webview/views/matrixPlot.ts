/**
 * Plotly heatmaps of the analysis views: a token x token matrix (same colour scale as the head
 * heatmap when values are weights in [0, 1]) and a labelled grid (layer x head, head x head).
 * Cells are placed at integer coordinates with tick labels, because tokens repeat and Plotly
 * would merge repeated category names.
 */
import Plotly, { type PlotlyHTMLElement } from 'plotly.js-strict-dist-min';
import { plotlyColorscale, rgbCss, viridis } from '../colorScale';
import { MODEBAR_LAYOUT, PANEL_PLOT_CONFIG } from '../plotChrome';

export interface GridPlot {
  z: (number | null)[][];
  xLabels: string[];
  yLabels: string[];
  hover: string[][];
  title: string;
  xTitle: string;
  yTitle: string;
  /** Weights in [0, 1] use the panel's sqrt scale; other figures a linear viridis over [zmin, zmax]. */
  weights: boolean;
  zmin: number;
  zmax: number;
  colorbarTitle: string;
  /** Token index where each drawn row / column starts: long axes get sparse ticks in tokens. */
  yStarts?: number[];
  xStarts?: number[];
}

/** Linear viridis as a Plotly colorscale (for figures that are not attention weights). */
export function linearColorscale(stops = 10): [number, string][] {
  return Array.from({ length: stops + 1 }, (_, i) => [i / stops, rgbCss(viridis(i / stops))] as [number, string]);
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function short(s: string, n = 10): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

function axis(labels: string[], title: string, starts?: number[]) {
  let ticks: number[] | undefined;
  let text: string[] | undefined;
  if (labels.length <= 64) {
    ticks = labels.map((_, i) => i);
    text = ticks.map((i) => short(labels[i]));
  } else if (starts) {
    const step = Math.ceil(labels.length / 10);
    ticks = labels.map((_, i) => i).filter((i) => i % step === 0);
    text = ticks.map((i) => String(starts[i]));
  }
  return {
    tickvals: ticks,
    ticktext: text,
    tickfont: { size: 10 },
    showgrid: false,
    zeroline: false,
    automargin: true,
    title: { text: title, standoff: 4 },
  };
}

/** Draws (or redraws) a grid; returns the plot element for event hooks. */
export async function drawGrid(el: HTMLElement, p: GridPlot): Promise<PlotlyHTMLElement> {
  const style = getComputedStyle(document.body);
  const fg = style.getPropertyValue('--vscode-foreground').trim() || style.color || '#ccc';
  const font = style.getPropertyValue('--vscode-font-family').trim() || 'sans-serif';
  const trace = {
    type: 'heatmap',
    z: p.z,
    x: p.xLabels.map((_, i) => i),
    y: p.yLabels.map((_, i) => i),
    text: p.hover,
    hovertemplate: '%{text}<extra></extra>',
    hoverongaps: false,
    zmin: p.zmin,
    zmax: p.zmax,
    colorscale: p.weights ? plotlyColorscale() : linearColorscale(),
    colorbar: { title: { text: p.colorbarTitle, side: 'right' }, thickness: 12, outlinewidth: 0 },
  };
  const layout = {
    title: { text: p.title, font: { size: 13 }, x: 0.02, xanchor: 'left' },
    margin: { l: 60, r: 20, t: 36, b: 60 },
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: 'rgba(0,0,0,0)',
    font: { color: fg, family: font },
    ...MODEBAR_LAYOUT,
    xaxis: { ...axis(p.xLabels, p.xTitle, p.xStarts), side: 'bottom' },
    yaxis: { ...axis(p.yLabels, p.yTitle, p.yStarts), autorange: 'reversed' },
  };
  return Plotly.react(el, [trace], layout, {
    ...PANEL_PLOT_CONFIG,
    modeBarButtonsToRemove: ['select2d', 'lasso2d', 'sendChartToCloud'],
    toImageButtonOptions: { format: 'svg', filename: p.title.replace(/[^\w.-]+/g, '-') },
  });
}

/** NaN (filtered or empty) becomes a gap, which Plotly leaves undrawn. */
export function toRows(data: ArrayLike<number>, rows: number, cols: number): (number | null)[][] {
  return Array.from({ length: rows }, (_, r) =>
    Array.from({ length: cols }, (_, c) => {
      const v = data[r * cols + c];
      return Number.isFinite(v) ? v : null;
    }),
  );
}
