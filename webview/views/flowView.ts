/**
 * Attention flow (flow.ts) from a range of output tokens to every input token. Each cell is one
 * max-flow over the layered graph, so the view computes only the rows asked for, a few at a
 * time between frames (the panel stays responsive and shows rows as they come), and refuses
 * inputs over MAX_FLOW_TOKENS.
 */
import { MAX_FLOW_TOKENS, attentionFlow } from '../analysis/flow';
import type { AnalysisContext } from './analysisContext';
import { el, numberControl } from './controls';
import { drawGrid } from './matrixPlot';
import { tokenGrid, type TokenAxis } from './tokenGrid';
import type { AnalysisView } from './view';

/** Default number of output rows when the text is long: flow costs n max-flows per row. */
const DEFAULT_ROWS = 16;

export class FlowView implements AnalysisView {
  readonly id = 'flow';
  readonly title = 'Flow';
  private from = -1;
  private to = -1;
  private fromInput!: HTMLInputElement;
  private toInput!: HTMLInputElement;
  private note!: HTMLElement;
  private plot!: HTMLElement;
  private ctx: AnalysisContext | undefined;
  private generation = 0;

  mount(host: HTMLElement): void {
    const bar = el('div', 'analysis-controls', host);
    const redo = () => this.ctx && this.render(this.ctx);
    this.fromInput = numberControl(bar, 'Output tokens from #', 'from', 0, { min: 0, step: 1 }, (v) => ((this.from = Math.floor(v)), redo()));
    this.toInput = numberControl(bar, 'to #', 'to', 0, { min: 0, step: 1 }, (v) => ((this.to = Math.floor(v)), redo()));
    this.note = el('p', 'hint', host);
    this.plot = el('div', 'analysis-plot analysis-flow-plot', host);
  }

  render(ctx: AnalysisContext): void {
    this.ctx = ctx;
    const gen = ++this.generation;
    const layers = ctx.selfLayers().filter((m, i) => m.layer === i);
    const n = ctx.kept().length;
    const limits = `Flow (Abnar & Zuidema 2020) solves one max-flow per (output, input) pair, with the residual-augmented attention as capacities: limited to n ≤ ${MAX_FLOW_TOKENS} tokens and to the output rows chosen here.`;
    if (!ctx.complete || layers.length !== ctx.heads.length) {
      this.note.textContent = `${limits} Waiting for every layer.`;
      return;
    }
    if (n > MAX_FLOW_TOKENS) {
      this.note.textContent = `${limits} This text has ${n}: use Rollout, or inspect a shorter text.`;
      return;
    }
    // Last rows by default: the end of a text has the most context to flow from.
    if (this.to < 0 || this.to >= n) this.to = n - 1;
    if (this.from < 0 || this.from > this.to) this.from = n <= 80 ? 0 : Math.max(0, this.to - DEFAULT_ROWS + 1);
    this.fromInput.max = this.toInput.max = String(n - 1);
    this.fromInput.value = String(this.from);
    this.toInput.value = String(this.to);
    const outputs = Array.from({ length: this.to - this.from + 1 }, (_, i) => this.from + i);
    const means = layers.map((m) => ctx.aggregate(m.layer, 'mean')!);
    const rows: Float64Array[] = [];
    const outAxis: TokenAxis = { label: (r) => ctx.label(outputs[r]), describe: (r) => ctx.describe(outputs[r]), index: (r) => ctx.index(outputs[r]) };
    const draw = () =>
      drawGrid(this.plot, {
        ...tokenGrid({ rows: rows.length, cols: n, data: concat(rows, n) }, outAxis, ctx, { row: 'output', col: 'input', value: 'flow' }),
        title: `Attention flow from tokens #${this.from}–#${this.to} through ${layers.length} layers`,
        xTitle: 'input token',
        yTitle: 'output token',
        weights: true,
        zmin: 0,
        zmax: 1,
        colorbarTitle: 'flow',
      });
    const step = () => {
      if (gen !== this.generation) return;
      const t0 = performance.now();
      while (rows.length < outputs.length && performance.now() - t0 < 40) rows.push(attentionFlow(means, [outputs[rows.length]]));
      const done = rows.length === outputs.length;
      this.note.textContent = `${limits} ${done ? `${rows.length} rows.` : `Computing: ${rows.length} of ${outputs.length} rows…`}`;
      this.plot.dataset.rows = String(rows.length);
      this.plot.dataset.done = String(done);
      void draw().then(() => {
        if (!done) setTimeout(step, 0);
      });
    };
    this.plot.dataset.done = 'false';
    step();
  }
}

function concat(rows: Float64Array[], n: number): Float64Array {
  const out = new Float64Array(rows.length * n);
  rows.forEach((r, i) => out.set(r, i * n));
  return out;
}
