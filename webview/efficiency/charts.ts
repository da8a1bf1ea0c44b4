/**
 * The Efficiency panel's Plotly charts: roofline time and KV cache against sequence length per
 * variant (log-log), and exact vs FlashAttention time per hardware profile.
 */
import Plotly from 'plotly.js-strict-dist-min';
import { MODEBAR_CONFIG, MODEBAR_LAYOUT } from '../plotChrome';
import type { EfficiencyCurves } from '../../protocol/efficiencyWebview';

function themeLayout(title: string, yTitle: string): Record<string, unknown> {
  const css = getComputedStyle(document.body);
  const fg = css.getPropertyValue('--vscode-foreground').trim() || '#333';
  const grid = css.getPropertyValue('--vscode-panel-border').trim() || '#8884';
  const axis = { type: 'log', color: fg, gridcolor: grid, zeroline: false };
  return {
    title: { text: title, font: { size: 13, color: fg } },
    ...MODEBAR_LAYOUT,
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: 'rgba(0,0,0,0)',
    font: { color: fg, size: 11 },
    margin: { l: 60, r: 10, t: 30, b: 40 },
    xaxis: { ...axis, title: { text: 'sequence length (tokens)' } },
    yaxis: { ...axis, title: { text: yTitle } },
    legend: { orientation: 'h', y: -0.25 },
    height: 320,
  };
}

const config = { ...MODEBAR_CONFIG, displaylogo: false, responsive: true, modeBarButtonsToRemove: ['sendDataToCloud'] };

export function drawCharts(els: { time: HTMLElement; cache: HTMLElement; hardware: HTMLElement }, c: EfficiencyCurves, decode: boolean): void {
  const mode = decode ? 'one decode step' : 'prefill';
  const lines = (pick: (v: EfficiencyCurves['variants'][string]) => number[]) =>
    Object.entries(c.variants).map(([id, v]) => ({ x: c.seqs, y: pick(v), name: id, type: 'scatter', mode: 'lines+markers', hovertemplate: `${v.name}<br>n=%{x}<br>%{y:.3s}<extra></extra>` }));
  void Plotly.react(els.time, lines((v) => v.rooflineSeconds), themeLayout(`Roofline time, ${mode}, ${c.hardwareName}`, 'seconds'), config);
  void Plotly.react(els.cache, lines((v) => v.kvCacheBytes), themeLayout('KV cache (bytes) after the sequence', 'bytes'), config);
  const hw = Object.entries(c.byHardware).flatMap(([id, h]) => [
    { x: c.seqs, y: h.exact, name: `${id} exact`, type: 'scatter', mode: 'lines', hovertemplate: `${h.name} exact<br>n=%{x}<br>%{y:.3s}s<extra></extra>` },
    { x: c.seqs, y: h.flash, name: `${id} flash`, type: 'scatter', mode: 'lines', line: { dash: 'dot' }, hovertemplate: `${h.name} FlashAttention<br>n=%{x}<br>%{y:.3s}s<extra></extra>` },
  ]);
  void Plotly.react(els.hardware, hw, themeLayout(`Exact (solid) vs FlashAttention (dotted) per hardware, ${mode}`, 'seconds'), config);
}
