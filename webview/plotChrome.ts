/**
 * What every Plotly plot of the panels shares about its chrome. The mode bar runs down the right
 * edge and shows on hover only, so it never covers a title (titles sit top left); crowded axes
 * label every n-th token instead of overprinting them.
 */

export const MODEBAR_LAYOUT = { modebar: { orientation: 'v', bgcolor: 'rgba(0,0,0,0)' } };
export const MODEBAR_CONFIG = { displayModeBar: 'hover' as const };

/**
 * The config of the Attention panel's map plots: no Plotly logo, resized with the panel, no
 * cloud export (it would leave the machine) and no tips overlaying the panel.
 */
export const PANEL_PLOT_CONFIG = {
  ...MODEBAR_CONFIG,
  displaylogo: false,
  responsive: true,
  showSendToCloud: false,
  showEditInChartStudio: false,
  showTips: false,
};

/**
 * Indices to label on an axis of `n` cells drawn over `px` pixels, a label needing `perLabel`
 * pixels: every one when they fit, else every step-th (0, step, 2·step, …).
 */
export function thinTicks(n: number, px: number, perLabel: number): number[] {
  const fit = Math.max(2, Math.floor(px / Math.max(1, perLabel)));
  const step = Math.max(1, Math.ceil(n / fit));
  const out: number[] = [];
  for (let i = 0; i < n; i += step) out.push(i);
  return out;
}

/** The diverging scale of A − B: blue, the theme's background at 0, red. */
export function divergingScale(background: string): [number, string][] {
  return [
    [0, 'rgb(33,102,172)'],
    [0.25, 'rgb(103,169,207)'],
    [0.5, background],
    [0.75, 'rgb(239,138,98)'],
    [1, 'rgb(178,24,43)'],
  ];
}

/** The editor background as the page has it (a webview sets --vscode-editor-background). */
export function themeBackground(): string {
  const css = getComputedStyle(document.body);
  return css.getPropertyValue('--vscode-editor-background').trim() || css.backgroundColor || 'rgb(240,240,240)';
}

/** What differs between the charts against sequence length of the Compare and Efficiency panels. */
export interface SeqChartStyle {
  titleSize: number;
  /** Top margin, pixels. */
  top: number;
  xTitle: string;
  /** Label only the decades of the y axis: log axes otherwise label 2 and 5 of every decade, which reads as clutter. */
  decadesOnly: boolean;
  legendY: number;
  height: number;
}

/** A chart against sequence length on log-log axes, in the VS Code theme's colours on a transparent background. */
export function seqChartLayout(title: string, yTitle: string, s: SeqChartStyle): Record<string, unknown> {
  const css = getComputedStyle(document.body);
  const fg = css.getPropertyValue('--vscode-foreground').trim() || '#333';
  const grid = css.getPropertyValue('--vscode-panel-border').trim() || '#8884';
  const axis = { type: 'log', color: fg, gridcolor: grid, zeroline: false };
  return {
    title: { text: title, font: { size: s.titleSize, color: fg } },
    ...MODEBAR_LAYOUT,
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: 'rgba(0,0,0,0)',
    font: { color: fg, size: 11 },
    margin: { l: 60, r: 10, t: s.top, b: 40 },
    xaxis: { ...axis, title: { text: s.xTitle } },
    yaxis: { ...axis, ...(s.decadesOnly ? { dtick: 1 } : {}), title: { text: yTitle } },
    legend: { orientation: 'h', y: s.legendY },
    height: s.height,
  };
}

/** The config of those charts: mode bar on hover, no logo, resized with the panel. */
export const SEQ_CHART_CONFIG = { ...MODEBAR_CONFIG, displaylogo: false, responsive: true, modeBarButtonsToRemove: ['sendDataToCloud'] };
