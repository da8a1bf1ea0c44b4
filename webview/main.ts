/**
 * Entry of the Attention panel. Two ways to run: inside a VS Code webview (talks to the host
 * with acquireVsCodeApi, posts `ready` before anything else and waits for data), or as a
 * standalone report (a JSON script element holds the host's messages, which are replayed; no
 * host, no network).
 */
import './cspNonce';
import { provideVSCodeDesignSystem, vsCodeButton, vsCodeTextArea, vsCodeProgressRing } from '@vscode/webview-ui-toolkit';
import type { HostToWebview, PanelState, WebviewToHost } from '../protocol/webview';
import { decodeFloat32 } from '../protocol/encoding';
import { HeadHeatmap } from './headHeatmap';
import { HostClient, hasHost, memoryApi } from './hostClient';
import { InputWarning } from './inputWarning';
import { LayerMaps, decodeLayer, headView } from './layerMaps';
import { ThumbnailGrid } from './thumbnailGrid';
import { setActiveScale } from './colorScale';
import { ScaleControls, legendText, normaliseChoice, type ScaleChoice } from './scaleControls';
import { TokenStrip } from './tokenStrip';
import { AnalysisSection } from './views/analysisSection';
import { HeadTools } from './views/headTools';
import { InternalsSection, type DecodedInternals } from './internals/internalsSection';
import { valueWeightedLayer } from './internals/valueWeightedMaps';
import { HeadViews } from './views/headViews';
import { hoverDirectionToggle } from './views/hoverDirection';
import { thumbSizeControl } from './views/thumbSize';
import { textFocuser } from './textFocus';
import './panel.css';
import { GridHeadTypes } from './serving/gridHeadTypes';

provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeTextArea(), vsCodeProgressRing());

const reportEl = document.getElementById('attention-report');
const reportMode = reportEl !== null;

// Posts `ready` first (the host posts nothing before it). In a report there is no host: state
// lives in memory, messages go nowhere, and the report's own messages are replayed below.
const vscode = new HostClient<WebviewToHost, HostToWebview, PanelState>((m) => safeHandle(m), !reportMode && hasHost() ? undefined : memoryApi(), !reportMode);

let state: PanelState = vscode.getState() ?? {};

interface Capture {
  id: string;
  modelName: string;
  tokens: string[];
  heads: number[];
  maps: Map<number, LayerMaps>;
  /** Encoder-decoder models: the keys of 'cross' layers (views/captureHistory.ts). */
  sourceTokens?: string[];
  kinds?: ('self' | 'cross')[];
}
let capture: Capture | undefined;

function h<K extends keyof HTMLElementTagNameMap>(tag: K, cls: string, parent: HTMLElement, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.className = cls;
  if (text !== undefined) e.textContent = text;
  parent.appendChild(e);
  return e;
}

const root = document.getElementById('app') ?? document.body;
root.classList.add('attention-panel');
const header = h('header', 'panel-header', root);
const titleEl = h('h1', 'panel-title', header, 'Attention Inspector');
const statusEl = h('span', 'panel-status', header);
statusEl.setAttribute('role', 'status');
const errorEl = h('div', 'panel-error', root);
errorEl.hidden = true;
errorEl.setAttribute('role', 'alert');
const inputWarning = new InputWarning(root, errorEl);

const form = h('form', 'inspect-form', root);
const textArea = document.createElement('vscode-text-area') as HTMLElement & { value: string };
textArea.setAttribute('placeholder', 'Text to inspect');
textArea.setAttribute('rows', '3');
textArea.setAttribute('resize', 'vertical');
textArea.className = 'inspect-text';
form.appendChild(textArea);
const button = document.createElement('vscode-button');
button.textContent = 'Inspect';
button.className = 'inspect-button';
form.appendChild(button);
form.hidden = reportMode;
const focusText = textFocuser(textArea);
const submit = () => {
  const text = textArea.value.trim();
  if (!text) return;
  setState({ text });
  vscode.post({ type: 'inspect', text });
};
button.addEventListener('click', submit);
// Ctrl+Enter (Cmd+Enter) inspects from the text box, as in VS Code's own input boxes.
textArea.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    submit();
  }
});
form.addEventListener('submit', (e) => {
  e.preventDefault();
  submit();
});
if (state.text) textArea.value = state.text;

