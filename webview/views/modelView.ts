/**
 * BertViz's model view: a small line view for every layer × head, each in its head's colour,
 * so a whole model's heads read at a glance (previous-token diagonals, sinks, diffuse heads).
 * Canvas, not SVG: a 32 × 32-head model has a thousand of them. Drawn only while the section is
 * open; a layer is drawn when it arrives. Click a cell to select that head in the panel.
 */
import { headView, type LayerMaps } from '../layerMaps';
import { blockFor, headColor, headLines, lineOpacity, poolMap } from './headLines';

/** Rows a side in one small view: more would not be told apart at this size. */
export const CELL_ROWS = 24;
const CELL_W = 64;
const CELL_H = 80;
const FLOOR = 0.15;

export class ModelView {
  readonly el: HTMLDetailsElement;
  private readonly grid: HTMLElement;
  private readonly note: HTMLElement;
  private heads: number[] = [];
  private readonly maps = new Map<number, LayerMaps>();
  private selected: { layer: number; head: number } | undefined;

  constructor(
    parent: HTMLElement,
    private readonly onSelect: (layer: number, head: number) => void,
  ) {
    this.el = document.createElement('details');
    this.el.className = 'model-view-section';
    const summary = document.createElement('summary');
    summary.className = 'section-title';
    summary.textContent = 'Model view (every layer × head)';
    this.note = document.createElement('p');
    this.note.className = 'hint mv-note';
    this.grid = document.createElement('div');
    this.grid.className = 'mv-grid';
    this.grid.addEventListener('click', (e) => {
      const c = (e.target as Element).closest<HTMLCanvasElement>('canvas[data-layer]');
      if (c) this.onSelect(Number(c.dataset.layer), Number(c.dataset.head));
    });
    this.el.addEventListener('toggle', () => this.drawAll());
    this.el.append(summary, this.note, this.grid);
    parent.appendChild(this.el);
  }

  reset(heads: number[]): void {
    this.heads = heads;
    this.maps.clear();
    this.grid.replaceChildren();
    this.note.textContent = '';
    if (this.el.open) this.drawAll();
  }

  addLayer(m: LayerMaps): void {
    this.maps.set(m.layer, m);
    if (this.el.open) this.drawLayer(m.layer);
  }

  select(layer: number, head: number): void {
    this.selected = { layer, head };
    this.grid.querySelectorAll<HTMLCanvasElement>('canvas[data-layer]').forEach((c) => c.classList.toggle('selected', Number(c.dataset.layer) === layer && Number(c.dataset.head) === head));
  }

  private drawAll(): void {
    if (!this.el.open) return;
    this.grid.replaceChildren();
    const maxHeads = Math.max(0, ...this.heads.map((h) => h ?? 0));
    this.grid.style.gridTemplateColumns = `3em repeat(${maxHeads}, ${CELL_W}px)`;
    const corner = document.createElement('span');
    this.grid.appendChild(corner);
    for (let h = 0; h < maxHeads; h++) {
      const t = document.createElement('span');
      t.className = 'mv-label';
      t.textContent = `H${h}`;
      this.grid.appendChild(t);
    }
    this.heads.forEach((n, layer) => {
      const l = document.createElement('span');
      l.className = 'mv-label';
      l.textContent = `L${layer}`;
      this.grid.appendChild(l);
      for (let h = 0; h < maxHeads; h++) {
        if (h >= n) {
          this.grid.appendChild(document.createElement('span'));
          continue;
        }
        const c = document.createElement('canvas');
        c.width = CELL_W;
        c.height = CELL_H;
        c.dataset.layer = String(layer);
        c.dataset.head = String(h);
        c.title = `Layer ${layer} · head ${h}`;
        c.classList.toggle('selected', this.selected?.layer === layer && this.selected?.head === h);
        this.grid.appendChild(c);
      }
    });
    for (const layer of this.maps.keys()) this.drawLayer(layer);
  }

  private drawLayer(layer: number): void {
    const m = this.maps.get(layer);
    if (!m) return;
    const block = blockFor(Math.max(m.rows, m.cols), CELL_ROWS);
    let lineCount = 0;
    for (let h = 0; h < m.heads; h++) {
      const c = this.grid.querySelector<HTMLCanvasElement>(`canvas[data-layer="${layer}"][data-head="${h}"]`);
      const ctx = c?.getContext('2d');
      if (!c || !ctx) continue;
      const p = poolMap(headView(m, h), m.rows, m.cols, block, m.pool > 1 ? 'max' : 'mass');
      const lines = headLines(p, h, 1 / (p.cols * 10), p.cols);
      ctx.clearRect(0, 0, CELL_W, CELL_H);
      const rows = Math.max(p.rows, p.cols);
      const y = (i: number) => 4 + ((i + 0.5) * (CELL_H - 8)) / rows;
      ctx.strokeStyle = headColor(h);
      ctx.lineWidth = 1;
      for (const l of lines) {
        ctx.globalAlpha = lineOpacity(l.weight, FLOOR);
        ctx.beginPath();
        ctx.moveTo(6, y(l.query));
        ctx.lineTo(CELL_W - 6, y(l.key));
        ctx.stroke();
      }
      ctx.globalAlpha = 1;
      c.dataset.lines = String(lines.length);
      lineCount += lines.length;
    }
    const pooled = block * m.pool > 1 ? ` Lines join blocks of ${block * m.pool} tokens.` : '';
    this.note.textContent = `Opacity = ${FLOOR} + ${1 - FLOOR} × weight (minimum ${FLOOR}, so diffuse heads stay visible). Click a head to select it.${pooled}`;
    this.el.dataset.lines = String(lineCount);
  }
}
