/**
 * BertViz's head view, for a chosen set of heads of the selected layer at once: every query
 * token (left) is linked to the keys it attends to (right), one line per (head, query, key) in
 * the head's colour. Hovering a token on either side keeps only its lines (left: where it looks
 * from; right: who attends to it); a click keeps that filter until the next click. Line opacity
 * has a floor so a diffuse head stays visible, and the legend says so. Past MAX_ROWS tokens the
 * lines join token blocks (webview/views/headLines.ts) and the drawing scrolls, so 512 tokens
 * stay readable. SVG styled by attributes only, so it exports as it looks.
 */
import { displayToken } from '../tokenStrip';
import { headView, type LayerMaps } from '../layerMaps';
import { blockFor, headColor, headLines, lineOpacity, poolMap, rowLabel, type HeadLine, type PooledMap } from './headLines';

/** Most rows a side: beyond it tokens are drawn as blocks. */
export const MAX_ROWS = 128;
const ROW = 16;
const TOP = 26;
const TEXT_W = 150;
const GAP = 200;
const WIDTH = 2 * TEXT_W + GAP + 20;
const SVG_NS = 'http://www.w3.org/2000/svg';

export interface HeadViewSource {
  layer: number;
  head: number;
  maps: LayerMaps;
  queryTokens: string[];
  keyTokens: string[];
}

type Side = 'query' | 'key';

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, parent: Element): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  parent.appendChild(e);
  return e;
}

function short(s: string, n = 20): string {
  const d = displayToken(s);
  return d.length > n ? d.slice(0, n - 1) + '…' : d;
}

function numberInput(cls: string, value: string, min: string, max: string, step: string): HTMLInputElement {
  const i = document.createElement('input');
  i.type = 'number';
  i.className = cls;
  Object.assign(i, { value, min, max, step });
  return i;
}

export class HeadView {
  readonly el: HTMLElement;
  readonly svgEl: SVGSVGElement;
  private readonly heads: HTMLElement;
  private readonly floor: HTMLInputElement;
  private readonly perRow: HTMLInputElement;
  private readonly legend: HTMLElement;
  private src: HeadViewSource | undefined;
  /** Heads the user ticked; undefined: follow the selected head. */
  private chosen: Set<number> | undefined;
  private perRowTouched = false;
  private pinned: { side: Side; index: number } | undefined;
  private lines: SVGLineElement[] = [];

  constructor(parent: HTMLElement) {
    this.el = document.createElement('section');
    this.el.className = 'head-view-section';
    const title = document.createElement('h2');
    title.className = 'section-title';
    title.textContent = 'Head view';
    const hint = document.createElement('p');
    hint.className = 'hint';
    hint.textContent = 'Tick heads to overlay them. Hover a token on either side to keep its lines (left: where it looks; right: who looks at it); click to keep the filter.';
    this.heads = document.createElement('div');
    this.heads.className = 'hv-heads';
    this.heads.addEventListener('change', () => this.readChosen());
    const controls = document.createElement('div');
    controls.className = 'line-controls hv-controls';
    const all = document.createElement('button');
    all.className = 'hv-all';
    all.textContent = 'all heads';
    all.addEventListener('click', () => this.choose(this.src ? Array.from({ length: this.src.maps.heads }, (_, h) => h) : []));
    const one = document.createElement('button');
    one.className = 'hv-one';
    one.textContent = 'selected head only';
    one.addEventListener('click', () => {
      this.chosen = undefined;
      this.draw();
    });
    this.floor = numberInput('hv-floor', '0.1', '0', '1', '0.05');
    this.floor.addEventListener('input', () => this.draw());
    this.perRow = numberInput('hv-perrow', '8', '1', '100000', '1');
    this.perRow.addEventListener('input', () => {
      this.perRowTouched = true;
      this.draw();
    });
    const floorLabel = document.createElement('label');
    floorLabel.append('minimum opacity ', this.floor);
    const perRowLabel = document.createElement('label');
    perRowLabel.append('lines per token ', this.perRow);
    controls.append(all, one, floorLabel, perRowLabel);
    this.legend = document.createElement('p');
    this.legend.className = 'hint hv-legend';
    const scroll = document.createElement('div');
    scroll.className = 'hv-scroll';
    this.svgEl = document.createElementNS(SVG_NS, 'svg');
    this.svgEl.classList.add('head-view');
    this.svgEl.setAttribute('role', 'img');
    this.svgEl.addEventListener('mouseover', (e) => {
      const t = (e.target as Element).closest('[data-side]');
      if (t) this.filter(t.getAttribute('data-side') as Side, Number(t.getAttribute('data-index')));
    });
    this.svgEl.addEventListener('mouseleave', () => this.filter(this.pinned?.side, this.pinned?.index));
    this.svgEl.addEventListener('click', (e) => {
      const t = (e.target as Element).closest('[data-side]');
      if (!t) return;
      const side = t.getAttribute('data-side') as Side;
      const index = Number(t.getAttribute('data-index'));
      this.pinned = this.pinned && this.pinned.side === side && this.pinned.index === index ? undefined : { side, index };
      this.filter(this.pinned?.side ?? side, this.pinned?.index ?? index);
    });
    scroll.appendChild(this.svgEl);
    this.el.append(title, hint, this.heads, controls, this.legend, scroll);
    parent.appendChild(this.el);
  }

