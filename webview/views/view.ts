/** The contract between the analysis section (tabs) and each analysis view. */
import type { AnalysisContext } from './analysisContext';

export interface AnalysisView {
  /** Tab id suffix and test hook: `analysis-tab-${id}`, `.analysis-${id}`. */
  readonly id: string;
  readonly title: string;
  /** Builds the view's controls and plot elements inside `host` (called once). */
  mount(host: HTMLElement): void;
  /** Draws from the context; called when the tab is shown and when data or a switch changes. */
  render(ctx: AnalysisContext): void;
}

/** Opens a head in the panel's main heatmap (and selects it in the grid). */
export type OpenHead = (layer: number, head: number) => void;
