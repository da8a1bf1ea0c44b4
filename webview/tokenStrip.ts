/**
 * The tokens of the inspected text. Hovering (or focusing) a token makes it the query: every
 * token's background then shows the weight the selected head gives it from that query, in the
 * panel's colour scale, so what a head attends to reads directly on the text. Keyboard: one tab
 * stop (roving tabindex), Left/Right/Home/End move and preview like hover, Enter keeps the
 * token as the query (class 'pinned') after the pointer or focus leaves, Escape clears it.
 */
import { colorScale, rgbCss } from './colorScale';

/** What a tokenizer's markers mean on screen: BPE/SentencePiece spaces and newlines. */
export function displayToken(t: string): string {
  return t.replace(/^[Ġ▁]/, '\u00a0').replace(/Ċ|\n/g, '↵').replace(/ĉ|\t/g, '⇥');
}

export class TokenStrip {
  private spans: HTMLSpanElement[] = [];
  private weightsOf: ((query: number) => Float32Array | undefined) | undefined;
  /** Column of the selected head: the weight every query gives key `k` (CircuitsVis' "attended to by"). */
  private attendedBy: ((key: number) => Float32Array | undefined) | undefined;
  /** 'from': a hovered token is the query; 'to': it is the key, and the strip shows who attends to it. */
  private direction: 'from' | 'to' = 'from';
  /** Told which token the pointer or keyboard is on in the strip (undefined: none). */
  private pointedListener: ((index: number | undefined, direction: 'from' | 'to') => void) | undefined;
  private query: number | undefined;
  /** The query chosen with Enter: shown whenever nothing is hovered. */
  private pinned: number | undefined;

  constructor(private readonly el: HTMLElement) {
    el.classList.add('token-strip');
    el.addEventListener('mouseover', (e) => this.onPoint(e.target));
    el.addEventListener('focusin', (e) => this.onPoint(e.target));
    el.addEventListener('mouseleave', () => {
      this.highlight(this.pinned);
      this.pointedListener?.(this.pinned, this.direction);
    });
    el.addEventListener('focusout', (e) => {
      if (!el.contains(e.relatedTarget as Node | null)) this.highlight(this.pinned);
    });
    el.setAttribute('role', 'toolbar');
    el.setAttribute('aria-label', 'Tokens: arrow keys move, Enter makes a token the query, Escape clears');
    el.addEventListener('keydown', (e) => this.onKey(e));
  }

  setTokens(tokens: string[]): void {
    this.el.replaceChildren();
    this.spans = tokens.map((t, i) => {
      const s = document.createElement('span');
      s.className = 'token';
      s.setAttribute('role', 'button');
      s.textContent = displayToken(t);
      s.dataset.index = String(i);
      s.tabIndex = -1;
      s.title = `#${i} ${JSON.stringify(t)}`;
      this.el.appendChild(s);
      return s;
    });
    if (this.spans[0]) this.spans[0].tabIndex = 0;
    this.query = undefined;
    this.pinned = undefined;
  }

  /** Sets where weights come from: a row of the selected head (length = token count). */
  setSource(weightsOf: ((query: number) => Float32Array | undefined) | undefined, attendedBy?: (key: number) => Float32Array | undefined): void {
    this.weightsOf = weightsOf;
    this.attendedBy = weightsOf ? attendedBy : undefined;
    this.highlight(this.query);
  }

  /** What a hovered token stands for: the query ('from') or the key ('to'). */
  setDirection(d: 'from' | 'to'): void {
    this.direction = d;
    this.el.dataset.direction = d;
    this.highlight(this.query);
  }

  getDirection(): 'from' | 'to' {
    return this.direction;
  }

  /** A hovered heatmap cell: its query (looks from) or its key (attended by), per direction. */
  hoverCell(query: number | undefined, key: number | undefined): void {
    this.highlight(this.direction === 'to' ? key : query);
  }

  /** Roving focus: one tab stop for the strip, arrow keys walk the tokens. */
  private onKey(e: KeyboardEvent): void {
    const at = (e.target as HTMLElement | null)?.dataset?.index;
    if (e.key === 'Enter' && at !== undefined) {
      e.preventDefault();
      this.pin(Number(at));
      return;
    }
    if (e.key === 'Escape') {
      e.preventDefault();
      this.pin(undefined);
      return;
    }
    const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : e.key === 'Home' ? -Infinity : e.key === 'End' ? Infinity : 0;
    if (!step || this.spans.length === 0) return;
    e.preventDefault();
    const from = at !== undefined ? Number(at) : (this.query ?? 0);
    const to = Math.min(this.spans.length - 1, Math.max(0, Number.isFinite(step) ? from + step : step < 0 ? 0 : this.spans.length - 1));
    for (const s of this.spans) s.tabIndex = -1;
    this.spans[to].tabIndex = 0;
    this.spans[to].focus();
  }

  /** Keeps token `q` as the query (undefined: none). */
  pin(q: number | undefined): void {
    this.pinned = q;
    this.spans.forEach((s, k) => {
      s.classList.toggle('pinned', k === q);
      s.setAttribute('aria-pressed', String(k === q));
    });
    this.highlight(q);
  }

  pinnedQuery(): number | undefined {
    return this.pinned;
  }

  private onPoint(target: EventTarget | null): void {
    const i = (target as HTMLElement | null)?.dataset?.index;
    if (i === undefined) return;
    this.highlight(Number(i));
    this.pointedListener?.(Number(i), this.direction);
  }

  /** Linking views: `cb` hears of the token pointed at in the strip (not of heatmap hovers). */
  whenPointed(cb: (index: number | undefined, direction: 'from' | 'to') => void): void {
    this.pointedListener = cb;
  }

  /** Paints the weights from query `q` (undefined: from the pinned query, or clears the strip). */
  highlight(hovered: number | undefined): void {
    const q = hovered ?? this.pinned;
    this.query = q;
    const row = q === undefined ? undefined : this.direction === 'to' ? this.attendedBy?.(q) : this.weightsOf?.(q);
    this.spans.forEach((s, k) => {
      s.classList.toggle('query', k === q);
      if (!row) {
        s.style.removeProperty('background-color');
        s.style.removeProperty('color');
        s.removeAttribute('data-weight');
        return;
      }
      const w = row[k] ?? 0;
      const rgb = colorScale(w);
      s.style.backgroundColor = rgbCss(rgb);
      // Dark text on the light (yellow/green) end of the scale, light text on the dark end.
      const lum = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
      s.style.color = lum > 140 ? '#000' : '#fff';
      s.dataset.weight = w.toFixed(4);
    });
  }
}
