/**
 * "Inside the head" in the Attention panel: the query–key scatter (AttentionViz), the neuron
 * view (BertViz), value-weighted maps and the mixing ratio (Kobayashi et al. 2020, 2021) and head
 * ablation. Data comes from the runtime on request (protocol/internals.ts) for the capture on
 * show; nothing is asked for until the section is opened, so a capture costs no more than before.
 */
import Plotly from 'plotly.js-strict-dist-min';
import { decodeFloat32 } from '../../protocol/encoding';
import type { AblationData, InternalsToHost, InternalsToWebview, LayerInternalsData } from '../../protocol/internals';
import { el, selectControl, setOptions } from '../views/controls';
import type { OpenHead } from '../views/view';
import { AblationView } from './ablationView';
import { drawNeuronView } from './neuronView';
import { embedQk, type Projection, type QkGroup, type QkPoints } from './qkGeometry';
import { QkScatter, type ColourBy } from './qkScatter';
import './internals.css';

type WithoutId<T> = T extends unknown ? Omit<T, 'requestId'> : never;

export interface DecodedInternals extends Omit<LayerInternalsData, 'q' | 'k' | 'valueNorms' | 'mixing'> {
  q?: Float32Array;
  k?: Float32Array;
  valueNorms?: Float32Array;
  mixing?: Float32Array;
}

export function decodeInternals(d: LayerInternalsData): DecodedInternals {
  return {
    ...d,
    q: d.q ? decodeFloat32(d.q) : undefined,
    k: d.k ? decodeFloat32(d.k) : undefined,
    valueNorms: d.valueNorms ? decodeFloat32(d.valueNorms) : undefined,
    mixing: d.mixing ? decodeFloat32(d.mixing) : undefined,
  };
}

/** Where head h sits in q and k (they may hold only some heads), or -1. */
export function qkSlot(x: DecodedInternals, h: number): number {
  return x.qkHeads ? x.qkHeads.indexOf(h) : h < x.heads ? h : -1;
}

/** softmax(q·kᵀ·scale + mask) of one query row (corpus texts, which have no captured map). */
export function rowFromQk(x: DecodedInternals, h: number, query: number): Float64Array {
  const { n, dHead: d } = x;
  const head = qkSlot(x, h);
  const row = new Float64Array(n).fill(-Infinity);
  for (let j = 0; j < n; j++) {
    if ((x.causal && j > query) || (x.window !== undefined && j <= query - x.window)) continue;
    let s = 0;
    for (let c = 0; c < d; c++) s += x.q![(head * n + query) * d + c] * x.k![(head * n + j) * d + c];
    row[j] = s * x.scale;
  }
  const mx = Math.max(...row);
  let z = 0;
  for (let j = 0; j < n; j++) z += row[j] = Math.exp(row[j] - mx);
  return row.map((v) => v / z);
}

export interface InternalsHost {
  /** Posts the request under a fresh id (webview/hostClient.ts); resolves with its reply. */
  request(make: (requestId: number) => InternalsToHost): Promise<InternalsToWebview>;
  openHead: OpenHead;
  /** The captured map row of (layer, head, query) at full resolution, if the panel holds it. */
  mapRow(layer: number, head: number, query: number): Float32Array | undefined;
  /** Value-weighted maps on (per-key norms of every layer) or off (undefined). */
  setValueWeighted(norms: Map<number, DecodedInternals> | undefined): string | undefined;
  showError(message: string): void;
}

export class InternalsSection {
  private captureId: string | undefined;
  private tokens: string[] = [];
  private heads: number[] = [];
  private layer = 0;
  private head = 0;
  private query = 0;
  private readonly cache = new Map<number, DecodedInternals>();
  private corpus: { name: string; layer: number; texts: { tokens: string[]; data: DecodedInternals }[] } | undefined;
  private scope: 'head' | 'layer' = 'head';
  private projection: Projection = 'pca';
  private colourBy: ColourBy = 'kind';
  private readonly details: HTMLDetailsElement;
  private readonly status: HTMLElement;
  private readonly scatter: QkScatter;
  private readonly scatterEl: HTMLElement;
  private readonly querySelect: HTMLSelectElement;
  private readonly neuronVectors: HTMLElement;
  private readonly neuronScores: HTMLElement;
  private readonly mixingEl: HTMLElement;
  private readonly valueWeighted: HTMLInputElement;
  private readonly ablation: AblationView;
  private readonly corpusButton: HTMLButtonElement;