const tokensSection = h('section', 'tokens-section', root);
h('h2', 'section-title', tokensSection, 'Tokens');
h('p', 'hint', tokensSection, 'Hover a token to see where the selected head looks from it.');
const strip = new TokenStrip(h('div', '', tokensSection));
hoverDirectionToggle(tokensSection, strip);

const views = h('div', 'views', root);
const gridSection = h('section', 'grid-section', views);
h('h2', 'section-title', gridSection, 'All heads');
const gridHint = h('p', 'hint grid-hint', gridSection, 'Click a head (or use the arrow keys) to open it.');
const gridHost = h('div', 'grid-host', gridSection);
const legend = h('p', 'hint legend', gridSection);
const heatSection = h('section', 'heatmap-section', views);
const heatEl = h('div', 'head-heatmap', heatSection);
// Statistics, rollout, flow, similarity: webview/views (their own modules).
const analysis = new AnalysisSection(h('section', '', root), (layer, head) => selectHead(layer, head, true));
// Export buttons, line view and comparison mode (webview/views/headTools.ts).
const headTools = new HeadTools({
  root,
  heatSection,
  heatEl,
  reportMode,
  post: (m) => vscode.post(m),
  showError: (m) => showError(m),
  text: () => state.text,
  onCompareClosed: () => showSelected(),
});
// BertViz's head view and model view (webview/views/headViews.ts), under the line view.
const headViews = new HeadViews(root.querySelector('.line-section') ?? views, (layer, head) => selectHead(layer, head, true));

// Query–key, neuron, value-weighted and ablation views (webview/internals).
const internals = new InternalsSection(h('section', '', root), {
  request: (make) => vscode.request(make),
  openHead: (layer, head) => selectHead(layer, head, true),
  mapRow: (layer, head, q) => {
    const m = (rawMaps ?? capture?.maps)?.get(layer);
    if (!m || m.pool !== 1 || q >= m.rows) return undefined;
    return headView(m, head).slice(q * m.cols, (q + 1) * m.cols);
  },
  setValueWeighted: (norms) => applyValueWeighted(norms),
  showError: (m) => showError(m),
}, reportMode);
/** The captured maps while value-weighted maps stand in for them. */
let rawMaps: Map<number, LayerMaps> | undefined;

function applyValueWeighted(norms: Map<number, DecodedInternals> | undefined): string | undefined {
  if (!capture) return 'no capture to weight';
  const base = rawMaps ?? capture.maps;
  if (norms) {
    const missing = [...base.keys()].find((l) => !norms.get(l)?.valueNorms);
    if (missing !== undefined) return `layer ${missing}: ${norms.get(missing)?.notes.join(' ') || 'no value norms'}; value-weighted maps are not available for this model`;
    if ([...base.values()].some((m) => m.pool > 1)) return 'value-weighted maps need full-resolution maps and this capture was sent pooled; raise attentionInspector.sendBudgetMB';
    capture.maps = new Map([...base].map(([l, m]) => [l, valueWeightedLayer(m, norms.get(l)!.valueNorms!)]));
    rawMaps = base;
  } else if (rawMaps) {
    capture.maps = rawMaps;
    rawMaps = undefined;
  } else return undefined;
  // Every view now reads the weighted maps; say so where the grid is titled.
  gridHint.textContent = rawMaps ? 'Value-weighted maps ‖α·f(x)‖ (Kobayashi et al. 2020), each row rescaled to sum to 1. Click a head to open it.' : 'Click a head (or use the arrow keys) to open it.';
  grid.reset(capture.heads, capture.tokens.length);
  analysis.reset(capture.tokens, capture.heads);
  for (const m of [...capture.maps.values()].sort((a, b) => a.layer - b.layer)) {
    grid.addLayer(m);
    analysis.addLayer(m);
  }
  const sel = state.selected ?? { layer: 0, head: 0 };
  grid.select(sel.layer, sel.head);
  showSelected();
  return undefined;
}

