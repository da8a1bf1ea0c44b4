/**
 * Attention sinks: per layer, the keys that receive the most attention mass (mean over the
 * layer's heads and its query rows), with each key's share of the layer's mass, and the head that
 * puts the most mass on the strongest sink, which opens on click. Answers "which tokens soak up
 * attention" (a first token or a punctuation mark taking most of it is common and hides what the
 * other keys get) before any map is read. Self-attention layers only: a cross-attention layer's
 * keys are another text's tokens. Pooled maps that carry the runtime's mass per token (computed
 * beside the probabilities at full resolution) give exact token-level sinks at any length; pooled
 * maps without it give shares of block maxima, as the caveat says.
 */
import type { Mat } from '../analysis/matrix';
import type { AnalysisContext } from './analysisContext';
import { el, headRow } from './controls';
import type { AnalysisView, OpenHead } from './view';

const TOP = 3;

/** Mean over query rows of each key column of a map. */
function keyMass(m: Mat): Float64Array {
  const out = new Float64Array(m.cols);
  for (let r = 0; r < m.rows; r++) for (let c = 0; c < m.cols; c++) out[c] += m.data[r * m.cols + c];
  for (let c = 0; c < m.cols; c++) out[c] /= m.rows;
  return out;
}

/** Mass one key column of a map receives, summed over query rows (one column, not every key's). */
function columnSum(m: Mat, c: number): number {
  let sum = 0;
  for (let r = 0; r < m.rows; r++) sum += m.data[r * m.cols + c];
  return sum;
}

/** Mass per key of one layer (mean over heads), what one head gives key i, and how keys are named. */
interface KeyMasses {
  mass: Float64Array;
  perHead: (head: number, i: number) => number;
  describe: (i: number) => string;
  index: (i: number) => number;
}

/** From the maps in hand (kept cells; block maxima when pooled). */
function fromMaps(ctx: AnalysisContext, layer: number): KeyMasses {
  return {
    mass: keyMass(ctx.aggregate(layer, 'mean')!),
    // Summed, not averaged, over rows: the same order over heads, one column read per head.
    perHead: (h, i) => columnSum(ctx.head(layer, h)!, i),
    describe: (i) => ctx.describe(i),
    index: (i) => ctx.index(i),
  };
}

/** From the runtime's [heads, keys] mass per token: exact, one entry per token of the text. */
function fromTokens(data: Float32Array, heads: number, keys: number, ctx: AnalysisContext): KeyMasses {
  const mass = new Float64Array(keys);
  for (let h = 0; h < heads; h++) for (let k = 0; k < keys; k++) mass[k] += data[h * keys + k] / heads;
  return { mass, perHead: (h, k) => data[h * keys + k], describe: (k) => ctx.describeToken(k), index: (k) => k };
}

export class SinksView implements AnalysisView {
  readonly id = 'sinks';
  readonly title = 'Attention sinks';
  private table!: HTMLTableElement;

  constructor(private readonly openHead: OpenHead) {}

  mount(host: HTMLElement): void {
    el('p', 'hint', host, `Per layer, the ${TOP} keys that receive the most attention (mean over heads and query rows) and their share of it; the strongest head gives the top sink the most mass.`);
    this.table = el('table', '', host);
    const head = el('tr', '', el('thead', '', this.table));
    for (const label of ['Layer', ...Array.from({ length: TOP }, (_, i) => `Sink ${i + 1}`), 'Strongest head']) el('th', '', head, label).scope = 'col';
    el('tbody', '', this.table);
  }

  render(ctx: AnalysisContext): void {
    const body = this.table.tBodies[0];
    body.replaceChildren();
    for (const m of ctx.selfLayers()) {
      const tokens = ctx.tokenKeyMass(m.layer);
      const site = tokens ? fromTokens(tokens, m.heads, m.keys, ctx) : fromMaps(ctx, m.layer);
      const { mass, perHead } = site;
      const total = mass.reduce((a, x) => a + x, 0);
      const order = Array.from(mass.keys()).sort((a, b) => mass[b] - mass[a] || a - b);
      const tr = el('tr', '', body);
      tr.dataset.layer = String(m.layer);
      el('th', '', tr, `L${m.layer}`);
      for (let s = 0; s < TOP; s++) {
        const i = order[s];
        const td = el('td', '', tr, i === undefined ? '–' : `${site.describe(i)} ${(total > 0 ? mass[i] / total : 0).toFixed(4)}`);
        td.dataset.key = `sink${s + 1}`;
        if (i !== undefined) td.dataset.token = String(site.index(i));
      }
      let strongest = 0;
      let best = -1;
      for (let h = 0; h < m.heads; h++) {
        const v = perHead(h, order[0]);
        if (v > best) [strongest, best] = [h, v];
      }
      const link = headRow(m.layer, strongest, this.openHead).firstElementChild!;
      link.setAttribute('data-key', 'strongest');
      tr.appendChild(link);
    }
  }
}
