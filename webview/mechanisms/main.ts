/**
 * Entry of the Compare panel: the selected head's map of every variant side by side, the
 * metrics table against exact attention, and scaling plots of latency and memory against n.
 * Posts `ready` first; every figure comes from the runtime through the host (protocol/
 * compareWebview.ts), none is computed here except the time estimate's scale (scaling.ts).
 */
import '../cspNonce';
import type { CompareVariantsRequest } from '../../protocol/mechanisms';
import type { CompareToHost, HostToCompare } from '../../protocol/mechanismsWebview';
import { HostClient } from '../hostClient';
import { drawMaps } from './maps';
import { drawScaling } from './scaling';
import { drawTable } from './table';
import './mechanisms.css';
import { el } from '../views/controls';

const root = document.getElementById('app') ?? document.body;
const title = el('h1', '', root, 'Compare attention mechanisms');
const status = el('div', 'cmp-status', root, 'Waiting for a comparison…');
const mapsTitle = el('h2', '', root, 'Maps');
const mapsEl = el('div', 'cmp-maps', root);
el('h2', '', root, 'Metrics against exact attention');
const tableEl = el('div', '', root);
el('h2', '', root, 'Scaling with sequence length');
const charts = el('div', 'cmp-charts', root);
const timeEl = el('div', 'cmp-chart-time', charts);
const memoryEl = el('div', 'cmp-chart-memory', charts);
const notesEl = el('details', 'cmp-notes', root);

function show(t: string, r: CompareVariantsRequest.Result): void {
  title.textContent = `Compare attention mechanisms: ${t}`;
  status.className = 'cmp-status';
  status.textContent = `${r.tokens.length} tokens, ${r.heads} heads x d ${r.d}, ${r.causal ? 'causal' : 'bidirectional'}, on ${r.executionProvider}${r.cancelled ? '; cancelled: what ran is shown' : ''}`;
  const pool = r.maps.find((m) => m.pool > 1)?.pool;
  mapsTitle.textContent = `Maps of head ${r.head} (queries down, keys across${pool ? `; block maxima of ${pool} x ${pool}` : ''})`;
  drawMaps(mapsEl, r.maps, r.variants, r.tokens);
  drawTable(tableEl, r.variants);
  drawScaling({ time: timeEl, memory: memoryEl }, r.scaling, r.variants.map((v) => v.id));
  notesEl.replaceChildren();
  el('summary', '', notesEl, 'How Q, K, V were obtained');
  const list = el('ul', '', notesEl);
  for (const n of r.notes) el('li', '', list, n);
}

function handle(m: HostToCompare): void {
  if (m.type === 'busy') {
    title.textContent = `Compare attention mechanisms: ${m.title}`;
    status.className = 'cmp-status busy';
    status.textContent = m.message;
  } else if (m.type === 'error') {
    status.className = 'cmp-status error';
    status.textContent = m.message;
  } else if (m.type === 'result') {
    vscode.setState({ title: m.title, result: m.result });
    show(m.title, m.result);
  }
}

// Says `ready`; what the host posted before comes after it, in order.
const vscode = new HostClient<CompareToHost, HostToCompare, { title: string; result: CompareVariantsRequest.Result }>(handle);
const saved = vscode.getState();
if (saved) show(saved.title, saved.result);
