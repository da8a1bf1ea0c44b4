/**
 * The neuron view (after BertViz, Vig 2019): for one head and one query token, the query vector,
 * the keys, their elementwise products q ⊙ k (dimensions × keys, whose column sums are the
 * scores), the scaled scores and the softmax. Shows which dimensions make the head attend where.
 * The numbers come straight from the captured q and k as they enter the score, so the softmax
 * drawn here is the head's map row (masked keys excluded for causal layers).
 */
import Plotly from 'plotly.js-strict-dist-min';
import { escapeHtml } from '../views/matrixPlot';
import { neuronRow, type NeuronInput, type NeuronRow } from './neuronMath';

function font(): { color: string; family: string } {
  const style = getComputedStyle(document.body);
  return { color: style.getPropertyValue('--vscode-foreground').trim() || style.color || '#ccc', family: style.getPropertyValue('--vscode-font-family').trim() || 'sans-serif' };
}

const DIVERGING: [number, string][] = [[0, '#2166ac'], [0.5, '#f7f7f7'], [1, '#b2182b']];

export async function drawNeuronView(vectorsEl: HTMLElement, scoresEl: HTMLElement, x: NeuronInput): Promise<NeuronRow> {
  const r = neuronRow(x);
  const { n, d, head, query } = x;
  const dims = Array.from({ length: d }, (_, c) => c);
  const keys = Array.from({ length: n }, (_, j) => j);
  const qCol = dims.map((c) => [x.q[(head * n + query) * d + c]]);
  const kT = dims.map((c) => keys.map((j) => x.k[(head * n + j) * d + c]));
  const prod = dims.map((c) => keys.map((j) => (Number.isNaN(r.scores[j]) ? null : r.products[c * n + j])));
  const abs = (rows: (number | null)[][]) => Math.max(1e-12, ...rows.flat().map((v) => Math.abs(v ?? 0)));
  const heat = (z: (number | null)[][], xa: string, ya: string, name: string, xs: number[], hover: (c: number, j: number) => string) => ({
    type: 'heatmap', z, x: xs, y: dims, xaxis: xa, yaxis: ya, colorscale: DIVERGING, zmid: 0, zmin: -abs(z), zmax: abs(z), showscale: false, name,
    text: dims.map((c) => xs.map((j) => hover(c, j))), hovertemplate: '%{text}: %{z:.4f}<extra></extra>',
  });
  const tok = (j: number) => escapeHtml(x.tokens[j] ?? String(j));
  const tickKeys = n <= 40 ? { tickvals: keys, ticktext: keys.map((j) => tok(j).slice(0, 8)), tickangle: -60 } : {};
  await Plotly.react(vectorsEl, [
    heat(qCol, 'x', 'y', 'query', [0], (c) => `query “${tok(query)}” dim ${c}`),
    heat(kT, 'x2', 'y', 'keys', keys, (c, j) => `key “${tok(j)}” dim ${c}`),
    heat(prod, 'x3', 'y', 'q ⊙ k', keys, (c, j) => `q⊙k “${tok(j)}” dim ${c}`),
  ], {
    title: { text: `Head ${head}, query “${tok(query)}” (position ${query}): query · keys · q ⊙ k`, font: { size: 12 }, x: 0.02, xanchor: 'left' },
    margin: { l: 40, r: 10, t: 30, b: 60 },
    paper_bgcolor: 'rgba(0,0,0,0)', plot_bgcolor: 'rgba(0,0,0,0)', font: font(),
    xaxis: { domain: [0, 0.06], showticklabels: false, title: { text: 'q' } },
    xaxis2: { domain: [0.1, 0.53], title: { text: 'keys' }, ...tickKeys },
    xaxis3: { domain: [0.57, 1], title: { text: 'q ⊙ k' }, ...tickKeys },
    yaxis: { title: { text: 'dimension' }, autorange: 'reversed' },
  }, { displaylogo: false, responsive: true, showTips: false });
  const visible = keys.filter((j) => !Number.isNaN(r.scores[j]));
  await Plotly.react(scoresEl, [
    { type: 'bar', name: 'scaled score q·k·scale', x: visible, y: visible.map((j) => r.scores[j]), marker: { color: '#8c8c8c' }, text: visible.map(tok), textposition: 'none', hovertemplate: '%{text}: score %{y:.4f}<extra></extra>' },
    { type: 'scatter', mode: 'lines+markers', name: 'softmax', x: visible, y: visible.map((j) => r.softmax[j]), yaxis: 'y2', marker: { color: '#e8743b' }, text: visible.map(tok), hovertemplate: '%{text}: weight %{y:.4f}<extra></extra>' },
  ], {
    margin: { l: 50, r: 50, t: 10, b: 60 },
    paper_bgcolor: 'rgba(0,0,0,0)', plot_bgcolor: 'rgba(0,0,0,0)', font: font(),
    legend: { orientation: 'h', y: 1.15 },
    xaxis: tickKeys,
    yaxis: { title: { text: 'scaled score' } },
    yaxis2: { title: { text: 'softmax' }, overlaying: 'y', side: 'right', range: [0, 1] },
  }, { displaylogo: false, responsive: true, showTips: false });
  return r;
}
