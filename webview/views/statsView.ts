/**
 * Per-head statistics (stats.ts) of every head: a layer x head heatmap of one statistic, with
 * threshold and top-k filters to keep only the heads that stand out, and the sortable table of
 * all statistics. Clicking a heatmap cell or a table row's head opens that head.
 */
import { filterHeads } from '../analysis/filters';
import { STATS, headStats, type HeadStats, type HeadStatsRow, type StatKey } from '../analysis/stats';
import type { LayerMaps } from '../layerMaps';
import type { AnalysisContext } from './analysisContext';
import { el, numberControl, selectControl } from './controls';
import { drawGrid } from './matrixPlot';
import { StatsTable } from './statsTable';
import type { AnalysisView, OpenHead } from './view';

/**
 * The runtime's figures for a pooled layer: computed at full resolution beside the
 * probabilities, so exact where the pooled cells would only approximate them. Top-k mass is
 * the runtime's only for its own k. Undefined for full maps (computed here, hiding included).
 */
function exactStats(m: LayerMaps, h: number, topK: number): HeadStats | undefined {
  const s = m.stats;
  if (m.pool <= 1 || !s || s.topK !== topK) return undefined;
  const v = (xs: (number | null)[]) => xs[h] ?? NaN;
  return { entropy: v(s.entropy), distance: v(s.distance), first: v(s.first), previous: v(s.previous), self: v(s.self), sparsity: v(s.topk) };
}

export class StatsView implements AnalysisView {
  readonly id = 'stats';
  readonly title = 'Head statistics';
  private stat: StatKey = 'entropy';
  private topK = 3;
  private threshold = 0;
  private topHeads = 0;
  private plot!: HTMLElement;
  private table!: StatsTable;
  private ctx: AnalysisContext | undefined;
  private listening = false;

  constructor(private readonly openHead: OpenHead) {}

  mount(host: HTMLElement): void {
    const bar = el('div', 'analysis-controls', host);
    selectControl(bar, 'Statistic', 'stat', STATS.map((s) => [s.key, s.label]), this.stat, (v) => this.set(() => (this.stat = v as StatKey)));
    numberControl(bar, 'k for top-k mass', 'k', this.topK, { min: 1, step: 1 }, (v) => this.set(() => (this.topK = Math.max(1, Math.floor(v)))));
    numberControl(bar, 'Hide heads below', 'threshold', 0, { min: 0, step: 0.05 }, (v) => this.set(() => (this.threshold = v)));
    numberControl(bar, 'Show top heads (0: all)', 'topheads', 0, { min: 0, step: 1 }, (v) => this.set(() => (this.topHeads = Math.floor(v))));
    this.plot = el('div', 'analysis-plot analysis-stats-plot', host);
    this.table = new StatsTable(el('div', 'stats-table-host', host), this.openHead);
  }

  private set(f: () => void): void {
    f();
    if (this.ctx) this.render(this.ctx);
  }

  /** Figures per layer object, so a layer arriving does not recompute the layers before it. */
  private readonly cache = new WeakMap<LayerMaps, Map<string, HeadStats>>();

  /** Statistics of every head received so far, in layer then head order. */
  private compute(ctx: AnalysisContext): HeadStatsRow[] {
    const rows: HeadStatsRow[] = [];
    for (const l of [...ctx.layers.keys()].sort((a, b) => a - b)) {
      const m = ctx.layers.get(l)!;
      let byHead = this.cache.get(m);
      if (!byHead) this.cache.set(m, (byHead = new Map()));
      for (let h = 0; h < m.heads; h++) {
        const key = `${ctx.epoch}:${h}:${this.topK}`;
        let st = byHead.get(key);
        if (!st) byHead.set(key, (st = exactStats(m, h, this.topK) ?? headStats(ctx.head(l, h)!, this.topK)));
        rows.push({ layer: l, head: h, ...st });
      }
    }
    return rows;
  }

  render(ctx: AnalysisContext): void {
    this.ctx = ctx;
    const rows = this.compute(ctx);
    const info = STATS.find((s) => s.key === this.stat)!;
    const keep = filterHeads(rows.map((r) => r[this.stat]), this.threshold, this.topHeads);
    const shownRows = rows.filter((_, i) => keep[i]);
    this.table.show(shownRows, this.topK);
    const nLayers = ctx.heads.length;
    const nHeads = Math.max(0, ...ctx.heads);
    const z: (number | null)[][] = Array.from({ length: nLayers }, () => new Array<number | null>(nHeads).fill(null));
    const hover: string[][] = Array.from({ length: nLayers }, () => new Array<string>(nHeads).fill(''));
    let max = 0;
    rows.forEach((r, i) => {
      const v = r[this.stat];
      if (Number.isFinite(v)) max = Math.max(max, v);
      if (keep[i]) z[r.layer][r.head] = v;
      hover[r.layer][r.head] = `L${r.layer} H${r.head}<br>${info.label}: ${Number.isFinite(v) ? v.toFixed(4) : '–'}`;
    });
    const label = this.stat === 'sparsity' ? `Top-${this.topK} mass` : info.label;
    void drawGrid(this.plot, {
      z,
      xLabels: Array.from({ length: nHeads }, (_, h) => `H${h}`),
      yLabels: Array.from({ length: nLayers }, (_, l) => `L${l}`),
      hover,
      title: `${label}: ${info.description}`,
      xTitle: 'head',
      yTitle: 'layer',
      weights: false,
      zmin: 0,
      zmax: info.unit ? 1 : max || 1,
      colorbarTitle: label,
    }).then((gd) => {
      if (this.listening) return;
      this.listening = true;
      gd.on('plotly_click', (ev) => {
        const pt = (ev.points as { x: number; y: number }[] | undefined)?.[0];
        if (pt) this.openHead(pt.y, pt.x);
      });
    });
  }
}