  constructor(section: HTMLElement, private readonly host: InternalsHost, reportMode: boolean) {
    section.classList.add('internals-section');
    this.details = el('details', 'internals-details', section);
    el('summary', 'section-title', this.details, 'Inside the head: queries and keys, neuron view, value-weighted attention, ablation');
    this.status = el('p', 'hint internals-status', this.details, reportMode ? 'These views ask the runtime for queries, keys and values; open the panel in VS Code to use them.' : '');
    const controls = el('div', 'internals-controls', this.details);
    selectControl(controls, 'Points', 'qk-scope', [['head', 'selected head'], ['layer', 'all heads of the layer']], 'head', (v) => { this.scope = v as 'head' | 'layer'; void this.drawScatter(); });
    selectControl(controls, 'Projection', 'qk-projection', [['pca', 'PCA'], ['umap', 'UMAP']], 'pca', (v) => { this.projection = v as Projection; void this.drawScatter(); });
    selectControl(controls, 'Colour', 'qk-colour', [['kind', 'query / key'], ['position', 'position'], ['head', 'head']], 'kind', (v) => { this.colourBy = v as ColourBy; void this.drawScatter(); });
    this.corpusButton = el('button', 'internals-button corpus-button', controls, 'Embed a corpus…');
    this.corpusButton.type = 'button';
    this.corpusButton.title = 'Pick a text file with one text per line: all its queries and keys go into one embedding';
    this.corpusButton.addEventListener('click', () => this.askCorpus());
    const vwLabel = el('label', 'control', controls);
    this.valueWeighted = el('input', 'value-weighted-toggle', vwLabel);
    this.valueWeighted.type = 'checkbox';
    el('span', 'control-label', vwLabel, 'Value-weighted maps ‖α·f(x)‖ in every view');
    this.valueWeighted.addEventListener('change', () => void this.toggleValueWeighted());
    const ablate = el('button', 'internals-button ablate-button', controls, 'Ablate every head');
    ablate.type = 'button';
    ablate.addEventListener('click', () => this.askAblation());
    if (reportMode) controls.hidden = true;

    const qk = el('div', 'qk-area', this.details);
    this.scatterEl = el('div', 'qk-scatter', qk);
    const rowEl = el('div', 'qk-row', qk, 'Click a query (circle) to see its attention row.');
    this.scatter = new QkScatter(this.scatterEl, rowEl, (pts, i) => this.rowOf(pts, i));

    el('h3', 'internals-title', this.details, 'Neuron view');
    const nc = el('div', 'internals-controls', this.details);
    this.querySelect = selectControl(nc, 'Query token', 'neuron-query', [], '', (v) => { this.query = Number(v); void this.drawNeuron(); });
    this.neuronVectors = el('div', 'neuron-vectors', this.details);
    this.neuronScores = el('div', 'neuron-scores', this.details);
    el('h3', 'internals-title', this.details, 'Mixing ratio with the residual (Kobayashi et al. 2021)');
    this.mixingEl = el('div', 'mixing-plot', this.details, 'Turn on value-weighted maps to compute every layer’s mixing ratio.');
    el('h3', 'internals-title', this.details, 'Head importance by ablation');
    this.ablation = new AblationView(this.details, host.openHead);
    this.details.addEventListener('toggle', () => this.details.open && void this.refresh());
  }

  reset(captureId: string, tokens: string[], heads: number[]): void {
    this.captureId = captureId;
    this.tokens = tokens;
    this.heads = heads;
    this.cache.clear();
    this.corpus = undefined;
    this.query = Math.max(0, tokens.length - 1);
    setOptions(this.querySelect, tokens.map((t, i) => [String(i), `${i}: ${t}`]), String(this.query));
    this.valueWeighted.checked = false;
    this.scatter.clear();
    this.ablation.clear();
    this.status.textContent = '';
    delete this.scatterEl.dataset.points;
  }

