// plotly.js-strict-dist-min ships no types; this covers the calls the panel makes. Figures are
// plain objects (Plotly validates them), so data and layout stay loosely typed.
declare module 'plotly.js-strict-dist-min' {
  type Figure = Record<string, unknown>;
  export interface PlotlyHTMLElement extends HTMLElement {
    on(event: string, handler: (ev: Record<string, unknown>) => void): void;
  }
  const Plotly: {
    react(el: HTMLElement, data: Figure[], layout?: Figure, config?: Figure): Promise<PlotlyHTMLElement>;
    purge(el: HTMLElement): void;
    relayout(el: HTMLElement, update: Figure): Promise<PlotlyHTMLElement>;
    /** format 'svg' with imageDataOnly: the SVG text itself (no image element, no blob URL). */
    toImage(el: HTMLElement, opts: { format: 'svg' | 'png'; width?: number; height?: number; imageDataOnly?: boolean }): Promise<string>;
  };
  export default Plotly;
}
