/**
 * Head-type labels in the Attention panel: a badge on each thumbnail of the grid naming the
 * head's strongest type (previous-token, duplicate-token, induction, sink; scores and
 * thresholds of common/headScores.ts) and a "Type" column in the statistics table.
 * Scored from the maps the panel holds, so only at full resolution (pool 1) over the panel's
 * own tokens; pooled maps of long inputs get no labels rather than wrong ones.
 *
 * The badges are DOM elements over the canvas, not pixels in it: the thumbnails stay exactly
 * colorScale(weight). Both decorations follow their hosts by observation (the canvas's
 * data-geometry after each layout, the table's rows after each sort), so the grid and the
 * table need not know about head types.
 */
import { headTypes, scoreLayer, type HeadType } from '../../common/headScores';
import type { LayerMaps } from '../layerMaps';
import type { GridGeometry } from '../thumbnailGrid';

const SHORT: Record<HeadType, string> = { 'previous-token': 'prev', 'duplicate-token': 'dup', induction: 'ind', sink: 'sink' };

export class GridHeadTypes {
  private ids: number[] = [];
  private readonly types = new Map<number, HeadType[][]>();
  private readonly overlay: HTMLDivElement;

  constructor(
    gridHost: HTMLElement,
    private readonly canvas: HTMLCanvasElement,
    private readonly tableRoot: HTMLElement,
  ) {
    this.overlay = document.createElement('div');
    this.overlay.className = 'head-type-badges';
    Object.assign(this.overlay.style, { position: 'absolute', left: '0', top: '0', pointerEvents: 'none' });
    if (getComputedStyle(gridHost).position === 'static') gridHost.style.position = 'relative';
    gridHost.appendChild(this.overlay);
    new MutationObserver(() => this.drawBadges()).observe(canvas, { attributes: true, attributeFilter: ['data-geometry'] });
    new MutationObserver(() => this.decorateTable()).observe(tableRoot, { childList: true, subtree: true });
  }

  reset(ids: number[]): void {
    this.ids = ids;
    this.types.clear();
    this.drawBadges();
  }

  addLayer(m: LayerMaps): void {
    const n = this.ids.length;
    if (m.pool !== 1 || m.rows !== n || m.cols !== n) return;
    this.types.set(m.layer, headTypes(scoreLayer({ heads: m.heads, queries: n, keys: n, data: m.data }, this.ids)));
    this.drawBadges();
    this.decorateTable();
  }

  /** Types of one head, strongest first ('' when none clears its threshold or it was not scored). */
  typesOf(layer: number, head: number): string {
    return this.types.get(layer)?.[head]?.join(', ') ?? '';
  }

  private drawBadges(): void {
    const raw = this.canvas.dataset.geometry;
    this.overlay.replaceChildren();
    if (!raw) return;
    const g = JSON.parse(raw) as GridGeometry;
    Object.assign(this.overlay.style, { left: `${this.canvas.offsetLeft}px`, top: `${this.canvas.offsetTop}px` });
    for (const [layer, heads] of this.types) {
      heads.forEach((t, head) => {
        if (t.length === 0) return;
        const b = document.createElement('span');
        b.className = 'head-type-badge';
        b.dataset.layer = String(layer);
        b.dataset.head = String(head);
        b.dataset.type = t[0];
        b.title = t.join(', ');
        b.textContent = SHORT[t[0]];
        const x = (g.left + head * (g.cell + g.gap)) / g.dpr;
        const y = (g.top + (layer + 1) * (g.cell + g.gap) - g.gap) / g.dpr;
        Object.assign(b.style, {
          position: 'absolute', left: `${x}px`, top: `${y}px`, transform: 'translateY(-100%)',
          font: '9px sans-serif', lineHeight: '11px', padding: '0 2px', color: '#fff', background: 'rgba(0,0,0,0.6)',
        });
        this.overlay.appendChild(b);
      });
    }
  }

  private decorating = false;

  /** Adds the Type column to the statistics table (rows carry data-layer / data-head). */
  private decorateTable(): void {
    if (this.decorating) return;
    this.decorating = true;
    try {
      for (const table of this.tableRoot.querySelectorAll<HTMLTableElement>('table.stats-table')) {
        const head = table.tHead?.rows[0];
        if (head && !head.querySelector('th.head-type-col')) {
          const th = document.createElement('th');
          th.className = 'head-type-col';
          th.scope = 'col';
          th.textContent = 'Type';
          th.title = 'head types on this text (previous-token, duplicate-token, induction, sink above 0.3)';
          head.appendChild(th);
        }
        for (const tr of table.tBodies[0]?.rows ?? []) {
          let td = tr.querySelector<HTMLTableCellElement>('td.head-type');
          if (!td) {
            td = document.createElement('td');
            td.className = 'head-type';
            tr.appendChild(td);
          }
          const text = this.typesOf(Number(tr.dataset.layer), Number(tr.dataset.head));
          if (td.textContent !== text) td.textContent = text;
        }
      }
    } finally {
      this.decorating = false;
    }
  }
}
