/**
 * The query–key scatter (AttentionViz): one Plotly `scattergl` trace for queries and one for
 * keys, so 20,000 points draw on the GPU and stay interactive. Colour by kind (query/key),
 * by position in the text, or by head; a point's hover names its token; clicking a query shows
 * its attention row (what that query attends to) as bars under the scatter.
 */
import Plotly, { type PlotlyHTMLElement } from 'plotly.js-strict-dist-min';
import { linearColorscale, escapeHtml } from '../views/matrixPlot';
import type { QkPoints } from './qkGeometry';

export type ColourBy = 'kind' | 'position' | 'head';

const QUERY_COLOUR = '#e8743b';
const KEY_COLOUR = '#2f7ed8';

export interface RowShown {
  /** Index of the clicked point, its text and position. */
  point: number;
  text: number;
  position: number;
  head: number;
  /** The query's weights over the keys of its text. */
  row: ArrayLike<number>;
  keyTokens: string[];
}

function themeFont(): { color: string; family: string } {
  const style = getComputedStyle(document.body);
  return {
    color: style.getPropertyValue('--vscode-foreground').trim() || style.color || '#ccc',
    family: style.getPropertyValue('--vscode-font-family').trim() || 'sans-serif',
  };
}

export class QkScatter {
  private points: QkPoints | undefined;
  /** Plot index -> point index, per trace (queries, keys). */
  private order: number[][] = [[], []];
  private plot: PlotlyHTMLElement | undefined;
  private hooked = false;

  constructor(
    private readonly el: HTMLElement,
    private readonly rowEl: HTMLElement,
    /** The attention row of query point i, or undefined when it has none (a key). */
    private readonly rowOf: (pts: QkPoints, i: number) => { row: ArrayLike<number>; keyTokens: string[] } | undefined,
    private readonly onRow?: (r: RowShown) => void,
  ) {}

  async draw(points: QkPoints, colourBy: ColourBy, title: string): Promise<void> {
    this.points = points;
    this.order = [[], []];
    for (let i = 0; i < points.count; i++) this.order[points.isQuery[i] ? 0 : 1].push(i);
    const font = themeFont();
    const maxPos = Math.max(1, ...points.position);
    const maxHead = Math.max(1, ...points.head);
    const traces = [0, 1].map((side) => {
      const idx = this.order[side];
      const colour =
        colourBy === 'kind'
          ? side === 0 ? QUERY_COLOUR : KEY_COLOUR
          : idx.map((i) => (colourBy === 'position' ? points.position[i] : points.head[i]));
      return {
        type: 'scattergl',
        mode: 'markers',
        name: side === 0 ? 'queries' : 'keys',
        x: idx.map((i) => points.x[i]),
        y: idx.map((i) => points.y[i]),
        text: idx.map((i) => points.tokens[i]),
        customdata: idx.map((i) => `${side === 0 ? 'query' : 'key'} · position ${points.position[i]} · head ${points.head[i]}${points.text[i] > 0 ? ` · text ${points.text[i] + 1}` : ''}`),
        hovertemplate: '%{text}<extra>%{customdata}</extra>',
        marker: {
          size: points.count > 5000 ? 4 : 7,
          symbol: side === 0 ? 'circle' : 'diamond',
          color: colour,
          opacity: 0.85,
          ...(colourBy === 'kind' ? {} : { colorscale: linearColorscale(), cmin: 0, cmax: colourBy === 'position' ? maxPos : maxHead, showscale: side === 0, colorbar: { title: { text: colourBy, side: 'right' }, thickness: 10 } }),
        },
      };
    });
    this.plot = await Plotly.react(this.el, traces, {
      title: { text: title, font: { size: 13 }, x: 0.02, xanchor: 'left' },
      margin: { l: 40, r: 20, t: 36, b: 30 },
      paper_bgcolor: 'rgba(0,0,0,0)',
      plot_bgcolor: 'rgba(0,0,0,0)',
      font,
      hovermode: 'closest',
      legend: { orientation: 'h', y: -0.08 },
      xaxis: { zeroline: false, showgrid: false, showticklabels: false },
      yaxis: { zeroline: false, showgrid: false, showticklabels: false, scaleanchor: 'x' },
    }, { displaylogo: false, responsive: true, showTips: false, modeBarButtonsToRemove: ['sendChartToCloud'] });
    if (!this.hooked) {
      this.hooked = true;
      this.plot.on('plotly_click', (ev) => {
        const p = (ev.points as { curveNumber: number; pointIndex?: number; pointNumber?: number }[] | undefined)?.[0];
        if (!p) return;
        const i = this.order[p.curveNumber]?.[p.pointIndex ?? p.pointNumber ?? -1];
        if (i !== undefined) void this.showRow(i);
      });
    }
  }

  /** The plot coordinates of point i (for tests and keyboard use). */
  pointAt(i: number): { trace: number; index: number } | undefined {
    if (!this.points) return undefined;
    const trace = this.points.isQuery[i] ? 0 : 1;
    return { trace, index: this.order[trace].indexOf(i) };
  }

  async showRow(i: number): Promise<void> {
    const pts = this.points;
    if (!pts) return;
    const r = this.rowOf(pts, i);
    if (!r) {
      this.rowEl.dataset.point = '';
      this.rowEl.textContent = `“${pts.tokens[i]}” is a key; click a query (a circle) to see where it looks.`;
      return;
    }
    this.rowEl.textContent = '';
    this.rowEl.dataset.point = String(i);
    const font = themeFont();
    await Plotly.react(this.rowEl, [{
      type: 'bar',
      x: r.keyTokens.map((_, k) => k),
      y: Array.from(r.row),
      text: r.keyTokens.map((t) => escapeHtml(t)),
      hovertemplate: '%{text}: %{y:.4f}<extra></extra>',
      textposition: 'none',
      marker: { color: KEY_COLOUR },
    }], {
      title: { text: `Attention of query “${escapeHtml(pts.tokens[i])}” (position ${pts.position[i]}, head ${pts.head[i]})`, font: { size: 12 }, x: 0.02, xanchor: 'left' },
      margin: { l: 40, r: 10, t: 30, b: 50 },
      paper_bgcolor: 'rgba(0,0,0,0)',
      plot_bgcolor: 'rgba(0,0,0,0)',
      font,
      xaxis: r.keyTokens.length <= 48 ? { tickvals: r.keyTokens.map((_, k) => k), ticktext: r.keyTokens.map((t) => escapeHtml(t.slice(0, 8))), tickangle: -45 } : { title: { text: 'key position' } },
      yaxis: { range: [0, 1], title: { text: 'weight' } },
    }, { displaylogo: false, responsive: true, showTips: false });
    this.onRow?.({ point: i, text: pts.text[i], position: pts.position[i], head: pts.head[i], row: r.row, keyTokens: r.keyTokens });
  }

  clear(): void {
    Plotly.purge(this.el);
    Plotly.purge(this.rowEl);
    this.rowEl.textContent = '';
    this.points = undefined;
    this.hooked = false;
  }
}
