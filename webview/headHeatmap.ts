/**
 * The selected head as a Plotly heatmap, in token coordinates. Plotly slows down past a few
 * tens of thousands of cells, so only the visible range is drawn, at most MAX_CELLS a side
 * (block max beyond that); zooming re-renders the new range at a finer resolution, from the
 * maps in hand or, when the grid was pooled, from a full-resolution tile asked of the host.
 */
import Plotly from 'plotly.js-strict-dist-min';
import { plotlyColorscale } from './colorScale';
import { MODEBAR_LAYOUT, PANEL_PLOT_CONFIG, thinTicks } from './plotChrome';
import { LayerMaps, MAX_CELLS, blockMax, headView } from './layerMaps';
import { rowRanks } from './views/rank';

export interface HeatmapSource {
  layer: number;
  head: number;
  maps: LayerMaps;
  tokens: string[];
  /** Cross-attention: the source tokens on the key axis (queries are `tokens`, the target). */
  keyTokens?: string[];
}

export interface Tile {
  rows: number;
  cols: number;
  data: Float32Array;
}

/** Asks for [q0, q1) x [k0, k1) of a head at full resolution; undefined when no host can. */
export type TileFetcher = (layer: number, head: number, q0: number, q1: number, k0: number, k1: number) => Promise<Tile> | undefined;

interface View {
  q0: number;
  q1: number;
  k0: number;
  k1: number;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function short(s: string, n = 12): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

function tokenRange(tokens: string[], a: number, b: number): string {
  if (b - a <= 1) return `"${escapeHtml(tokens[a] ?? '')}" (#${a})`;
  return `#${a}–#${b - 1} ("${escapeHtml(short(tokens[a] ?? ''))}"…"${escapeHtml(short(tokens[b - 1] ?? ''))}")`;
}

/** Edges in token units of `n` equal-as-possible blocks over [a, b). */
function blockEdges(a: number, b: number, n: number): number[] {
  const edges: number[] = [];
  for (let i = 0; i <= n; i++) edges.push(a + Math.floor((i * (b - a)) / n));
  return edges;
}

export class HeadHeatmap {
  private src: HeatmapSource | undefined;
  private view: View | undefined;
  private zoomed = false;
  private drawing = false;
  private listening = false;
  private generation = 0;
  /** Whether the drawn cells are single tokens (so a hovered row is one query). */
  private singleTokens = false;
  /** The row or column outlined now ('' for none). */
  private outlined = '';

  constructor(
    private readonly el: HTMLElement,
    private readonly fetchTile: TileFetcher,
    /** Called with the query and key tokens under the pointer (single-token cells only), or undefined. */
    private readonly onHoverQuery: (query: number | undefined, key?: number) => void = () => undefined,
  ) {}

  show(src: HeatmapSource): void {
    const same = this.src && this.src.layer === src.layer && this.src.head === src.head && this.src.maps === src.maps;
    this.src = src;
    if (!same || !this.view) {
      this.view = { q0: 0, q1: src.maps.queries, k0: 0, k1: src.maps.keys };
      this.zoomed = false;
    }
    void this.render();
  }

  /**
   * Outlines a query's row ("looks from") or a key's column ("attended by"): the token pointed
   * at in the strip, so the heatmap shows the same reading as the strip. Token coordinates.
   */
  outline(kind: 'row' | 'column' | undefined, index?: number): void {
    const key = kind && index !== undefined ? `${kind}:${index}` : '';
    if (!this.src || key === this.outlined || !this.el.querySelector('.main-svg')) return;
    this.outlined = key;
    const line = { color: '#ff4081', width: 2 };
    const shapes =
      !kind || index === undefined
        ? []
        : [
            kind === 'row'
              ? { type: 'rect', xref: 'paper', x0: 0, x1: 1, yref: 'y', y0: index - 0.5, y1: index + 0.5, line, fillcolor: 'rgba(0,0,0,0)' }
              : { type: 'rect', yref: 'paper', y0: 0, y1: 1, xref: 'x', x0: index - 0.5, x1: index + 0.5, line, fillcolor: 'rgba(0,0,0,0)' },
          ];
    this.drawing = true;
    void Plotly.relayout(this.el, { shapes }).finally(() => (this.drawing = false));
  }

  clear(): void {
    this.outlined = '';
    this.src = undefined;
    this.view = undefined;
    Plotly.purge(this.el);
    this.listening = false;
  }

