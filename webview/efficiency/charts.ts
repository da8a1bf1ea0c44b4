/**
 * The Efficiency panel's Plotly charts: roofline time and KV cache against sequence length per
 * variant (log-log), and exact vs FlashAttention time per hardware profile.
 */
import Plotly from 'plotly.js-strict-dist-min';
import { SEQ_CHART_CONFIG, seqChartLayout } from '../plotChrome';
import type { EfficiencyCurves } from '../../protocol/efficiencyWebview';

const themeLayout = (title: string, yTitle: string) =>
  seqChartLayout(title, yTitle, { titleSize: 13, top: 30, xTitle: 'sequence length (tokens)', decadesOnly: false, legendY: -0.25, height: 320 });
const config = SEQ_CHART_CONFIG;

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
