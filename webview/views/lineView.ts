/**
 * BertViz's line view for one head: query tokens on the left, key tokens on the right, and a
 * line from the selected token to each token it is linked with, its opacity the attention
 * weight. Click a token on either side to select it (left: where this query looks; right: who
 * looks at this key). Past a screenful of tokens only a range of MAX_ROWS tokens is drawn, and
 * of the selected token's weights inside that range only the top k, with the weight left
 * outside the range stated. SVG styled by attributes only, so it exports as it looks.
 */
import { displayToken } from '../tokenStrip';
import type { LayerMaps } from '../layerMaps';
import { headView } from '../layerMaps';

export const MAX_ROWS = 40;
const ROW = 20;
const TOP = 30;
const TEXT_W = 150;
const GAP = 170;
const WIDTH = 2 * TEXT_W + GAP + 20;
const LINE_COLOR = '#f0a030';
const SVG_NS = 'http://www.w3.org/2000/svg';

export type LineSide = 'query' | 'key';

export interface LineSource {
  layer: number;
  head: number;
  maps: LayerMaps;
  queryTokens: string[];
  keyTokens: string[];
}

export interface Line {
  query: number;
  key: number;
  weight: number;
}

/**
 * The k largest weights linking token `index` on `side` to the other side's tokens in [lo, hi),
 * largest first (ties: lower index first). map is [rows, cols], queries by keys.
 */
export function topLines(map: ArrayLike<number>, rows: number, cols: number, side: LineSide, index: number, k: number, lo: number, hi: number): Line[] {
  const lines: Line[] = [];
  const other = side === 'query' ? cols : rows;
  for (let j = Math.max(0, lo); j < Math.min(hi, other); j++) {
    const [q, key] = side === 'query' ? [index, j] : [j, index];
    lines.push({ query: q, key, weight: map[q * cols + key] });
  }
  lines.sort((a, b) => b.weight - a.weight || (side === 'query' ? a.key - b.key : a.query - b.query));
  return lines.slice(0, Math.max(0, k));
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, parent: Element): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  parent.appendChild(e);
  return e;
}

function short(s: string, n = 18): string {
  const d = displayToken(s);
  return d.length > n ? d.slice(0, n - 1) + '…' : d;
}

export class LineView {
  readonly svgEl: SVGSVGElement;
  private readonly note: HTMLElement;
  private readonly topK: HTMLInputElement;
  private readonly earlier: HTMLButtonElement;
  private readonly later: HTMLButtonElement;
  private src: LineSource | undefined;
  private side: LineSide = 'query';
  private index = -1;
  private lo = 0;

  constructor(parent: HTMLElement) {
    const controls = document.createElement('div');
    controls.className = 'line-controls';
    const label = document.createElement('label');
    label.textContent = 'top k ';
    this.topK = document.createElement('input');
    this.topK.type = 'number';
    this.topK.min = '1';
    this.topK.value = '5';
    this.topK.className = 'lv-topk';
    this.topK.addEventListener('input', () => this.draw());
    label.appendChild(this.topK);
    this.earlier = document.createElement('button');
    this.earlier.className = 'lv-earlier';
    this.earlier.textContent = '◀ earlier tokens';
    this.earlier.addEventListener('click', () => this.shift(-MAX_ROWS / 2));
    this.later = document.createElement('button');
    this.later.className = 'lv-later';
    this.later.textContent = 'later tokens ▶';
    this.later.addEventListener('click', () => this.shift(MAX_ROWS / 2));
    controls.append(label, this.earlier, this.later);
    this.note = document.createElement('p');
    this.note.className = 'hint line-note';
    this.svgEl = document.createElementNS(SVG_NS, 'svg');
    this.svgEl.classList.add('line-view');
    this.svgEl.setAttribute('role', 'img');
    this.svgEl.addEventListener('click', (e) => {
      const t = (e.target as Element).closest('[data-side]');
      if (t) this.select(t.getAttribute('data-side') as LineSide, Number(t.getAttribute('data-index')));
    });
    parent.append(controls, this.note, this.svgEl);
  }

  show(src: LineSource | undefined): void {
    this.src = src;
    if (src) {
      const n = this.side === 'query' ? src.maps.queries : src.maps.keys;
      // A causal model's last query sees every key: the most telling default.
      if (this.index < 0 || this.index >= n) this.select('query', src.maps.queries - 1);
      else this.draw();
    } else this.draw();
  }

  /** Selects a token and scrolls the range to it. */
  select(side: LineSide, index: number): void {
    this.side = side;
    this.index = index;
    const n = this.src ? Math.max(this.src.maps.queries, this.src.maps.keys) : 0;
    if (index < this.lo || index >= this.lo + MAX_ROWS) this.lo = Math.max(0, Math.min(index - MAX_ROWS / 2, n - MAX_ROWS));
    this.draw();
  }