  private async render(): Promise<void> {
    const src = this.src;
    const view = this.view;
    if (!src || !view) return;
    const gen = ++this.generation;
    const m = src.maps;
    const p = m.pool;
    const nq = view.q1 - view.q0;
    const nk = view.k1 - view.k0;
    // Full resolution is needed when pooled data is coarser than what fits on screen.
    if (p > 1 && nq <= MAX_CELLS && nk <= MAX_CELLS) {
      const pending = this.fetchTile(src.layer, src.head, view.q0, view.q1, view.k0, view.k1);
      if (pending) {
        const tile = await pending.catch(() => undefined);
        if (gen !== this.generation) return;
        if (tile && tile.rows === nq && tile.cols === nk) {
          return this.draw(src, view, tile.data, tile.rows, tile.cols, 0, nq, 0, nk, 1, [view.q0, view.k0]);
        }
      }
    }
    // Otherwise draw from the maps in hand, in pooled cells.
    const r0 = Math.floor(view.q0 / p);
    const r1 = Math.min(m.rows, Math.ceil(view.q1 / p));
    const c0 = Math.floor(view.k0 / p);
    const c1 = Math.min(m.cols, Math.ceil(view.k1 / p));
    await this.draw(src, view, headView(m, src.head), m.rows, m.cols, r0, r1, c0, c1, p, [0, 0]);
  }

  /**
   * Draws cells [r0, r1) x [c0, c1) of a [rows, cols] map whose cells are `unit` tokens wide
   * and whose cell (0, 0) is token (qBase, kBase): the view's origin for a tile, 0 otherwise.
   */
  private async draw(
    src: HeatmapSource,
    view: View,
    map: Float32Array,
    rows: number,
    cols: number,
    r0: number,
    r1: number,
    c0: number,
    c1: number,
    unit: number,
    [qBase, kBase]: [number, number],
  ): Promise<void> {
    const outR = Math.min(MAX_CELLS, r1 - r0);
    const outC = Math.min(MAX_CELLS, c1 - c0);
    const values = blockMax(map, rows, cols, r0, r1, c0, c1, outR, outC);
    const tokEdge = (base: number, e: number, limit: number) => Math.min(limit, base + e * unit);
    const qe = blockEdges(r0, r1, outR).map((e) => tokEdge(qBase, e, src.maps.queries));
    const ke = blockEdges(c0, c1, outC).map((e) => tokEdge(kBase, e, src.maps.keys));
    const exact = unit === 1 && outR === r1 - r0 && outC === c1 - c0;
    this.singleTokens = exact;
    const keyTokens = src.keyTokens ?? src.tokens;
    const z: number[][] = [];
    const text: string[][] = [];
    // Rank among the row's keys: the whole row, or the keys in view when drawn from a tile.
    const rankNote = cols === src.maps.keys ? '' : ' in view';
    for (let i = 0; i < outR; i++) {
      const zr: number[] = [];
      const tr: string[] = [];
      const qs = tokenRange(src.tokens, qe[i], qe[i + 1]);
      const ranks = exact ? rowRanks(map, (r0 + i) * cols, (r0 + i + 1) * cols) : undefined;
      for (let j = 0; j < outC; j++) {
        const w = values[i * outC + j];
        zr.push(w);
        const rank = ranks ? `<br>rank${rankNote}: ${ranks[c0 + j]} of ${cols}` : '';
        tr.push(`query: ${qs}<br>key: ${tokenRange(keyTokens, ke[j], ke[j + 1])}<br>${exact ? 'weight' : 'max weight'}: ${w.toFixed(4)}${rank}`);
      }
      z.push(zr);
      text.push(tr);
    }
    const style = getComputedStyle(document.body);
    const fg = style.getPropertyValue('--vscode-foreground').trim() || style.color || '#ccc';
    const font = style.getPropertyValue('--vscode-font-family').trim() || 'sans-serif';
    // Token labels where single tokens are drawn, thinned to one per 14 px of the plot.
    const side = Math.max(200, (this.el.clientWidth || 600) - 140);
    const axis = (a: number, b: number, names = src.tokens) => {
      const ticks = b - a <= 48 ? thinTicks(b - a, side, 14).map((i) => a + i) : undefined;
      return {
        tickvals: ticks,
        // Plotly reads tick text as pseudo-HTML: a token like </s> would vanish unescaped.
        ticktext: ticks?.map((t) => escapeHtml(short(names[t] ?? '', 10))),
        tickfont: { size: 10 },
        showgrid: false,
        zeroline: false,
        automargin: true,
      };
    };
    const x = { ...axis(view.k0, view.k1, keyTokens), autorange: !this.zoomed, range: this.zoomed ? [view.k0 - 0.5, view.k1 - 0.5] : undefined };
    const y = {
      ...axis(view.q0, view.q1),
      autorange: this.zoomed ? false : ('reversed' as const),
      range: this.zoomed ? [view.q1 - 0.5, view.q0 - 0.5] : undefined,
    };
    const trace = {
      type: 'heatmap',
      z,
      x: ke.map((e) => e - 0.5),
      y: qe.map((e) => e - 0.5),
      text,
      hovertemplate: '%{text}<extra></extra>',
      zmin: 0,
      zmax: 1,
      colorscale: plotlyColorscale(),
      colorbar: { title: { text: 'weight', side: 'right' }, thickness: 12, outlinewidth: 0 },
    };
    const layout = {
      title: { text: `Layer ${src.layer} · head ${src.head}${src.keyTokens ? ' · cross-attention' : ''}`, font: { size: 13 }, x: 0.02, xanchor: 'left' },
      margin: { l: 60, r: 20, t: 36, b: 60 },
      paper_bgcolor: 'rgba(0,0,0,0)',
      plot_bgcolor: 'rgba(0,0,0,0)',
      font: { color: fg, family: font },
      ...MODEBAR_LAYOUT,
      xaxis: { ...x, title: { text: src.keyTokens ? 'source (key)' : 'key', standoff: 4 }, side: 'bottom' },
      yaxis: { ...y, title: { text: src.keyTokens ? 'target (query)' : 'query', standoff: 4 } },
    };
    this.drawing = true;
    this.outlined = '';
    try {
      const el = await Plotly.react(this.el, [trace], layout, {
        ...PANEL_PLOT_CONFIG,
        // Plotly's camera button downloads, which a webview cannot: the export bar (webview/export) saves through the host.
        modeBarButtonsToRemove: ['select2d', 'lasso2d', 'sendChartToCloud', 'toImage'],
        toImageButtonOptions: { format: 'svg', filename: `attention-L${src.layer}-H${src.head}` },
      });
      if (!this.listening) {
        this.listening = true;
        el.on('plotly_relayout', (ev: Record<string, unknown>) => this.onRelayout(ev));
        // Linking the views: the hovered cell's query becomes the token strip's query.
        el.on('plotly_hover', (ev: Record<string, unknown>) => {
          const pt = (ev.points as { x?: number; y?: number }[] | undefined)?.[0];
          const one = this.singleTokens && typeof pt?.y === 'number' && typeof pt?.x === 'number';
          // With single-token cells the hovered point is the cell's centre: a whole token index.
          this.onHoverQuery(one ? Math.round(pt!.y!) : undefined, one ? Math.round(pt!.x!) : undefined);
        });
        el.on('plotly_unhover', () => this.onHoverQuery(undefined, undefined));
      }
    } finally {
      this.drawing = false;
    }
  }