  select(layer: number, head: number): void {
    const changedLayer = layer !== this.layer;
    this.layer = layer;
    this.head = head;
    if (changedLayer && this.corpus?.layer !== layer) this.corpus = undefined;
    if (this.details.open) void this.refresh();
  }

  private request(m: WithoutId<InternalsToHost>, then: (r: InternalsToWebview) => void): void {
    this.host.request((requestId) => ({ ...m, requestId }) as InternalsToHost).then(then, (e: Error) => {
      this.status.textContent = e.message;
      this.host.showError(e.message);
    });
  }

  private layerInternals(layer: number): Promise<DecodedInternals> {
    const known = this.cache.get(layer);
    if (known?.q) return Promise.resolve(known);
    return new Promise((resolve) => {
      this.status.textContent = `Reading queries and keys of layer ${layer}…`;
      this.request({ type: 'requestInternals', captureId: this.captureId!, layers: [layer], qk: true }, (r) => {
        if (r.type !== 'internals') return;
        for (const d of r.layers) this.cache.set(d.layer, decodeInternals(d));
        this.status.textContent = this.cache.get(layer)?.notes.join(' ') ?? '';
        resolve(this.cache.get(layer)!);
      });
    });
  }

  private async refresh(): Promise<void> {
    if (!this.captureId) return;
    await this.drawScatter();
    await this.drawNeuron();
  }

  private groupsFor(x: DecodedInternals, tokens: string[], text: number): QkGroup[] {
    const heads = (this.scope === 'head' ? [this.head] : Array.from({ length: x.heads }, (_, h) => h)).filter((h) => qkSlot(x, h) >= 0);
    const { n, dHead: d } = x;
    return heads.map((h) => ({
      head: h, rows: n, d, tokens,
      q: x.q!.subarray(qkSlot(x, h) * n * d, (qkSlot(x, h) + 1) * n * d),
      k: x.k!.subarray(qkSlot(x, h) * n * d, (qkSlot(x, h) + 1) * n * d),
      text: new Int32Array(n).fill(text),
      position: Int32Array.from({ length: n }, (_, i) => i),
    }));
  }

  private async drawScatter(): Promise<void> {
    if (!this.captureId || !this.details.open) return;
    const t0 = performance.now();
    let groups: QkGroup[];
    let title: string;
    if (this.corpus && this.corpus.layer === this.layer) {
      groups = this.corpus.texts.flatMap((t, i) => this.groupsFor(t.data, t.tokens, i));
      if (groups.length === 0) {
        this.status.textContent = `The corpus was embedded for other heads; embed it again for head ${this.head}.`;
        return;
      }
      title = `Layer ${this.layer}, ${this.scope === 'head' ? `head ${this.head}` : 'all heads'}: ${this.corpus.texts.length} texts of ${this.corpus.name}`;
    } else {
      const x = await this.layerInternals(this.layer);
      if (!x.q) return;
      groups = this.groupsFor(x, this.tokens, 0);
      title = `Layer ${this.layer}, ${this.scope === 'head' ? `head ${this.head}` : 'all heads'}: queries and keys (${this.projection.toUpperCase()})`;
    }
    const pts = embedQk(groups, this.projection);
    await this.scatter.draw(pts, this.colourBy, title);
    // Read by tests and the benchmark: how many points, and the time from data to drawn plot.
    this.scatterEl.dataset.points = String(pts.count);
    this.scatterEl.dataset.drawMs = (performance.now() - t0).toFixed(1);
  }

  private rowOf(pts: QkPoints, i: number): { row: ArrayLike<number>; keyTokens: string[] } | undefined {
    if (!pts.isQuery[i]) return undefined;
    const head = pts.head[i];
    const q = pts.position[i];
    if (this.corpus && this.corpus.layer === this.layer) {
      const t = this.corpus.texts[pts.text[i]];
      return { row: rowFromQk(t.data, head, q), keyTokens: t.tokens };
    }
    const mapped = this.host.mapRow(this.layer, head, q);
    const x = this.cache.get(this.layer);
    return { row: mapped ?? (x ? rowFromQk(x, head, q) : new Float64Array(0)), keyTokens: this.tokens };
  }

