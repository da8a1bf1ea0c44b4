/**
 * Entry of the serving view: KV-cache eviction policies on one text. Curves of mass kept,
 * next-token KL and bytes saved against the budget per policy; a head map of the keys a policy
 * drops for the selected query over the real map; the head types. The report is read from the
 * page (standalone file) or received from a host after `ready`; nothing is computed here but
 * the selected query's summary.
 */
import '../cspNonce';
import { decodeFloat32 } from '../../protocol/encoding';
import { decodeBytes, type HostToServing, type ServingPolicy, type ServingReport, type ServingToHost } from '../../protocol/servingWebview';
import { HostClient, hasHost } from '../hostClient';
import { drawCurves, drawMassGrid } from './charts';
import { drawHeadMap, querySummary } from './headMap';
import { drawHeadTable } from './headTable';
import './serving.css';
import { el } from '../views/controls';

const root = document.getElementById('app') ?? document.body;
const title = el('h1', '', root, 'KV-cache eviction');
const meta = el('div', 'meta', root);
const curves = el('div', 'curves', root);
const massEl = el('div', 'curve-mass', curves);
const klEl = el('div', 'curve-kl', curves);
const errorEl = el('div', 'curve-error', curves);
const bytesEl = el('div', 'curve-bytes', curves);
const mapTitle = el('h2', '', root, 'Head map: keys the policy drops');
const controls = el('div', 'controls', root);
const labelled = <T extends HTMLElement>(text: string, input: T): T => {
  el('label', '', controls, text).appendChild(input);
  return input;
};
const policySel = labelled('policy', document.createElement('select'));
const layerSel = labelled('layer', document.createElement('select'));
const headSel = labelled('head', document.createElement('select'));
const queryIn = labelled('query', Object.assign(document.createElement('input'), { type: 'number', min: '0', step: '1' }));
const mapRow = el('div', 'headmap', root);
const canvas = el('canvas', 'kv-headmap', mapRow);
const summary = el('div', 'summary', mapRow);
const massGrid = el('div', 'mass-grid', mapRow);
el('h2', '', root, 'Head types');
const typesEl = el('div', 'types', root);

let report: ServingReport | undefined;
let openHead: (layer: number, head: number) => void = () => undefined;
const maps: Float32Array[] = [];
const kept = new Map<string, Uint8Array>();

function keptOf(policy: ServingPolicy, layer: number): Uint8Array {
  const key = `${policy}/${layer}`;
  let k = kept.get(key);
  if (!k) kept.set(key, (k = decodeBytes(report!.policies[policy].kept[layer])));
  return k;
}

function drawMap(): void {
  if (!report) return;
  const n = report.tokens.length;
  const policy = policySel.value as ServingPolicy;
  const layer = Number(layerSel.value);
  const head = Number(headSel.value);
  const query = Math.min(n - 1, Math.max(0, Math.floor(Number(queryIn.value) || 0)));
  queryIn.value = String(query);
  const off = head * n * n;
  const view = { n, map: maps[layer].subarray(off, off + n * n), keep: keptOf(policy, layer).subarray(off, off + n * n), query };
  drawHeadMap(canvas, view);
  if (massGrid.dataset.policy !== policy) {
    massGrid.dataset.policy = policy;
    drawMassGrid(massGrid, report, policy, openHead);
  }
  const s = querySummary(view);
  const c = report.policies[policy];
  canvas.dataset.dropped = String(s.dropped);
  canvas.dataset.query = String(query);
  summary.replaceChildren();
  el('div', '', summary, `${c.name} at B = ${report.headMapBudget}, layer ${layer}, head ${head}`);
  el('div', 'query-summary', summary, `query ${query} (${JSON.stringify(report.tokens[query])}) keeps ${s.kept} of ${query + 1} keys, drops ${s.dropped}; mass kept ${s.mass.toFixed(4)}`);
  const line = el('div', '', summary);
  el('span', 'swatch', line);
  line.append('dropped keys (solid on the selected query\'s row)');
  el('div', 'mapping', summary, `Prefill mapping: ${c.mapping}.`);
  el('div', 'mapping', summary, c.paper);
}

function show(r: ServingReport): void {
  report = r;
  maps.length = 0;
  kept.clear();
  for (const l of r.layers) maps.push(decodeFloat32(l.map));
  title.textContent = `KV-cache eviction: ${r.model}`;
  const input = r.probe ? `repeat probe: ${r.probe.repeat} random tokens twice${r.probe.bos !== null ? ' after BOS' : ''}, seed ${r.probe.seed}` : 'text';
  meta.textContent = `${r.tokens.length} tokens (${input}); budgets ${r.budgets.join(', ')}; StreamingLLM sinks ${r.sinks}; ran on ${r.executionProvider}`;
  drawCurves({ mass: massEl, kl: klEl, bytes: bytesEl, error: errorEl }, r);
  mapTitle.textContent = `Head map at B = ${r.headMapBudget}: keys the policy drops`;
  policySel.replaceChildren(...Object.entries(r.policies).map(([id, c]) => new Option(c.name, id)));
  layerSel.replaceChildren(...r.layers.map((_, i) => new Option(String(i), String(i))));
  const heads = () => headSel.replaceChildren(...Array.from({ length: r.layers[Number(layerSel.value)].heads }, (_, h) => new Option(String(h), String(h))));
  heads();
  layerSel.onchange = () => {
    heads();
    drawMap();
  };
  queryIn.max = String(r.tokens.length - 1);
  queryIn.value = String(r.tokens.length - 1);
  openHead = (layer, head) => {
    layerSel.value = String(layer);
    heads();
    headSel.value = String(head);
    drawMap();
  };
  delete massGrid.dataset.policy;
  drawHeadTable(typesEl, r.layers, (layer, head) => {
    openHead(layer, head);
    mapTitle.scrollIntoView();
  });
  drawMap();
}

for (const c of [policySel, headSel, queryIn]) c.addEventListener('change', drawMap);

const embedded = document.getElementById('serving-report');
if (embedded?.textContent) show(JSON.parse(embedded.textContent) as ServingReport);
else if (hasHost()) {
  new HostClient<ServingToHost, HostToServing>((m) => {
    if (m.type === 'report') show(m.report);
    else if (m.type === 'error') meta.textContent = `The simulation failed: ${m.message}`;
  });
}
