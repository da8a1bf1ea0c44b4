/**
 * A layer as one picture: the mean or the max over its heads, with the weight threshold and
 * top-k-keys filters (filters.ts) to thin a busy map down to its strongest links.
 */
import { filterMap } from '../analysis/filters';
import type { AnalysisContext } from './analysisContext';
import { el, numberControl, selectControl, setOptions } from './controls';
import { drawGrid } from './matrixPlot';
import { tokenGrid, type TokenAxis } from './tokenGrid';
import type { AnalysisView } from './view';

export class LayerView implements AnalysisView {
  readonly id = 'layer';
  readonly title = 'Layer';
  private layer = 0;
  private how: 'mean' | 'max' = 'mean';
  private threshold = 0;
  private topK = 0;
  private layerSelect!: HTMLSelectElement;
  private plot!: HTMLElement;
  private ctx: AnalysisContext | undefined;

  mount(host: HTMLElement): void {
    const bar = el('div', 'analysis-controls', host);
    this.layerSelect = selectControl(bar, 'Layer', 'layer', [], '0', (v) => this.set(() => (this.layer = Number(v))));
    selectControl(bar, 'Over heads', 'aggregate', [['mean', 'mean'], ['max', 'max']], this.how, (v) => this.set(() => (this.how = v as 'mean' | 'max')));
    numberControl(bar, 'Threshold', 'threshold', 0, { min: 0, max: 1, step: 0.01 }, (v) => this.set(() => (this.threshold = v)));
    numberControl(bar, 'Top-k keys (0: all)', 'topk', 0, { min: 0, step: 1 }, (v) => this.set(() => (this.topK = Math.floor(v))));
    this.plot = el('div', 'analysis-plot analysis-layer-plot', host);
  }

  private set(f: () => void): void {
    f();
    if (this.ctx) this.render(this.ctx);
  }

  render(ctx: AnalysisContext): void {
    this.ctx = ctx;
    const layers = [...ctx.layers.keys()].sort((a, b) => a - b);
    setOptions(this.layerSelect, layers.map((l) => [String(l), String(l)]), String(this.layer));
    this.layer = Number(this.layerSelect.value);
    const m = ctx.aggregate(this.layer, this.how);
    if (!m) return;
    const shown = this.threshold > 0 || this.topK > 0 ? filterMap(m, this.threshold, this.topK) : m;
    const name = `${this.how} weight`;
    // A cross-attention layer's keys are another text: name its cells by position only.
    const plain: TokenAxis = { label: (i) => `#${i}`, describe: (i) => `#${i}`, index: (i) => i };
    const self = ctx.selfLayers().some((x) => x.layer === this.layer);
    const grid = tokenGrid(m, self ? ctx : plain, self ? ctx : plain, { row: 'query', col: 'key', value: name }, shown);
    void drawGrid(this.plot, {
      ...grid,
      title: `Layer ${this.layer} · ${this.how} over heads`,
      xTitle: 'key',
      yTitle: 'query',
      weights: true,
      zmin: 0,
      zmax: 1,
      colorbarTitle: name,
    });
  }
}
