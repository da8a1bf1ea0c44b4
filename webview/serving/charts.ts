/**
 * The serving view's curves: mass kept, next-token KL, attention-output error and KV bytes saved
 * against the budget B,
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

export function drawCurves(els: { mass: HTMLElement; kl: HTMLElement; bytes: HTMLElement; error: HTMLElement }, r: ServingReport): void {
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
  void Plotly.react(els.error, traces((p) => p.outputRelativeL2, '.4f'), layout('Attention-output error (relative L2, mean over layers)', 'relative L2', r.budgets), config);
  void Plotly.react(els.bytes, traces((p) => p.kvBytesSaved, '.3s'), layout(`KV-cache bytes saved over ${r.tokens.length} tokens`, 'bytes', r.budgets), config);
}

/** Mass kept per layer x head of one policy at the head-map budget; a click opens that head. */
export function drawMassGrid(el: HTMLElement, r: ServingReport, policy: keyof ServingReport['policies'], onOpen: (layer: number, head: number) => void): void {
  const c = r.policies[policy];
  const z = c.atHeadMapBudget.massKept;
  const err = c.atHeadMapBudget.outputRelativeL2;
  const css = getComputedStyle(document.body);
  const fg = css.getPropertyValue('--vscode-foreground').trim() || '#333';
  const text = z.map((row, l) => row.map((v, h) => `L${l} H${h}<br>mass kept ${v.toFixed(4)}<br>layer output error ${err[l] === null ? '–' : err[l]!.toFixed(4)}`));
  const trace = { z, text, type: 'heatmap', zmin: 0, zmax: 1, colorscale: 'Viridis', hovertemplate: '%{text}<extra></extra>', colorbar: { title: { text: 'mass kept' } } };
  const layout = {
    title: { text: `${c.name} at B = ${r.headMapBudget}: mass kept per head`, font: { size: 13, color: fg } },
    paper_bgcolor: 'rgba(0,0,0,0)', plot_bgcolor: 'rgba(0,0,0,0)', font: { color: fg, size: 11 },
    margin: { l: 50, r: 10, t: 30, b: 40 },
    xaxis: { title: { text: 'head' }, dtick: 1, color: fg },
    yaxis: { title: { text: 'layer' }, dtick: 1, autorange: 'reversed', color: fg },
    height: 260, width: 380,
  };
  void Plotly.react(el, [trace], layout, { displaylogo: false, displayModeBar: false }).then(() => {
    const plot = el as HTMLElement & { removeAllListeners?: (e: string) => void; on?: (e: string, f: (d: { points: { x: number; y: number }[] }) => void) => void };
    plot.removeAllListeners?.('plotly_click');
    plot.on?.('plotly_click', (d) => d.points[0] && onOpen(d.points[0].y, d.points[0].x));
  });
}
