/**
 * One row per layer: the mean over its heads of each head statistic (stats.ts), and its most
 * focused head (lowest entropy), which opens on click. Answers "where does the model focus and
 * where does it spread" before any single head is opened. Pooled maps use the runtime's exact
 * figures, as the head statistics do.
 */
import { STATS, headStats, type HeadStats } from '../analysis/stats';
import type { AnalysisContext } from './analysisContext';
import { el, headRow } from './controls';
import type { AnalysisView, OpenHead } from './view';

const TOP_K = 3;

function exactOrComputed(ctx: AnalysisContext, layer: number, h: number): HeadStats {
  const m = ctx.layers.get(layer)!;
  const s = m.stats;
  if (m.pool > 1 && s && s.topK === TOP_K) {
    const v = (xs: (number | null)[]) => xs[h] ?? NaN;
    return { entropy: v(s.entropy), distance: v(s.distance), first: v(s.first), previous: v(s.previous), self: v(s.self), sparsity: v(s.topk) };
  }
  return headStats(ctx.head(layer, h)!, TOP_K);
}

export class LayerSummaryView implements AnalysisView {
  readonly id = 'layer-summary';
  readonly title = 'Layer summary';
  private table!: HTMLTableElement;

  constructor(private readonly openHead: OpenHead) {}

  mount(host: HTMLElement): void {
    el('p', 'hint', host, `Mean over each layer's heads (top-${TOP_K} mass for "Top-k mass"); the most focused head has the lowest entropy.`);
    this.table = el('table', 'layer-summary-table', host);
    const head = el('tr', '', el('thead', '', this.table));
    for (const label of ['Layer', 'Heads', ...STATS.map((s) => s.label), 'Most focused']) el('th', '', head, label).title = STATS.find((s) => s.label === label)?.description ?? '';
    el('tbody', '', this.table);
  }

  render(ctx: AnalysisContext): void {
    const body = this.table.tBodies[0];
    body.replaceChildren();
    for (const layer of [...ctx.layers.keys()].sort((a, b) => a - b)) {
      const heads = Array.from({ length: ctx.layers.get(layer)!.heads }, (_, h) => exactOrComputed(ctx, layer, h));
      let focused = 0;
      for (let h = 1; h < heads.length; h++) if (heads[h].entropy < heads[focused].entropy) focused = h;
      const tr = el('tr', '', body);
      tr.dataset.layer = String(layer);
      el('th', '', tr, `L${layer}`);
      el('td', '', tr, String(heads.length)).dataset.key = 'heads';
      for (const { key } of STATS) {
        const mean = heads.reduce((a, s) => a + s[key], 0) / heads.length;
        el('td', '', tr, Number.isFinite(mean) ? mean.toFixed(4) : '–').dataset.key = key;
      }
      // The head cell of the statistics table: a button that opens the head.
      const link = headRow(layer, focused, this.openHead).firstElementChild!;
      link.setAttribute('data-key', 'focused');
      tr.appendChild(link);
    }
  }
}