  show(src: HeadViewSource | undefined): void {
    const layerChanged = !src || !this.src || src.layer !== this.src.layer || src.maps !== this.src.maps;
    this.src = src;
    if (layerChanged) this.pinned = undefined;
    if (src && !this.perRowTouched) this.perRow.value = String(Math.max(src.maps.queries, src.maps.keys) <= 48 ? Math.max(src.maps.queries, src.maps.keys) : 8);
    this.draw();
  }

  /** The heads drawn now: the ticked ones, or the selected head. */
  shownHeads(): number[] {
    const src = this.src;
    if (!src) return [];
    const set = this.chosen ? [...this.chosen] : [src.head];
    return set.filter((h) => h < src.maps.heads).sort((a, b) => a - b);
  }

  private choose(heads: number[]): void {
    this.chosen = new Set(heads);
    this.draw();
  }

  private readChosen(): void {
    const ticked = [...this.heads.querySelectorAll<HTMLInputElement>('input[data-head]')].filter((i) => i.checked).map((i) => Number(i.dataset.head));
    this.choose(ticked);
  }

  private renderHeadChips(): void {
    const src = this.src;
    this.heads.replaceChildren();
    if (!src) return;
    const shown = new Set(this.shownHeads());
    for (let h = 0; h < src.maps.heads; h++) {
      const label = document.createElement('label');
      label.className = 'hv-head';
      label.style.borderColor = headColor(h);
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.dataset.head = String(h);
      box.checked = shown.has(h);
      const swatch = document.createElement('span');
      swatch.className = 'hv-swatch';
      swatch.style.background = headColor(h);
      label.append(box, swatch, ` ${h}`);
      label.title = `Head ${h}`;
      this.heads.appendChild(label);
    }
  }

  private pooled(head: number): PooledMap {
    const m = this.src!.maps;
    const block = blockFor(Math.max(m.rows, m.cols), MAX_ROWS);
    // Cells of a pooled capture are block maxima already: pool them further the same way.
    const p = poolMap(headView(m, head), m.rows, m.cols, block, m.pool > 1 ? 'max' : 'mass');
    return { ...p, block: p.block * m.pool };
  }

  private draw(): void {
    this.svgEl.replaceChildren();
    this.lines = [];
    this.renderHeadChips();
    const src = this.src;
    if (!src) {
      this.legend.textContent = '';
      this.svgEl.setAttribute('height', '0');
      return;
    }
    const floor = Math.min(1, Math.max(0, Number(this.floor.value) || 0));
    const perRow = Math.max(1, Math.floor(Number(this.perRow.value) || 1));
    const heads = this.shownHeads();
    const maps = heads.map((h) => this.pooled(h));
    const first = maps[0] ?? this.pooled(src.head);
    const lines: HeadLine[] = [];
    // A line under 1/(keys × 20) is invisible at any useful width: skipped.
    const minWeight = 1 / (first.cols * 20);
    maps.forEach((p, i) => lines.push(...headLines(p, heads[i], minWeight, perRow)));
    const blocks = first.block > 1 ? ` Tokens are drawn in blocks of ${first.block}: a line is the ${first.mode === 'mass' ? "mean over the block's queries of the weight they give the key block" : 'largest weight between the two blocks (the capture was pooled)'}.` : '';
    this.legend.textContent =
      `Layer ${src.layer} · heads ${heads.join(', ') || 'none'} · opacity = ${floor} + ${(1 - floor).toFixed(2)} × weight (minimum opacity ${floor}, so diffuse heads stay visible); ` +
      `at most ${perRow} lines per query token, weights under ${minWeight.toPrecision(2)} not drawn.${blocks}`;
    this.render(src, first, lines, floor);
    this.filter(this.pinned?.side, this.pinned?.index);
  }

