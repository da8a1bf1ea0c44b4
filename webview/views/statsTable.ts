/**
 * The per-head statistics as a table: one row per head, a column per statistic; header buttons
 * sort (again: reverse), with aria-sort on the header cell; the head cell is a button that
 * opens the head. Values are shown to 4 decimals, the same figures as the heatmap's hover.
 */
import { STATS, type HeadStatsRow, type StatKey } from '../analysis/stats';
import { el, headRow } from './controls';
import type { OpenHead } from './view';

type SortKey = StatKey | 'layer';

export class StatsTable {
  private sortKey: SortKey = 'layer';
  private descending = false;
  private rows: HeadStatsRow[] = [];
  private readonly table: HTMLTableElement;
  private readonly body: HTMLTableSectionElement;
  private readonly headers = new Map<SortKey, HTMLTableCellElement>();

  constructor(parent: HTMLElement, private readonly openHead: OpenHead) {
    this.table = el('table', 'stats-table', parent);
    const caption = el('caption', '', this.table, 'Per-head statistics (mean over query rows). Click a column to sort.');
    caption.className = 'hint';
    const tr = el('tr', '', el('thead', '', this.table));
    const columns: [SortKey, string, string][] = [['layer', 'Head', 'layer, then head'], ...STATS.map((s) => [s.key, s.label, s.description] as [SortKey, string, string])];
    for (const [key, label, description] of columns) {
      const th = el('th', '', tr);
      th.scope = 'col';
      th.dataset.key = key;
      const b = el('button', 'sort-button', th, label);
      b.type = 'button';
      b.title = `Sort by ${description}`;
      b.addEventListener('click', () => this.sortBy(key));
      this.headers.set(key, th);
    }
    this.body = el('tbody', '', this.table);
  }

  private sortBy(key: SortKey): void {
    if (this.sortKey === key) this.descending = !this.descending;
    else {
      this.sortKey = key;
      // Statistics read best largest first; heads in their natural order.
      this.descending = key !== 'layer';
    }
    this.draw();
  }

  show(rows: HeadStatsRow[], topK: number): void {
    this.rows = rows;
    const sparsity = this.headers.get('sparsity')?.querySelector('button');
    if (sparsity) sparsity.textContent = `Top-${topK} mass`;
    this.draw();
  }

  private draw(): void {
    const key = this.sortKey;
    const sign = this.descending ? -1 : 1;
    const value = (r: HeadStatsRow) => (key === 'layer' ? r.layer * 1e4 + r.head : r[key]);
    // NaN (a figure a head has no rows for) sorts last either way.
    const sorted = [...this.rows].sort((a, b) => {
      const x = value(a);
      const y = value(b);
      if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) ? (Number.isNaN(y) ? 0 : 1) : -1;
      return sign * (x - y);
    });
    for (const [k, th] of this.headers) th.setAttribute('aria-sort', k === key ? (this.descending ? 'descending' : 'ascending') : 'none');
    this.body.replaceChildren(
      ...sorted.map((r) => {
        const tr = headRow(r.layer, r.head, (l, h) => this.openHead(l, h));
        for (const s of STATS) {
          const td = el('td', '', tr, Number.isFinite(r[s.key]) ? r[s.key].toFixed(4) : '–');
          td.dataset.key = s.key;
        }
        return tr;
      }),
    );
  }
}
