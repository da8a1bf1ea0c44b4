/**
 * Entry of the Efficiency panel: settings (batch, dtype, hardware, prefill/decode, table length),
 * curves against sequence length per variant and per hardware profile, the variant table, and
 * measured-vs-estimated times from the runtime on this machine. Posts `ready` first; every
 * figure comes from the host (the runtime's estimator), none is computed here.
 */
import '../cspNonce';
import type { EfficiencySettings, EfficiencyToHost, HostToEfficiency } from '../../protocol/efficiencyWebview';
import { HostClient } from '../hostClient';
import { drawCharts } from './charts';
import { drawMeasuredTable, drawVariantTable } from './table';
import './efficiency.css';
import { el } from '../views/controls';

// Says `ready` first; the host answers with `init` (the initial settings).
const vscode = new HostClient<EfficiencyToHost, HostToEfficiency, EfficiencySettings>((m) => handle(m));

const root = document.getElementById('app') ?? document.body;
const title = el('h1', '', root, 'Attention efficiency');
const form = el('div', 'eff-settings', root);
const status = el('div', 'eff-status', root);

function labelled<T extends HTMLElement>(text: string, input: T): T {
  const l = el('label', '', form, text);
  l.appendChild(input);
  return input;
}
const hardware = labelled('hardware', document.createElement('select'));
const dtype = labelled('dtype', document.createElement('select'));
for (const d of ['fp16', 'bf16', 'fp32']) dtype.add(new Option(d, d));
const batch = labelled('batch', Object.assign(document.createElement('input'), { type: 'number', min: '1', value: '1' }));
const tableSeq = labelled('table at n =', Object.assign(document.createElement('input'), { type: 'number', min: '1', value: '4096' }));
const decode = labelled('one decode step', Object.assign(document.createElement('input'), { type: 'checkbox' }));
const measure = el('button', '', form, 'Measure on this machine');

const charts = el('div', 'eff-charts', root);
const timeEl = el('div', '', charts);
const cacheEl = el('div', '', charts);
const hardwareEl = el('div', '', charts);
const tableTitle = el('h2', '', root, 'Variants');
const tableEl = el('div', '', root);
el('h2', '', root, 'Measured vs estimated (one layer\'s attention core, onnxruntime-node, this machine)');
const measuredEl = el('div', '', root);
el('p', '', measuredEl, 'Press "Measure on this machine" to run the model\'s attention core at n = 128, 256, 512.');

function settings(): EfficiencySettings {
  return {
    hardware: hardware.value,
    dtype: dtype.value as EfficiencySettings['dtype'],
    batch: Math.max(1, Math.floor(Number(batch.value) || 1)),
    tableSeq: Math.max(1, Math.floor(Number(tableSeq.value) || 1)),
    decode: decode.checked,
  };
}

function apply(s: EfficiencySettings): void {
  hardware.value = s.hardware;
  dtype.value = s.dtype;
  batch.value = String(s.batch);
  tableSeq.value = String(s.tableSeq);
  decode.checked = s.decode;
}

function send(): void {
  const s = settings();
  vscode.setState(s);
  status.className = 'eff-status';
  status.textContent = 'Estimating…';
  vscode.post({ type: 'settings', settings: s });
}
for (const input of [hardware, dtype, batch, tableSeq, decode]) input.addEventListener('change', send);
measure.addEventListener('click', () => {
  status.className = 'eff-status';
  status.textContent = 'Measuring on this machine…';
  vscode.post({ type: 'measure', seqs: [128, 256, 512] });
});

function handle(msg: HostToEfficiency): void {
  switch (msg.type) {
    case 'init': {
      title.textContent = `Attention efficiency: ${msg.modelName}`;
      hardware.replaceChildren(...msg.hardware.map((h) => new Option(h.name, h.id)));
      apply(vscode.getState() ?? msg.settings);
      send();
      break;
    }
    case 'curves':
      status.textContent = '';
      drawCharts({ time: timeEl, cache: cacheEl, hardware: hardwareEl }, msg.curves, msg.settings.decode);
      tableTitle.textContent = `Variants at n = ${msg.settings.tableSeq.toLocaleString('en-US')}, batch ${msg.settings.batch}, ${msg.settings.dtype}, ${msg.curves.hardwareName}${msg.settings.decode ? ', one decode step' : ''}`;
      drawVariantTable(tableEl, msg.curves.rows);
      break;
    case 'measured':
      status.textContent = `Measured on ${msg.hardwareName}.`;
      drawMeasuredTable(measuredEl, msg.rows);
      break;
    case 'busy':
      status.className = 'eff-status';
      status.textContent = msg.message;
      break;
    case 'error':
      status.className = 'eff-status error';
      status.textContent = msg.message;
      break;
  }
}