const heatmap = new HeadHeatmap(
  heatEl,
  (layer, head, q0, q1, k0, k1) => {
    if (reportMode || !capture) return undefined;
    const captureId = capture.id;
    return vscode
      .request<Extract<HostToWebview, { type: 'tile' }>>((requestId) => ({ type: 'requestTile', requestId, captureId, layer, head, q0, q1, k0, k1 }))
      .then((t) => ({ rows: t.rows, cols: t.cols, data: decodeFloat32(t.data) }));
  },
  (query, key) => strip.hoverCell(query, key),
);

// A token pointed at in the strip outlines its row (looks from) or column (attended by) in the heatmap.
strip.whenPointed((i, d) => heatmap.outline(i === undefined ? undefined : d === 'to' ? 'column' : 'row', i));

const grid = new ThumbnailGrid(gridHost, (layer, head) => selectHead(layer, head, true), (text) => {
  gridHint.textContent = text || gridIdleHint();
});
// Head types (previous-token, duplicate-token, induction, sink) on the grid and the statistics table.
const gridHeadTypes = new GridHeadTypes(gridHost, grid.canvas, root);
/** The caption under the grid when no head is hovered: the selected head, or what to do. */
function gridIdleHint(): string {
  const sel = state.selected;
  const at = sel && capture && sel.layer < capture.heads.length ? `Selected: layer ${sel.layer} · head ${sel.head}. ` : '';
  return `${at}Click a head (or use the arrow keys) to open it.`;
}
// Colour scale and thumbnail scaling (webview/scaleControls.ts), kept in PanelState.
const scaleControls = new ScaleControls(gridSection, gridHost, normaliseChoice(state), (c) => applyChoice(c, true));
function applyChoice(c: ScaleChoice, fromUser: boolean): void {
  if (fromUser) setState(c);
  scaleControls.set(c);
  setActiveScale(c.scale);
  grid.setColorMode(c.colorMode);
  const last = capture && [...capture.maps.values()].at(-1);
  if (last) legend.textContent = legendText(c, grid.sharedMax(), grid.cellsPerPixel() * last.pool);
  if (capture) {
    showSelected();
    analysis.refresh();
  }
}
applyChoice(normaliseChoice(state), false);
thumbSizeControl(scaleControls.el, grid, state.thumbSize, (thumbSize) => setState({ thumbSize }));
new ResizeObserver(() => requestAnimationFrame(() => capture && grid.layout())).observe(gridHost);
// VS Code switches themes by changing the body's class and the --vscode-* values: canvas
// labels and Plotly's fonts are painted colours, so paint them again.
new MutationObserver(() => {
  if (!capture) return;
  grid.layout();
  showSelected();
  analysis.refresh();
}).observe(document.body, { attributes: true, attributeFilter: ['class'] });

function setState(patch: Partial<PanelState>): void {
  state = { ...state, ...patch };
  vscode.setState(state);
}

function showError(message: string | undefined): void {
  errorEl.hidden = !message;
  errorEl.textContent = message ?? '';
}

function selectHead(layer: number, head: number, fromUser: boolean): void {
  setState({ selected: { layer, head } });
  grid.select(layer, head);
  gridHint.textContent = gridIdleHint();
  if (fromUser) vscode.post({ type: 'selectHead', layer, head });
  showSelected();
  internals.select(layer, head);
}

