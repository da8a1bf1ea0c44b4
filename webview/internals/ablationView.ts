/**
 * Head importance by ablation: the layer × head heatmap of KL(p_full ‖ p_ablated) (or the
 * relative L2 change of the last hidden state for encoders), a table sortable by effect, and a
 * click on either that opens the head in the panel.
 */
import type { AblationData } from '../../protocol/internals';
import { el, headRow } from '../views/controls';
import { drawGrid } from '../views/matrixPlot';
import type { OpenHead } from '../views/view';

export class AblationView {
  private listening = false;
  private descending = true;
  private data: AblationData | undefined;
  private readonly plot: HTMLElement;
  private readonly note: HTMLElement;
  private readonly table: HTMLTableElement;
  private readonly body: HTMLTableSectionElement;
  private readonly effectHeader: HTMLTableCellElement;

  constructor(parent: HTMLElement, private readonly openHead: OpenHead) {
    this.note = el('p', 'hint ablation-note', parent);
    this.plot = el('div', 'ablation-plot', parent);
    this.table = el('table', 'stats-table ablation-table', parent);
    const tr = el('tr', '', el('thead', '', this.table));
    el('th', '', tr, 'Head').scope = 'col';
    this.effectHeader = el('th', '', tr);
    this.effectHeader.scope = 'col';
    const b = el('button', 'sort-button', this.effectHeader, 'Effect');
    b.type = 'button';
    b.title = 'Sort by the effect of removing the head (again: reverse)';
    b.addEventListener('click', () => {
      this.descending = !this.descending;
      this.drawTable();
    });
    this.body = el('tbody', '', this.table);
    this.table.hidden = true;
  }

  clear(): void {
    this.data = undefined;
    this.note.textContent = '';
    this.plot.replaceChildren();
    this.table.hidden = true;
  }

  async show(d: AblationData): Promise<void> {
    this.data = d;
    const unit = d.metric === 'kl' ? 'KL (nats)' : 'relative L2';
    this.note.textContent = `${d.metric === 'kl' ? `KL(p_full ‖ p_ablated) of the next-token distribution at position ${d.position}` : 'relative L2 change of the last hidden state'}, each head's slice set to zero before the output projection. ${d.notes.join(' ')}`;
    const heads = Math.max(...d.layers.map((r) => r.length));
    const max = Math.max(1e-12, ...d.layers.flat());
    const gd = await drawGrid(this.plot, {
      z: d.layers.map((r) => Array.from({ length: heads }, (_, h) => r[h] ?? null)),
      xLabels: Array.from({ length: heads }, (_, h) => `H${h}`),
      yLabels: d.layers.map((_, l) => `L${l}`),
      hover: d.layers.map((r, l) => Array.from({ length: heads }, (_, h) => `L${l} H${h}<br>${unit}: ${(r[h] ?? NaN).toExponential(3)}`)),
      title: `Head ablation: ${unit}`,
      xTitle: 'head',
      yTitle: 'layer',
      weights: false,
      zmin: 0,
      zmax: max,
      colorbarTitle: unit,
    });
    if (!this.listening) {
      this.listening = true;
      gd.on('plotly_click', (ev) => {
        const pt = (ev.points as { x: number; y: number }[] | undefined)?.[0];
        if (pt) this.openHead(pt.y, pt.x);
      });
    }
    this.effectHeader.querySelector('button')!.textContent = unit;
    this.table.hidden = false;
    this.drawTable();
  }

  private drawTable(): void {
    const d = this.data;
    if (!d) return;
    const rows = d.layers.flatMap((r, layer) => r.map((v, head) => ({ layer, head, v })));
    rows.sort((a, b) => (this.descending ? b.v - a.v : a.v - b.v));
    this.effectHeader.setAttribute('aria-sort', this.descending ? 'descending' : 'ascending');
    this.body.replaceChildren(
      ...rows.map((r) => {
        const tr = headRow(r.layer, r.head, (l, h) => this.openHead(l, h));
        el('td', '', tr, r.v.toExponential(3));
        return tr;
      }),
    );
  }
}
