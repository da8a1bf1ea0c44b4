/**
 * A row of export buttons under a plot: PNG and SVG of the plot, CSV and .npy of the map it
 * shows, and the CLI command that reproduces the capture. Each button builds the content here
 * and hands it to the sink (exportSink.ts); failures land in the panel's error line.
 */
import { encodeFloat32 } from '../../protocol/encoding';
import type { ExportFormat } from '../../protocol/webview';
import { matrixCsv } from './csv';
import type { ExportMessage, ExportSink } from './exportSink';
import { svgToPng, type SvgImage } from './plotImage';

export interface MapExport {
  rows: number;
  cols: number;
  data: Float32Array;
  rowLabels: string[];
  colLabels: string[];
}

export interface ExportTarget {
  /** File name without extension; undefined while there is nothing to export. */
  name(): string | undefined;
  image(): Promise<SvgImage> | SvgImage;
  map?(): MapExport | undefined;
  /** The inspected text, for the CLI snippet. */
  text?(): string | undefined;
}

export interface ExportBarOptions {
  /** .npy needs the host's encoder (server/capture/npy.ts); the report has no host. */
  npy: boolean;
  onError(message: string): void;
}

const LABELS: [ExportFormat, string, string][] = [
  ['png', 'PNG', 'Save the plot as a PNG image'],
  ['svg', 'SVG', 'Save the plot as an SVG (vector) image'],
  ['csv', 'CSV', 'Save the map as CSV (query rows, key columns)'],
  ['npy', '.npy', 'Save the map as a NumPy float32 array'],
  ['snippet', 'CLI', 'Copy the attention-inspector command that reproduces this capture'],
];

export class ExportBar {
  readonly el: HTMLElement;

  constructor(parent: HTMLElement, private readonly target: ExportTarget, private readonly sink: ExportSink, private readonly opts: ExportBarOptions) {
    this.el = document.createElement('div');
    this.el.className = 'export-bar';
    this.el.setAttribute('role', 'toolbar');
    this.el.setAttribute('aria-label', 'Export');
    for (const [format, label, title] of LABELS) {
      if (format === 'npy' && !opts.npy) continue;
      if ((format === 'csv' || format === 'npy') && !target.map) continue;
      if (format === 'snippet' && !target.text) continue;
      const b = document.createElement('vscode-button');
      b.setAttribute('appearance', 'secondary');
      b.dataset.format = format;
      b.title = title;
      b.textContent = label;
      b.addEventListener('click', () => void this.run(format));
      this.el.appendChild(b);
    }
    parent.appendChild(this.el);
  }

  /** Builds one export and hands it to the sink; public so other controls can trigger it. */
  async run(format: ExportFormat): Promise<void> {
    try {
      const msg = await this.build(format);
      if (msg) await this.sink(msg);
    } catch (e) {
      this.opts.onError(`Export failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private async build(format: ExportFormat): Promise<ExportMessage | undefined> {
    const base = this.target.name();
    if (!base) return undefined;
    const name = `${base}.${format === 'snippet' ? 'sh' : format}`;
    switch (format) {
      case 'png':
        return { type: 'export', format, name, data: await svgToPng(await this.target.image()) };
      case 'svg':
        return { type: 'export', format, name, data: (await this.target.image()).svg };
      case 'csv': {
        const m = this.target.map?.();
        return m && { type: 'export', format, name, data: matrixCsv(m.rows, m.cols, m.data, m.rowLabels, m.colLabels) };
      }
      case 'npy': {
        const m = this.target.map?.();
        return m && { type: 'export', format, name, data: encodeFloat32(m.data), shape: [m.rows, m.cols] };
      }
      case 'snippet': {
        const text = this.target.text?.();
        return text ? { type: 'export', format, name, data: text } : undefined;
      }
    }
  }
}