function showSelected(): void {
  const sel = state.selected;
  const m = sel && capture?.maps.get(sel.layer);
  // Export buttons, the line and head views have nothing to show until the selected layer arrives.
  root.toggleAttribute('data-nothing-shown', !capture || !sel || !m);
  if (!capture || !sel || !m) {
    strip.setSource(undefined);
    return;
  }
  const src = capture.sourceTokens;
  const cross = capture.kinds?.[sel.layer] === 'cross' && src !== undefined;
  // Encoder-decoder: an encoder self layer is source x source (the panel's tokens are the target).
  const encoder = !cross && src !== undefined && m.queries === src.length && m.queries !== capture.tokens.length;
  heatmap.show({ layer: sel.layer, head: sel.head, maps: m, tokens: encoder ? src : capture.tokens, keyTokens: cross ? src : undefined });
  headTools.select(capture, sel.layer, sel.head, m);
  headViews.select(capture, sel.layer, sel.head, m);
  // The strip shows the query's own text; a cross layer's weights are over the source.
  if (cross || encoder) return strip.setSource(undefined);
  const map = headView(m, sel.head);
  const n = capture.tokens.length;
  strip.setSource((q) => {
    const r = Math.floor(q / m.pool);
    if (r >= m.rows) return undefined;
    const row = new Float32Array(n);
    for (let k = 0; k < n && k < m.keys; k++) row[k] = map[r * m.cols + Math.floor(k / m.pool)];
    return row;
  }, (k) => {
    const c = Math.floor(k / m.pool);
    if (c >= m.cols) return undefined;
    const col = new Float32Array(n);
    for (let q = 0; q < n && q < m.queries; q++) col[q] = map[Math.floor(q / m.pool) * m.cols + c];
    return col;
  });
}

let selectedPending = false;
/**
 * While layers stream, the grid comes first: the selected head's Plotly heatmap (its first draw
 * takes ~150 ms) is drawn in a task after the next frame, once however many layers arrive.
 */
function showSelectedAfterPaint(): void {
  if (selectedPending) return;
  selectedPending = true;
  requestAnimationFrame(() =>
    setTimeout(() => {
      selectedPending = false;
      showSelected();
    }, 0),
  );
}

function setStatus(text: string, busy: boolean): void {
  statusEl.textContent = text;
  statusEl.classList.toggle('busy', busy);
}

function summary(c: Capture): string {
  const heads = new Set(c.heads);
  const headText = heads.size === 1 ? `${c.heads[0]} heads` : 'heads vary';
  return `${c.tokens.length} tokens · ${c.heads.length} layers × ${headText}`;
}

