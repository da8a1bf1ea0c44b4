/**
 * Scaling plots (Plotly, log-log): latency and memory of every variant against sequence length.
 * Solid lines are measured; dotted lines of the same colour are the analytic estimates: bytes
 * as given, and time as the variant's FLOPs divided by the FLOP rate exact attention reached
 * at the largest length (so the dotted lines show how each variant's cost should grow, on this
 * machine's footing). One trace per variant per kind; estimates share the measured legend entry.
 */
import Plotly from 'plotly.js-strict-dist-min';
import { SEQ_CHART_CONFIG, seqChartLayout } from '../plotChrome';
import type { CompareScalingPoint } from '../../protocol/mechanisms';

const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac', '#17becf', '#bcbd22'];

const layout = (title: string, yTitle: string) =>
  seqChartLayout(title, yTitle, { titleSize: 12, top: 40, xTitle: 'sequence length n (tokens)', decadesOnly: true, legendY: -0.22, height: 340 });
const config = SEQ_CHART_CONFIG;

/** FLOP/s exact attention reached at its largest measured length, or undefined. */
export function exactRate(points: CompareScalingPoint[]): { rate: number; n: number } | undefined {
  const exact = points.filter((p) => p.id === 'exact' && !p.error && p.latencyMs > 0).sort((a, b) => b.n - a.n)[0];
  return exact ? { rate: exact.estFlops / (exact.latencyMs / 1e3), n: exact.n } : undefined;
}

export function drawScaling(els: { time: HTMLElement; memory: HTMLElement }, points: CompareScalingPoint[], order: string[]): void {
  const ids = order.filter((id) => points.some((p) => p.id === id && !p.error));
  const of = (id: string) => points.filter((p) => p.id === id && !p.error).sort((a, b) => a.n - b.n);
  const ref = exactRate(points);
  const trace = (id: string, i: number, y: (p: CompareScalingPoint) => number | null, estimated: boolean, unit: string) => {
    const ps = of(id);
    return {
      x: ps.map((p) => p.n), y: ps.map(y), connectgaps: true, name: id, legendgroup: id, showlegend: !estimated,
      meta: { variant: id, kind: estimated ? 'estimated' : 'measured' },
      type: 'scatter', mode: estimated ? 'lines' : 'lines+markers',
      line: { color: PALETTE[i % PALETTE.length], dash: estimated ? 'dot' : 'solid', width: estimated ? 1.5 : 2 },
      hovertemplate: `${id} ${estimated ? 'estimated' : 'measured'}<br>n=%{x}<br>%{y:.3s}${unit}<extra></extra>`,
    };
  };
  const time = ids.map((id, i) => trace(id, i, (p) => p.latencyMs, false, ' ms'));
  if (ref) time.push(...ids.map((id, i) => trace(id, i, (p) => (p.estFlops / ref.rate) * 1e3, true, ' ms')));
  const rateText = ref ? `dotted: FLOPs ÷ exact's ${(ref.rate / 1e9).toPrecision(3)} GFLOP/s at n=${ref.n}` : 'no exact run to scale estimates';
  void Plotly.react(els.time, time, layout(`Latency, measured (solid); ${rateText}`, 'milliseconds'), config);
  const memory = [
    // A peak of 0 is below what RSS resolves: a gap, not a plunge to the bottom of a log axis.
    ...ids.map((id, i) => trace(id, i, (p) => (p.peakBytes > 0 ? p.peakBytes : null), false, 'B')),
    ...ids.map((id, i) => trace(id, i, (p) => p.estBytes, true, 'B')),
  ];
  void Plotly.react(els.memory, memory, layout('Memory: measured peak RSS growth (solid; 0 not drawn) and analytic bytes (dotted)', 'bytes'), config);
}