  private shift(by: number): void {
    const src = this.src;
    if (!src) return;
    const n = Math.max(src.maps.queries, src.maps.keys);
    this.lo = Math.min(Math.max(0, n - MAX_ROWS), Math.max(0, this.lo + by));
    this.draw();
  }

  private draw(): void {
    this.svgEl.replaceChildren();
    const src = this.src;
    if (!src) {
      this.note.textContent = '';
      return;
    }
    const m = src.maps;
    if (m.pool > 1) {
      this.note.textContent = `The line view needs one map cell per token; this capture was pooled ${m.pool}× to fit the memory budget. Zoom into the heatmap instead.`;
      this.svgEl.setAttribute('height', '0');
      return;
    }
    const n = Math.max(m.queries, m.keys);
    const lo = Math.min(this.lo, Math.max(0, n - MAX_ROWS));
    const hi = Math.min(n, lo + MAX_ROWS);
    const k = Math.max(1, Math.floor(Number(this.topK.value) || 5));
    const map = headView(m, src.head);
    const lines = topLines(map, m.rows, m.cols, this.side, this.index, k, lo, hi);
    let total = 0;
    const other = this.side === 'query' ? m.keys : m.queries;
    for (let j = 0; j < other; j++) total += this.side === 'query' ? map[this.index * m.cols + j] : map[j * m.cols + this.index];
    let inside = 0;
    for (let j = lo; j < Math.min(hi, other); j++) inside += this.side === 'query' ? map[this.index * m.cols + j] : map[j * m.cols + this.index];
    this.earlier.disabled = lo === 0;
    this.later.disabled = hi >= n;
    const tokens = this.side === 'query' ? src.queryTokens : src.keyTokens;
    const who = `${this.side} #${this.index} "${displayToken(tokens[this.index] ?? '')}"`;
    const range = n > MAX_ROWS ? ` Tokens #${lo}–#${hi - 1} of ${n}; weight outside them: ${(total - inside).toFixed(3)}.` : '';
    this.note.textContent = `Layer ${src.layer} · head ${src.head} · ${who}: top ${lines.length} lines, opacity = weight.${range} Click a token to select it.`;
    this.render(src, lines, lo, hi);
  }

  private render(src: LineSource, lines: Line[], lo: number, hi: number): void {
    const style = getComputedStyle(document.body);
    const fg = style.getPropertyValue('--vscode-foreground').trim() || style.color || '#ccc';
    const font = style.getPropertyValue('--vscode-font-family').trim() || 'sans-serif';
    const height = TOP + (hi - lo) * ROW + 8;
    const s = this.svgEl;
    s.setAttribute('width', String(WIDTH));
    s.setAttribute('height', String(height));
    s.setAttribute('viewBox', `0 0 ${WIDTH} ${height}`);
    s.setAttribute('aria-label', this.note.textContent ?? '');
    const y = (i: number) => TOP + (i - lo) * ROW + ROW / 2;
    const xl = TEXT_W + 4;
    const xr = TEXT_W + GAP + 16;
    const head = { fill: fg, 'font-family': font, 'font-size': 11, 'font-weight': 600 };
    svg('text', { ...head, x: TEXT_W, y: 16, 'text-anchor': 'end' }, s).textContent = 'query';
    svg('text', { ...head, x: xr, y: 16 }, s).textContent = 'key';
    const g = svg('g', { class: 'lv-lines' }, s);
    for (const l of lines) {
      const line = svg('line', { class: 'lv-line', x1: xl + 4, y1: y(l.query), x2: xr - 6, y2: y(l.key), stroke: LINE_COLOR, 'stroke-width': 2, 'stroke-linecap': 'round' }, g);
      line.setAttribute('stroke-opacity', String(l.weight));
      line.dataset.query = String(l.query);
      line.dataset.key = String(l.key);
      line.dataset.weight = String(l.weight);
      svg('title', {}, line).textContent = `query #${l.query} → key #${l.key}: ${l.weight.toFixed(4)}`;
    }
    const column = (side: LineSide, tokens: string[], x: number, anchor: string) => {
      for (let i = lo; i < Math.min(hi, tokens.length); i++) {
        const selected = side === this.side && i === this.index;
        const t = svg('text', { x, y: y(i) + 4, 'text-anchor': anchor, fill: selected ? LINE_COLOR : fg, 'font-family': font, 'font-size': 12, 'font-weight': selected ? 700 : 400, cursor: 'pointer', class: `lv-token lv-${side}` }, s);
        t.dataset.side = side;
        t.dataset.index = String(i);
        t.textContent = short(tokens[i]);
        svg('title', {}, t).textContent = `#${i} ${JSON.stringify(tokens[i])}`;
      }
    };
    column('query', src.queryTokens, TEXT_W, 'end');
    column('key', src.keyTokens, xr, 'start');
  }
}
