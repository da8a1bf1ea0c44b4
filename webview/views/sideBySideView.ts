/**
 * Side by side: the selected head in capture A, in capture B, and A − B on a diverging scale
 * (blue where B attends more, red where A does, white-ish at zero, symmetric about zero so the
 * sign reads at a glance). Maps of different sizes are compared over their common prefix, and
 * the note says so.
 */
import Plotly from 'plotly.js-strict-dist-min';
import { plotlyColorscale } from '../colorScale';
import { MODEBAR_LAYOUT, PANEL_PLOT_CONFIG, divergingScale, themeBackground, thinTicks } from '../plotChrome';
import { ExportBar } from '../export/exportBar';
import type { ExportSink } from '../export/exportSink';
import { plotlySvg } from '../export/plotImage';
import { MAX_CELLS, blockMax, headView } from '../layerMaps';
import type { CaptureLike } from './captureHistory';
import { keyTokensOf } from './captureHistory';
import { blockSignedMax, diffOverCommonPrefix, type Matrix } from '../../common/diffMaps';

/** Blue (B larger) – light grey – red (A larger): ColorBrewer RdBu, reversed for this sign. */
/** Plotly reads titles and tick text as pseudo-HTML: a token like </s> must be escaped. */
function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export interface CompareSideData {
  capture: CaptureLike;
  label: string;
}

interface Shown {
  layer: number;
  head: number;
  a: Matrix;
  b: Matrix;
  diff: Matrix;
  rowLabels: string[];
  colLabels: string[];
}

export class CompareView {
  readonly el: HTMLElement;
  private readonly note: HTMLElement;
  private readonly plots: HTMLElement[] = [];
  private sides: [CompareSideData, CompareSideData] | undefined;
  private shown: Shown | undefined;

  constructor(parent: HTMLElement, sink: ExportSink, opts: { npy: boolean; onError(m: string): void; onClose(): void }) {
    this.el = document.createElement('section');
    this.el.className = 'compare-section';
    this.el.hidden = true;
    const head = document.createElement('div');
    head.className = 'compare-head';
    const title = document.createElement('h2');
    title.className = 'section-title';
    title.textContent = 'Comparison';
    const close = document.createElement('vscode-button');
    close.setAttribute('appearance', 'secondary');
    close.className = 'compare-close';
    close.textContent = 'Close comparison';
    close.addEventListener('click', () => {
      this.close();
      opts.onClose();
    });
    head.append(title, close);
    this.note = document.createElement('p');
    this.note.className = 'hint compare-note';
    const row = document.createElement('div');
    row.className = 'compare-plots';
    this.el.append(head, this.note, row);
    for (const which of ['a', 'b', 'diff'] as const) {
      const cell = document.createElement('div');
      cell.className = 'compare-cell';
      const plot = document.createElement('div');
      plot.className = `compare-plot compare-${which}`;
      cell.appendChild(plot);
      row.appendChild(cell);
      this.plots.push(plot);
      new ExportBar(
        cell,
        {
          name: () => this.shown && `attention-${which}-L${this.shown.layer}-H${this.shown.head}`,
          image: () => plotlySvg(plot),
          map: () => {
            const s = this.shown;
            return s && { ...s[which], rowLabels: s.rowLabels, colLabels: s.colLabels };
          },
        },
        sink,
        opts,
      );
    }
    parent.appendChild(this.el);
  }

  get active(): boolean {
    return this.sides !== undefined;
  }

  open(a: CompareSideData, b: CompareSideData): void {
    this.sides = [a, b];
    this.el.hidden = false;
    document.body.classList.add('compare-mode');
  }

  close(): void {
    this.sides = undefined;
    this.shown = undefined;
    this.el.hidden = true;
    document.body.classList.remove('compare-mode');
    for (const p of this.plots) Plotly.purge(p);
  }