  private onRelayout(ev: Record<string, unknown>): void {
    const src = this.src;
    // An outline (shapes only) changes no range.
    if (this.drawing || !src || Object.keys(ev).every((k) => k.startsWith('shapes'))) return;
    const n = { q: src.maps.queries, k: src.maps.keys };
    if (ev['xaxis.autorange'] || ev['yaxis.autorange']) {
      this.view = { q0: 0, q1: n.q, k0: 0, k1: n.k };
      this.zoomed = false;
      void this.render();
      return;
    }
    const v = { ...(this.view ?? { q0: 0, q1: n.q, k0: 0, k1: n.k }) };
    const clamp = (x: number, hi: number) => Math.min(hi, Math.max(0, x));
    if (typeof ev['xaxis.range[0]'] === 'number') {
      const a = ev['xaxis.range[0]'] as number;
      const b = ev['xaxis.range[1]'] as number;
      v.k0 = clamp(Math.floor(Math.min(a, b) + 0.5), n.k - 1);
      v.k1 = clamp(Math.ceil(Math.max(a, b) + 0.5), n.k);
    }
    if (typeof ev['yaxis.range[0]'] === 'number') {
      const a = ev['yaxis.range[0]'] as number;
      const b = ev['yaxis.range[1]'] as number;
      v.q0 = clamp(Math.floor(Math.min(a, b) + 0.5), n.q - 1);
      v.q1 = clamp(Math.ceil(Math.max(a, b) + 0.5), n.q);
    }
    if (v.k1 <= v.k0 || v.q1 <= v.q0) return;
    this.view = v;
    this.zoomed = true;
    void this.render();
  }
}
