/**
 * Attention rollout (rollout.ts) up to a chosen layer: row i shows how much of output token i
 * traces back to each input token once the residual path is counted.
 */
import type { Mat } from '../analysis/matrix';
import { matmul, residualAugment } from '../analysis/rollout';
import type { AnalysisContext } from './analysisContext';
import { el, selectControl, setOptions } from './controls';
import { drawGrid } from './matrixPlot';
import { tokenGrid } from './tokenGrid';
import type { AnalysisView } from './view';

const NOTE = 'Rollout (Abnar & Zuidema 2020): A′ = 0.5·mean over heads + 0.5·I per layer, rows renormalised, multiplied from layer 0 up.';

export class RolloutView implements AnalysisView {
  readonly id = 'rollout';
  readonly title = 'Rollout';
  private upTo = -1;
  private layerSelect!: HTMLSelectElement;
  private note!: HTMLElement;
  private plot!: HTMLElement;
  private ctx: AnalysisContext | undefined;
  private generation = 0;

  mount(host: HTMLElement): void {
    const bar = el('div', 'analysis-controls', host);
    this.layerSelect = selectControl(bar, 'Up to layer', 'upto', [], '', (v) => {
      this.upTo = Number(v);
      if (this.ctx) this.render(this.ctx);
    });
    this.note = el('p', 'hint', host);
    this.plot = el('div', 'analysis-plot analysis-rollout-plot', host);
  }

  render(ctx: AnalysisContext): void {
    this.ctx = ctx;
    const layers = ctx.selfLayers();
    // Rollout composes layers from the bottom: it needs every layer below the one shown.
    const contiguous = layers.filter((m, i) => m.layer === i);
    setOptions(this.layerSelect, contiguous.map((m) => [String(m.layer), String(m.layer)]), String(this.upTo < 0 ? contiguous.length - 1 : this.upTo));
    this.note.textContent = NOTE;
    if (contiguous.length === 0) return;
    const upTo = Number(this.layerSelect.value);
    const gen = ++this.generation;
    // One n^3 product per layer: at a few hundred tokens each takes a noticeable moment, so
    // layers are multiplied one per task and the panel stays responsive.
    let acc: Mat | undefined;
    let l = 0;
    const step = () => {
      if (gen !== this.generation) return;
      const a = residualAugment(ctx.rolloutMatrix(contiguous[l].layer)!);
      acc = acc ? matmul(a, acc) : a;
      l++;
      this.plot.dataset.done = String(l > upTo);
      if (l <= upTo) {
        this.note.textContent = `${NOTE} Multiplying layer ${l} of ${upTo + 1}…`;
        setTimeout(step, 0);
        return;
      }
      this.note.textContent = NOTE;
      this.draw(ctx, acc, upTo);
    };
    this.plot.dataset.done = 'false';
    step();
  }

  private draw(ctx: AnalysisContext, r: Mat, upTo: number): void {
    void drawGrid(this.plot, {
      ...tokenGrid(r, ctx, ctx, { row: 'output', col: 'input', value: 'rollout' }),
      title: `Attention rollout through layers 0–${upTo}`,
      xTitle: 'input token',
      yTitle: 'output token',
      weights: true,
      zmin: 0,
      zmax: 1,
      colorbarTitle: 'rollout',
    });
  }
}
