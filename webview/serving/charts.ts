/**
 * The serving view's curves: mass kept, next-token KL and KV bytes saved against the budget B,
 * one trace per policy (Plotly). Trace order follows the report's policies, so a test can read
 * them back by index.
 */
import Plotly from 'plotly.js-strict-dist-min';
import type { ServingReport } from '../../protocol/servingWebview';

function layout(title: string, yTitle: string, budgets: number[]): Record<string, unknown> {
  const css = getComputedStyle(document.body);
  const fg = css.getPropertyValue('--vscode-foreground').trim() || '#333';
  const grid = css.getPropertyValue('--vscode-panel-border').trim() || '#8884';
  const axis = { color: fg, gridcolor: grid, zeroline: false };
  return {
    title: { text: title, font: { size: 13, color: fg } },
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: 'rgba(0,0,0,0)',
    font: { color: fg, size: 11 },
    margin: { l: 60, r: 10, t: 30, b: 40 },
    // Log budget axis ticked at the budgets run, not at Plotly's 2, 3, 5 minor labels.
    xaxis: { ...axis, type: 'log', tickvals: budgets, ticktext: budgets.map(String), title: { text: 'cache budget B (tokens per head)' } },
    yaxis: { ...axis, title: { text: yTitle } },
    legend: { orientation: 'h', y: -0.3 },
    height: 300,
  };
}

const config = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ['sendDataToCloud'] };

export function drawCurves(els: { mass: HTMLElement; kl: HTMLElement; bytes: HTMLElement }, r: ServingReport): void {
  const traces = (pick: (p: ServingReport['policies']['streaming']['points'][number]) => number | null, fmt: string) =>
    Object.values(r.policies).map((c) => ({
      x: c.points.map((p) => p.budget),
      y: c.points.map((p) => pick(p)),
      name: c.name,
      type: 'scatter',
      mode: 'lines+markers',
      hovertemplate: `${c.name}<br>B=%{x}<br>%{y:${fmt}}<extra></extra>`,
    }));
  void Plotly.react(els.mass, traces((p) => p.massKept, '.4f'), layout('Attention mass kept (mean over layers, heads, rows)', 'mass kept', r.budgets), config);
  void Plotly.react(els.kl, traces((p) => p.nextTokenKL, '.3e'), layout('Next-token KL(full ‖ policy), mean over q ≥ B', 'KL (nats)', r.budgets), config);
  void Plotly.react(els.bytes, traces((p) => p.kvBytesSaved, '.3s'), layout(`KV-cache bytes saved over ${r.tokens.length} tokens`, 'bytes', r.budgets), config);
}