  /** Draws the given head of both captures; a no-op when no comparison is open. */
  async show(layer: number, head: number): Promise<void> {
    if (!this.sides) return;
    const [A, B] = this.sides;
    const ma = A.capture.maps.get(layer);
    const mb = B.capture.maps.get(layer);
    if (!ma || !mb || head >= ma.heads || head >= mb.heads || ma.pool !== mb.pool) {
      const why = !ma || !mb ? `layer ${layer} is missing from ${!ma ? 'A' : 'B'}` : ma.pool !== mb.pool ? 'the two captures were pooled differently (shorten the texts)' : `head ${head} is missing from one side`;
      this.note.textContent = `Cannot compare: ${why}.`;
      return;
    }
    const d = diffOverCommonPrefix({ rows: ma.rows, cols: ma.cols, data: headView(ma, head) }, { rows: mb.rows, cols: mb.cols, data: headView(mb, head) });
    const label = (ta: string[], tb: string[], i: number) => (ta[i] === tb[i] ? ta[i] : `${ta[i]} | ${tb[i]}`);
    const qa = A.capture.tokens;
    const qb = B.capture.tokens;
    const ka = keyTokensOf(A.capture, layer);
    const kb = keyTokensOf(B.capture, layer);
    const pool = ma.pool;
    const labels = (n: number, name: (i: number) => string) => Array.from({ length: n }, (_, i) => (pool > 1 ? `#${i * pool}` : name(i)));
    const rowLabels = labels(d.diff.rows, (i) => label(qa, qb, i));
    const colLabels = labels(d.diff.cols, (j) => label(ka, kb, j));
    this.shown = { layer, head, a: d.a, b: d.b, diff: d.diff, rowLabels, colLabels };
    const sizes = `A: ${A.label} (${ma.queries} tokens) · B: ${B.label} (${mb.queries} tokens)`;
    const prefix = d.truncated ? ` · compared over the common prefix: the first ${Math.min(ma.queries, mb.queries)} tokens` : '';
    // Identical maps (same checkpoint, same text) say so, rather than show a ±1e-6 scale of noise.
    const identical = d.maxAbs === 0;
    const verdict = identical ? ' The two maps are identical: every A − B is 0.' : ` A − B: red where A attends more, blue where B does (largest |A − B| ${d.maxAbs.toPrecision(3)}).`;
    this.note.textContent = `Layer ${layer} · head ${head} · ${sizes}${prefix}.${verdict}`;
    this.el.dataset.identical = String(identical);
    await Promise.all([
      this.plot(this.plots[0], `A: ${A.label}`, d.a, labels(d.a.rows, (i) => qa[i]), labels(d.a.cols, (j) => ka[j]), false, 1),
      this.plot(this.plots[1], `B: ${B.label}`, d.b, labels(d.b.rows, (i) => qb[i]), labels(d.b.cols, (j) => kb[j]), false, 1),
      this.plot(this.plots[2], identical ? 'A − B: identical' : 'A − B', d.diff, rowLabels, colLabels, true, identical ? 1 : d.maxAbs),
    ]);
  }

  private async plot(el: HTMLElement, title: string, m: Matrix, rowLabels: string[], colLabels: string[], signed: boolean, zmax: number): Promise<void> {
    const outR = Math.min(MAX_CELLS, m.rows);
    const outC = Math.min(MAX_CELLS, m.cols);
    const exact = outR === m.rows && outC === m.cols;
    const values = exact ? m.data : signed ? blockSignedMax(m, outR, outC) : blockMax(m.data, m.rows, m.cols, 0, m.rows, 0, m.cols, outR, outC);
    const z: number[][] = [];
    for (let i = 0; i < outR; i++) z.push(Array.from(values.subarray(i * outC, (i + 1) * outC)));
    const style = getComputedStyle(document.body);
    const fg = style.getPropertyValue('--vscode-foreground').trim() || style.color || '#ccc';
    const font = style.getPropertyValue('--vscode-font-family').trim() || 'sans-serif';
    // Every token when they fit, else every n-th: three plots share the width.
    const px = { x: Math.max(120, (el.clientWidth || 300) - 110), y: 380 - 90 };
    const ticks = (labels: string[], n: number, along: number) => {
      if (!exact || n > 160) return {};
      const at = thinTicks(n, along, 13);
      return { tickvals: at, ticktext: at.map((i) => escapeHtml(labels[i].length > 10 ? labels[i].slice(0, 9) + '…' : labels[i])) };
    };
    const short = (t: string) => (t.length > 40 ? t.slice(0, 39) + '…' : t);
    const trace = {
      type: 'heatmap',
      z,
      zmin: signed ? -zmax : 0,
      zmax,
      colorscale: signed ? divergingScale(themeBackground()) : plotlyColorscale(),
      hovertemplate: exact ? `query #%{y} · key #%{x}<br>${signed ? 'A − B' : 'weight'}: %{z:.4f}<extra></extra>` : `${signed ? 'A − B (largest |·| in block)' : 'max weight'}: %{z:.4f}<extra></extra>`,
      colorbar: { thickness: 10, outlinewidth: 0, title: { text: signed ? 'A − B' : 'weight', side: 'right' } },
    };
    const layout = {
      title: { text: escapeHtml(short(title)), font: { size: 12 }, x: 0.02, xanchor: 'left' },
      height: 380,
      margin: { l: 56, r: 10, t: 32, b: 56 },
      paper_bgcolor: 'rgba(0,0,0,0)',
      plot_bgcolor: 'rgba(0,0,0,0)',
      font: { color: fg, family: font, size: 10 },
      ...MODEBAR_LAYOUT,
      xaxis: { ...ticks(colLabels, outC, px.x), title: { text: 'key' }, showgrid: false, zeroline: false, automargin: true },
      yaxis: { ...ticks(rowLabels, outR, px.y), title: { text: 'query' }, autorange: 'reversed', showgrid: false, zeroline: false, automargin: true },
    };
    await Plotly.react(el, [trace], layout, { ...PANEL_PLOT_CONFIG, modeBarButtonsToRemove: ['select2d', 'lasso2d', 'toImage'] });
  }
}