function handle(msg: HostToWebview): void {
  switch (msg.type) {
    case 'init':
      state = { ...state, ...msg.state };
      vscode.setState(state);
      document.body.dataset.theme = msg.theme;
      if (state.text) textArea.value = state.text;
      applyChoice(normaliseChoice(state), false);
      return;
    case 'captureStarted': {
      showError(undefined);
      inputWarning.show(msg.warnings);
      const heads: number[] = [];
      for (const l of msg.layers) heads[l.index] = l.heads;
      capture = { id: msg.captureId, modelName: msg.modelName, tokens: msg.tokens.map((t) => t.text), heads, maps: new Map() };
      capture.sourceTokens = msg.sourceTokens?.map((t) => t.text);
      capture.kinds = [];
      for (const l of msg.layers) capture.kinds[l.index] = l.kind;
      headTools.captureStarted(capture);
      headViews.captureStarted(heads);
      titleEl.textContent = msg.modelName;
      const sel = state.selected;
      const keep = sel && sel.layer < heads.length && sel.head < (heads[sel.layer] ?? 0);
      setState({ captureId: msg.captureId, modelName: msg.modelName, selected: keep ? sel : { layer: 0, head: 0 } });
      strip.setTokens(capture.tokens);
      legend.textContent = '';
      heatmap.clear();
      grid.reset(heads, capture.tokens.length);
      gridHeadTypes.reset(msg.tokens.map((t) => t.id));
      analysis.reset(capture.tokens, heads);
      rawMaps = undefined;
      internals.reset(msg.captureId, capture.tokens, heads);
      internals.select(state.selected!.layer, state.selected!.head);
      grid.select(state.selected!.layer, state.selected!.head);
      setStatus(`${summary(capture)} · capturing…`, true);
      showSelected();
      return;
    }
    case 'layer': {
      if (!capture || msg.captureId !== capture.id) return;
      const m = decodeLayer(msg);
      capture.maps.set(m.layer, m);
      grid.addLayer(m);
      gridHeadTypes.addLayer(m);
      analysis.addLayer(m);
      headViews.addLayer(m);
      legend.textContent = legendText(scaleControls.value(), grid.sharedMax(), grid.cellsPerPixel() * m.pool);
      setStatus(`${summary(capture)} · layer ${capture.maps.size} of ${capture.heads.length}`, true);
      if (state.selected?.layer === m.layer) showSelectedAfterPaint();
      return;
    }
    case 'captureDone':
      if (!capture || msg.captureId !== capture.id) return;
      setStatus(
        `${summary(capture)} · ${msg.executionProvider} · ${Math.round(msg.totalMs)} ms${msg.cancelled ? ' · cancelled' : ''}`,
        false,
      );
      return;
    case 'selectHead':
      if (!capture || (msg.layer < capture.heads.length && msg.head < (capture.heads[msg.layer] ?? 0))) selectHead(msg.layer, msg.head, false);
      return;
    case 'compare':
      headTools.openCompare(msg);
      showSelected();
      return;
    case 'error':
      // Errors that answer a request reject it (webview/hostClient.ts); these are the panel's.
      showError(msg.message);
      endCapture('failed');
      return;
    case 'prepare':
      prepare(msg);
      return;
  }
}

/**
 * A capture that ended without captureDone (failed, or cancelled before it started): the status
 * stops saying "capturing…", and a capture with no layer is cleared, so no empty grid, export
 * buttons or heatmap stay behind.
 */
function endCapture(how: string): void {
  if (!statusEl.classList.contains('busy')) {
    // Refused before it started (e.g. too many tokens): what is on screen is the capture before.
    if (capture && capture.maps.size > 0) setStatus(`${summary(capture)} · the previous capture (the last inspection ${how})`, false);
    else if (!capture) setStatus(`Inspection ${how}. Edit the text and press Inspect to try again.`, false);
    return;
  }
  if (!capture) return;
  if (capture.maps.size === 0) {
    setStatus(`Inspection ${how}: nothing to show. Edit the text and press Inspect to try again.`, false);
    capture = undefined;
    strip.setTokens([]);
    heatmap.clear();
    grid.reset([], 1);
    legend.textContent = '';
    showSelected();
    return;
  }
  setStatus(`${summary(capture)} · ${how} after ${capture.maps.size} of ${capture.heads.length} layers`, false);
}

function prepare(msg: Extract<HostToWebview, { type: 'prepare' }>): void {
  textArea.value = msg.text;
  setState({ text: msg.text });
  if (msg.status) {
    endCapture(msg.status);
    if (!capture) setStatus(`Inspection ${msg.status}. Edit the text and press Inspect to try again.`, false);
  }
  if (msg.modelName) {
    // A model just opened: the header names it; maps still on screen are said to be the old one's.
    titleEl.textContent = msg.modelName;
    const old = capture && capture.modelName !== msg.modelName ? ` The maps below are still ${capture.modelName}'s.` : '';
    setStatus(`${msg.modelName} is open: edit the text and press Inspect (Ctrl+Enter).${old}`, false);
  }
  if (msg.focus) focusText();
}

function safeHandle(msg: HostToWebview): void {
  try {
    handle(msg);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    showError(message);
    vscode.post({ type: 'log', level: 'error', message: `panel: ${message}` });
  }
}

if (reportMode) {
  const messages = JSON.parse(reportEl!.textContent || '[]') as HostToWebview[];
  for (const m of messages) safeHandle(m);
} else {
  setStatus('Waiting for a capture…', false);
}
