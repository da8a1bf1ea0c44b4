/**
 * Tools of the selected head, wired to main.ts through a few calls: export buttons under
 * the head heatmap, the line view of the selected head, and the comparison mode (A, B, A − B).
 * In VS Code exports go to the host; in the standalone report they download directly.
 */
import type { HostToWebview, WebviewToHost } from '../../protocol/webview';
import { ExportBar, type MapExport } from '../export/exportBar';
import { downloadSink, hostSink, type ExportSink } from '../export/exportSink';
import { elementSvg, plotlySvg } from '../export/plotImage';
import { cliSnippet } from '../../common/snippet';
import { exportName } from '../export/exportName';
import { headView, type LayerMaps } from '../layerMaps';
import { CaptureHistory, keyTokensOf, type CaptureLike } from './captureHistory';
import { CompareView } from './sideBySideView';
import { LineView } from './lineView';
import './headTools.css';

export interface HeadToolsOptions {
  root: HTMLElement;
  /** The heatmap's section (export buttons go under the plot) and the plot element. */
  heatSection: HTMLElement;
  heatEl: HTMLElement;
  reportMode: boolean;
  post(msg: WebviewToHost): void;
  showError(message: string): void;
  /** The inspected text, for the CLI snippet. */
  text(): string | undefined;
  /** The comparison was closed: the panel goes back to its single capture. */
  onCompareClosed(): void;
}

interface Selected {
  capture: CaptureLike;
  layer: number;
  head: number;
  maps: LayerMaps;
}

function labels(tokens: string[], n: number, pool: number): string[] {
  return Array.from({ length: n }, (_, i) => (pool > 1 ? `#${i * pool}–#${Math.min(tokens.length, (i + 1) * pool) - 1}` : tokens[i] ?? `#${i}`));
}

export class HeadTools {
  private readonly history = new CaptureHistory();
  private readonly lineView: LineView;
  private readonly compare: CompareView;
  private readonly lineSection: HTMLElement;
  private selected: Selected | undefined;
  private modelName = '';

  constructor(private readonly o: HeadToolsOptions) {
    const sink: ExportSink = o.reportMode ? downloadSink(o.showError, (text) => cliSnippet(this.modelName, text)) : hostSink(o.post);
    const barOpts = { npy: !o.reportMode, onError: o.showError };
    new ExportBar(
      o.heatSection,
      {
        name: () => this.selected && exportName(this.modelName, o.text(), `L${this.selected.layer}-H${this.selected.head}`),
        image: () => plotlySvg(o.heatEl),
        map: () => this.currentMap(),
        text: () => {
          const t = o.text();
          if (!t) o.showError('The CLI command needs the inspected text, which this view does not have.');
          return t;
        },
      },
      sink,
      barOpts,
    );
    this.lineSection = document.createElement('section');
    this.lineSection.className = 'line-section';
    const title = document.createElement('h2');
    title.className = 'section-title';
    title.textContent = 'Line view';
    this.lineSection.appendChild(title);
    // Right under the grid and the heatmap: it shows the same head.
    const views = o.heatSection.closest('.views');
    if (views) views.after(this.lineSection);
    else o.root.appendChild(this.lineSection);
    this.lineView = new LineView(this.lineSection);
    new ExportBar(
      this.lineSection,
      { name: () => this.selected && exportName(this.modelName, o.text(), `lines-L${this.selected.layer}-H${this.selected.head}`), image: () => elementSvg(this.lineView.svgEl) },
      sink,
      barOpts,
    );
    // The comparison sits above the single-capture views: it is what the user asked for last.
    this.compare = new CompareView(document.createElement('div'), sink, { ...barOpts, onClose: o.onCompareClosed });
    o.root.insertBefore(this.compare.el, o.root.querySelector('.views'));
  }

  captureStarted(c: CaptureLike): void {
    this.history.remember(c);
    this.modelName = c.modelName;
    this.selected = undefined;
    this.lineView.show(undefined);
  }

  /** The selected head changed or its layer arrived (maps undefined: not there yet). */
  select(c: CaptureLike, layer: number, head: number, maps: LayerMaps | undefined): void {
    this.selected = maps && { capture: c, layer, head, maps };
    this.lineView.show(maps && { layer, head, maps, queryTokens: c.tokens, keyTokens: keyTokensOf(c, layer) });
    void this.compare.show(layer, head).catch((e) => this.o.showError(String(e)));
  }

  /** A 'compare' message: both captures must have been shown in this panel. */
  openCompare(msg: Extract<HostToWebview, { type: 'compare' }>): void {
    const a = this.history.get(msg.a.captureId);
    const b = this.history.get(msg.b.captureId);
    if (!a || !b) throw new Error(`comparison: capture ${!a ? msg.a.captureId : msg.b.captureId} is not in this panel`);
    this.compare.open({ capture: a, label: msg.a.label }, { capture: b, label: msg.b.label });
  }

  private currentMap(): MapExport | undefined {
    const s = this.selected;
    if (!s) return undefined;
    const m = s.maps;
    return {
      rows: m.rows,
      cols: m.cols,
      data: headView(m, s.head),
      rowLabels: labels(s.capture.tokens, m.rows, m.pool),
      colLabels: labels(keyTokensOf(s.capture, s.layer), m.cols, m.pool),
    };
  }
}