  private async drawNeuron(): Promise<void> {
    if (!this.captureId || !this.details.open) return;
    const x = await this.layerInternals(this.layer);
    if (!x.q || !x.k) return;
    const query = Math.min(this.query, x.n - 1);
    await drawNeuronView(this.neuronVectors, this.neuronScores, { head: this.head, query, n: x.n, d: x.dHead, q: x.q, k: x.k, scale: x.scale, causal: x.causal, window: x.window, tokens: this.tokens });
  }

  private askCorpus(): void {
    if (!this.captureId) return;
    this.status.textContent = 'Pick a text file with one text per line…';
    const layer = this.layer;
    // Only the heads on show travel: a corpus's q and k for every head would be many times larger.
    const heads = this.scope === 'head' ? [this.head] : undefined;
    this.request({ type: 'requestCorpus', captureId: this.captureId, layer, ...(heads ? { heads } : {}) }, (r) => {
      if (r.type !== 'corpus') return;
      this.corpus = { name: r.name, layer, texts: r.texts.map((t) => ({ tokens: t.tokens, data: decodeInternals(t.data) })) };
      this.status.textContent = `${r.texts.length} texts of ${r.name}, ${r.texts.reduce((a, t) => a + t.tokens.length, 0)} tokens in one embedding.`;
      void this.drawScatter();
    });
  }

  private askAblation(): void {
    if (!this.captureId) return;
    this.status.textContent = 'Removing each head in turn…';
    this.request({ type: 'requestAblation', captureId: this.captureId }, (r) => {
      if (r.type !== 'ablation') return;
      this.status.textContent = '';
      void this.ablation.show(r.result as AblationData);
    });
  }

  private async toggleValueWeighted(): Promise<void> {
    if (!this.valueWeighted.checked) {
      this.host.setValueWeighted(undefined);
      return;
    }
    const layers = this.heads.map((_, l) => l);
    const missing = layers.filter((l) => !this.cache.get(l)?.valueNorms);
    const apply = () => {
      const refused = this.host.setValueWeighted(new Map(layers.map((l) => [l, this.cache.get(l)!])));
      if (refused) {
        this.valueWeighted.checked = false;
        this.status.textContent = refused;
      }
      void this.drawMixing();
    };
    if (missing.length === 0) return apply();
    this.status.textContent = 'Reading value norms of every layer…';
    this.request({ type: 'requestInternals', captureId: this.captureId!, layers: missing, qk: false }, (r) => {
      if (r.type !== 'internals') return;
      for (const d of r.layers) {
        const known = this.cache.get(d.layer);
        this.cache.set(d.layer, { ...decodeInternals(d), q: known?.q, k: known?.k });
      }
      this.status.textContent = '';
      apply();
    });
  }

  private async drawMixing(): Promise<void> {
    const layers = this.heads.map((_, l) => this.cache.get(l));
    if (layers.some((x) => !x?.mixing)) {
      this.mixingEl.textContent = 'This model has no residual Add after its output projections that the runtime could find; no mixing ratio.';
      return;
    }
    this.mixingEl.textContent = '';
    const means = layers.map((x) => x!.mixing!.reduce((a, b) => a + b, 0) / x!.mixing!.length);
    const style = getComputedStyle(document.body);
    await Plotly.react(this.mixingEl, [{ type: 'bar', x: means.map((_, l) => l), y: means, hovertemplate: 'layer %{x}: %{y:.3f}<extra></extra>', marker: { color: '#2f7ed8' } }], {
      margin: { l: 50, r: 10, t: 10, b: 40 },
      paper_bgcolor: 'rgba(0,0,0,0)', plot_bgcolor: 'rgba(0,0,0,0)',
      font: { color: style.getPropertyValue('--vscode-foreground').trim() || style.color || '#ccc' },
      xaxis: { title: { text: 'layer' }, dtick: 1 },
      yaxis: { title: { text: 'mean mixing ratio' }, range: [0, 1] },
    }, { displaylogo: false, responsive: true, showTips: false });
  }
}