  private render(src: HeadViewSource, p: PooledMap, lines: HeadLine[], floor: number): void {
    const style = getComputedStyle(document.body);
    const fg = style.getPropertyValue('--vscode-foreground').trim() || style.color || '#ccc';
    const font = style.getPropertyValue('--vscode-font-family').trim() || 'sans-serif';
    const rows = Math.max(p.rows, p.cols);
    const height = TOP + rows * ROW + 8;
    const s = this.svgEl;
    Object.entries({ width: WIDTH, height, viewBox: `0 0 ${WIDTH} ${height}`, 'aria-label': this.legend.textContent ?? '' }).forEach(([k, v]) => s.setAttribute(k, String(v)));
    const y = (i: number) => TOP + i * ROW + ROW / 2;
    const xl = TEXT_W + 8;
    const xr = TEXT_W + GAP + 12;
    const head = { fill: fg, 'font-family': font, 'font-size': 11, 'font-weight': 600 };
    svg('text', { ...head, x: TEXT_W, y: 14, 'text-anchor': 'end' }, s).textContent = 'query';
    svg('text', { ...head, x: xr, y: 14 }, s).textContent = 'key';
    const g = svg('g', { class: 'hv-lines' }, s);
    for (const l of lines) {
      const line = svg('line', { class: 'hv-line', x1: xl, y1: y(l.query), x2: xr - 6, y2: y(l.key), stroke: headColor(l.head), 'stroke-width': 2, 'stroke-opacity': lineOpacity(l.weight, floor).toFixed(4) }, g);
      line.dataset.head = String(l.head);
      line.dataset.query = String(l.query);
      line.dataset.key = String(l.key);
      line.dataset.weight = String(l.weight);
      this.lines.push(line);
    }
    const column = (side: Side, tokens: string[], n: number, count: number, x: number, anchor: string) => {
      for (let i = 0; i < count; i++) {
        const t = svg('text', { x, y: y(i) + 4, 'text-anchor': anchor, fill: fg, 'font-family': font, 'font-size': 12, cursor: 'pointer', class: `hv-token hv-${side}` }, s);
        t.dataset.side = side;
        t.dataset.index = String(i);
        const label = rowLabel(tokens, i, p.block, n);
        t.textContent = short(label);
        svg('title', {}, t).textContent = p.block === 1 ? `#${i} ${JSON.stringify(tokens[i])}` : label;
      }
    };
    column('query', src.queryTokens, src.maps.queries, p.rows, TEXT_W, 'end');
    column('key', src.keyTokens, src.maps.keys, p.cols, xr, 'start');
  }

  /** Keeps only the lines of token `index` on `side` (undefined: all lines). */
  private filter(side: Side | undefined, index: number | undefined): void {
    const attr = side === 'query' ? 'query' : 'key';
    for (const l of this.lines) {
      const keep = side === undefined || Number(l.dataset[attr]) === index;
      if (keep) l.removeAttribute('visibility');
      else l.setAttribute('visibility', 'hidden');
    }
    this.svgEl.querySelectorAll<SVGTextElement>('text[data-side]').forEach((t) => {
      const on = side !== undefined && t.dataset.side === side && Number(t.dataset.index) === index;
      t.setAttribute('font-weight', on ? '700' : '400');
      t.classList.toggle('hv-active', on);
    });
    this.svgEl.dataset.filter = side === undefined ? '' : `${side}:${index}`;
  }
}
