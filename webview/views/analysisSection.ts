/**
 * The analyses section of the Attention panel: a toolkit <vscode-panels> tab strip (arrow keys
 * move between tabs, as in VS Code's own panels) over the analysis views, and the "hide special
 * tokens" switch they share. Only the visible view draws (Plotly cannot lay out a hidden
 * element). The analyses are secondary to the thumbnail grid, so they never run while layers
 * stream in: a redraw waits until the grid has been painted (a frame, then a task) once every
 * layer is in, or until layers stop arriving for STREAM_QUIET_MS (a slow or cancelled capture
 * still shows partial figures). The cheap caveat line is updated at once.
 */
import { provideVSCodeDesignSystem, vsCodePanels, vsCodePanelTab, vsCodePanelView } from '@vscode/webview-ui-toolkit';
import type { LayerMaps } from '../layerMaps';
import { AnalysisContext } from './analysisContext';
import { checkboxControl, el } from './controls';
import { FlowView } from './flowView';
import { LayerSummaryView } from './layerSummaryView';
import { LayerView } from './layerView';
import { RolloutView } from './rolloutView';
import { SimilarityView } from './similarityView';
import { SinksView } from './sinksView';
import { StatsView } from './statsView';
import type { AnalysisView, OpenHead } from './view';
import './analysis.css';

/** Quiet time after a layer (capture still incomplete) before the analyses draw what is in. */
const STREAM_QUIET_MS = 300;

provideVSCodeDesignSystem().register(vsCodePanels(), vsCodePanelTab(), vsCodePanelView());

export class AnalysisSection {
  readonly ctx = new AnalysisContext();
  private readonly views: AnalysisView[];
  private active: AnalysisView;
  private readonly caveat: HTMLElement;
  private pending = false;
  private quiet: ReturnType<typeof setTimeout> | undefined;

  constructor(section: HTMLElement, openHead: OpenHead) {
    section.classList.add('analysis-section');
    const top = el('div', 'analysis-top', section);
    el('h2', 'section-title', top, 'Analyses');
    checkboxControl(top, 'Hide special tokens ([BOS], [CLS], <s>, <|endoftext|>…)', 'hide-special', false, (v) => {
      this.ctx.hideSpecial = v;
      this.ctx.invalidate();
      this.redraw();
    });
    this.caveat = el('p', 'hint analysis-caveat', section);
    this.views = [new StatsView(openHead), new LayerSummaryView(openHead), new SinksView(openHead), new LayerView(), new RolloutView(), new FlowView(), new SimilarityView(openHead)];
    this.active = this.views[0];
    const panels = el('vscode-panels' as 'div', 'analysis-panels', section);
    panels.setAttribute('aria-label', 'Attention analyses');
    for (const v of this.views) {
      const tab = el('vscode-panel-tab' as 'div', '', panels, v.title);
      tab.id = `analysis-tab-${v.id}`;
    }
    for (const v of this.views) {
      const view = el('vscode-panel-view' as 'div', `analysis-view analysis-${v.id}`, panels);
      view.id = `analysis-view-${v.id}`;
      v.mount(view);
    }
    panels.setAttribute('activeid', `analysis-tab-${this.active.id}`);
    panels.addEventListener('change', (e) => {
      const id = (e.target as HTMLElement & { activeid?: string }).activeid ?? '';
      const next = this.views.find((v) => `analysis-tab-${v.id}` === id);
      if (!next || next === this.active) return;
      this.active = next;
      section.dataset.active = next.id;
      // After the tab's view is unhidden, so Plotly measures a laid-out element.
      requestAnimationFrame(() => this.redraw());
    });
    section.dataset.active = this.active.id;
  }

  reset(tokens: string[], heads: number[]): void {
    this.ctx.reset(tokens, heads);
    this.schedule();
  }

  addLayer(m: LayerMaps): void {
    this.ctx.addLayer(m);
    this.schedule();
  }

  /** Draws the active view again (a theme or colour-scale change: its colours are painted). */
  refresh(): void {
    this.schedule();
  }

  private schedule(): void {
    this.caveat.textContent = this.ctx.caveat();
    if (this.quiet !== undefined) clearTimeout(this.quiet);
    this.quiet = undefined;
    if (!this.ctx.complete) {
      this.quiet = setTimeout(() => {
        this.quiet = undefined;
        this.afterPaint();
      }, STREAM_QUIET_MS);
      return;
    }
    this.afterPaint();
  }

  /** Redraws in a task after the next frame, so the grid's pixels reach the screen first. */
  private afterPaint(): void {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() =>
      setTimeout(() => {
        this.pending = false;
        this.redraw();
      }, 0),
    );
  }

  private redraw(): void {
    this.caveat.textContent = this.ctx.caveat();
    if (this.ctx.layers.size === 0) return;
    this.active.render(this.ctx);
  }
}
