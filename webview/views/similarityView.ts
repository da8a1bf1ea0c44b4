/**
 * Head redundancy (similarity.ts, after Ni et al. 2023): the head x head similarity of their
 * maps on the current text, and the groups found by average-linkage clustering, each head a
 * button that opens it. Only square self-attention layers of the same shape are compared.
 */
import { clusterBySimilarity, comparedRows, pickRows, similarityMatrix, type SimilarityMetric } from '../analysis/similarity';
import type { AnalysisContext } from './analysisContext';
import { el, numberControl, selectControl } from './controls';
import { drawGrid, toRows } from './matrixPlot';
import type { AnalysisView, OpenHead } from './view';

export class SimilarityView implements AnalysisView {
  readonly id = 'similarity';
  readonly title = 'Head similarity';
  private metric: SimilarityMetric = 'js';
  private groups = 4;
  private minSimilarity = 0;
  private plot!: HTMLElement;
  private list!: HTMLOListElement;
  private note!: HTMLElement;
  private ctx: AnalysisContext | undefined;

  constructor(private readonly openHead: OpenHead) {}

  mount(host: HTMLElement): void {
    const bar = el('div', 'analysis-controls', host);
    const redo = () => this.ctx && this.render(this.ctx);
    selectControl(bar, 'Similarity', 'metric', [['js', '1 − Jensen-Shannon (per row)'], ['cosine', 'cosine']], this.metric, (v) => ((this.metric = v as SimilarityMetric), redo()));
    numberControl(bar, 'Groups', 'groups', this.groups, { min: 1, step: 1 }, (v) => ((this.groups = Math.max(1, Math.floor(v))), redo()));
    numberControl(bar, 'Merge only above', 'minsim', 0, { min: 0, max: 1, step: 0.05 }, (v) => ((this.minSimilarity = v), redo()));
    this.note = el('p', 'hint', host);
    const row = el('div', 'similarity-row', host);
    this.plot = el('div', 'analysis-plot analysis-similarity-plot', row);
    const side = el('div', 'similarity-groups', row);
    el('h3', 'section-title', side, 'Groups');
    this.list = el('ol', 'group-list', side);
  }

  render(ctx: AnalysisContext): void {
    this.ctx = ctx;
    const heads: { layer: number; head: number }[] = [];
    for (const m of ctx.selfLayers()) for (let h = 0; h < m.heads; h++) heads.push({ layer: m.layer, head: h });
    if (heads.length === 0) return;
    const full = heads.map((x) => ctx.head(x.layer, x.head)!);
    const picked = comparedRows(full[0].rows, full[0].cols, full.length);
    const maps = picked.length === full[0].rows ? full : full.map((m) => pickRows(m, picked));
    this.note.textContent =
      picked.length === full[0].rows ? '' : `Compared on ${picked.length} evenly spaced query rows of ${full[0].rows}, to keep ${full.length} heads quick.`;
    const sim = similarityMatrix(maps, this.metric);
    const n = heads.length;
    const groups = clusterBySimilarity(sim, n, { groups: this.groups, minSimilarity: this.minSimilarity });
    const labels = heads.map((x) => `L${x.layer}H${x.head}`);
    void drawGrid(this.plot, {
      z: toRows(sim, n, n),
      xLabels: labels,
      yLabels: labels,
      hover: labels.map((a, i) => labels.map((b, j) => `${a} · ${b}<br>similarity: ${sim[i * n + j].toFixed(4)}`)),
      title: `Head similarity (${this.metric === 'js' ? '1 − JS divergence' : 'cosine'})`,
      xTitle: 'head',
      yTitle: 'head',
      weights: false,
      zmin: 0,
      zmax: 1,
      colorbarTitle: 'similarity',
    });
    this.list.replaceChildren(
      ...groups.map((g, gi) => {
        const li = document.createElement('li');
        li.dataset.group = String(gi);
        // Mean similarity inside the group: how redundant its members are.
        let s = 0;
        let pairs = 0;
        for (const i of g) {
          for (const j of g) {
            if (i >= j) continue;
            s += sim[i * n + j];
            pairs++;
          }
        }
        el('span', 'group-score', li, pairs ? `similarity ${(s / pairs).toFixed(3)}: ` : 'alone: ');
        for (const i of g) {
          const b = el('button', 'head-link', li, labels[i]);
          b.type = 'button';
          b.dataset.layer = String(heads[i].layer);
          b.dataset.head = String(heads[i].head);
          b.title = `Open layer ${heads[i].layer}, head ${heads[i].head}`;
          b.addEventListener('click', () => this.openHead(heads[i].layer, heads[i].head));
        }
        return li;
      }),
    );
  }
}
