/**
 * What the analysis views share: the capture's tokens and layer maps as they arrive, the "hide
 * special tokens" switch, and derived matrices (each head restricted to the kept tokens, the
 * head means of each layer) cached until the next layer, capture or switch change.
 */
import type { LayerMaps } from '../layerMaps';
import { aggregateHeads, headMat, type Mat } from '../analysis/matrix';
import { isSpecialToken, keptTokens, restrictMap } from '../analysis/specialTokens';

export class AnalysisContext {
  tokens: string[] = [];
  /** Head counts per layer, from captureStarted. */
  heads: number[] = [];
  readonly layers = new Map<number, LayerMaps>();
  hideSpecial = false;
  private cache = new Map<string, Mat>();
  private keptCache: number[] | undefined;

  reset(tokens: string[], heads: number[]): void {
    this.tokens = tokens;
    this.heads = heads;
    this.layers.clear();
    this.invalidate();
  }

  addLayer(m: LayerMaps): void {
    this.layers.set(m.layer, m);
    // Only this layer's matrices change (kept cells depend on the pool, known from layer 0 on).
    for (const key of [`mean${m.layer}`, `max${m.layer}`, `rollout${m.layer}`]) this.cache.delete(key);
    for (const key of [...this.cache.keys()]) if (key.startsWith(`h${m.layer}.`)) this.cache.delete(key);
    this.keptCache = undefined;
  }

  /** Bumped whenever every derived figure is stale (new capture, switch changed). */
  epoch = 0;

  invalidate(): void {
    this.cache.clear();
    this.keptCache = undefined;
    this.epoch++;
  }

  get complete(): boolean {
    return this.heads.length > 0 && this.layers.size === this.heads.length;
  }

  /** Pool factor of the maps in hand (1: one cell per token). */
  get pool(): number {
    return this.layers.values().next().value?.pool ?? 1;
  }

  /** Layers whose maps are square self-attention (what rollout, flow and similarity use). */
  selfLayers(): LayerMaps[] {
    const out: LayerMaps[] = [];
    for (let l = 0; l < this.heads.length; l++) {
      const m = this.layers.get(l);
      if (m && m.rows === m.cols && m.queries === this.tokens.length) out.push(m);
    }
    return out;
  }

  /** Map cells (token indices at pool 1) kept in every picture. Pooled cells cannot be hidden. */
  kept(): number[] {
    if (this.keptCache) return this.keptCache;
    const cells = Math.ceil(this.tokens.length / this.pool);
    this.keptCache = this.pool === 1 ? keptTokens(this.tokens, this.hideSpecial) : Array.from({ length: cells }, (_, i) => i);
    return this.keptCache;
  }

  /** How many special tokens the switch hides (0 when maps are pooled). */
  hiddenCount(): number {
    return this.pool === 1 ? this.tokens.filter(isSpecialToken).length : 0;
  }

  /** Axis label of kept cell i. */
  label(i: number): string {
    const c = this.kept()[i];
    const p = this.pool;
    if (p === 1) return this.tokens[c] ?? '';
    return `#${c * p}–#${Math.min(this.tokens.length, (c + 1) * p) - 1}`;
  }

  /** Index in the text of the first token of kept cell i. */
  index(i: number): number {
    return this.kept()[i] * this.pool;
  }

  /** Hover name of kept cell i: the token and its index in the text. */
  describe(i: number): string {
    const c = this.kept()[i];
    return this.pool === 1 ? `"${this.tokens[c]}" (#${c})` : `tokens ${this.label(i)}`;
  }

  /** One head, restricted to the kept cells, rows renormalised when anything is hidden. */
  head(layer: number, head: number): Mat | undefined {
    const m = this.layers.get(layer);
    if (!m) return undefined;
    const key = `h${layer}.${head}`;
    let out = this.cache.get(key);
    if (!out) {
      const full = headMat(m.data, head, m.rows, m.cols);
      // Cross-attention keys are another text's tokens: only self-attention maps are restricted.
      const self = m.queries === this.tokens.length && m.keys === this.tokens.length;
      out = this.hideSpecial && self && this.pool === 1 ? restrictMap(full, this.kept(), this.kept()) : full;
      this.cache.set(key, out);
    }
    return out;
  }

  /** Mean or max over the heads of one layer (after hiding). */
  aggregate(layer: number, how: 'mean' | 'max'): Mat | undefined {
    const m = this.layers.get(layer);
    if (!m) return undefined;
    const key = `${how}${layer}`;
    let out = this.cache.get(key);
    if (!out) {
      out = aggregateHeads(Array.from({ length: m.heads }, (_, h) => this.head(layer, h)!), how);
      this.cache.set(key, out);
    }
    return out;
  }

  /**
   * What rollout multiplies for a layer: the mean over heads of the kept cells, or, for pooled
   * maps that carry the runtime's exact block means, the attention between token blocks: row r
   * is the mean over block r's query rows of the mass each key block receives (rows sum to 1),
   * rather than the mean of block maxima.
   */
  rolloutMatrix(layer: number): Mat | undefined {
    const m = this.layers.get(layer);
    if (!m) return undefined;
    if (m.pool === 1 || !m.blockMeans) return this.aggregate(layer, 'mean');
    const key = `rollout${layer}`;
    let out = this.cache.get(key);
    if (!out) {
      const { rows, cols, pool, keys } = m;
      const data = new Float64Array(rows * cols);
      // A block mean is over |r| x |c| cells; times |c| it is the mean over block r's rows.
      for (let c = 0; c < cols; c++) {
        const width = Math.min(keys, (c + 1) * pool) - c * pool;
        for (let r = 0; r < rows; r++) data[r * cols + c] = m.blockMeans[r * cols + c] * width;
      }
      out = { rows, cols, data };
      this.cache.set(key, out);
    }
    return out;
  }

  /** Whether rollout runs on the runtime's exact block means (pooled maps that carry them). */
  rolloutOnBlockMeans(): boolean {
    const layers = this.selfLayers();
    return this.pool > 1 && layers.length > 0 && layers.every((m) => m.blockMeans !== undefined);
  }

  /** [heads, keys] mass per token from the runtime, for pooled maps that carry it (pool 1: from the maps). */
  tokenKeyMass(layer: number): Float32Array | undefined {
    const m = this.layers.get(layer);
    return m && m.pool > 1 ? m.keyMass : undefined;
  }

  /** Hover name of token k of the text, whatever the pool. */
  describeToken(k: number): string {
    return `"${this.tokens[k] ?? ''}" (#${k})`;
  }

  /** A line saying what the pictures are computed on, when that is not the plain full maps. */
  caveat(): string {
    const parts: string[] = [];
    if (this.pool > 1) {
      const layers = [...this.layers.values()];
      const exact = layers.every((m) => m.stats !== undefined);
      const k = layers[0]?.stats?.topK;
      const sinks = layers.every((m) => m.keyMass !== undefined);
      const rollout = this.rolloutOnBlockMeans();
      const approximate = ['flow', 'similarity', 'layer', ...(rollout ? [] : ['rollout']), ...(sinks ? [] : ['sinks'])];
      const exactParts = [
        ...(sinks ? ["attention sinks use the runtime's exact mass per token"] : []),
        ...(rollout ? [`rollout multiplies the runtime's exact means of ${this.pool} × ${this.pool} blocks (token-level rollout needs the full maps)`] : []),
      ];
      parts.push(
        exact
          ? `Maps arrived pooled (${this.pool} × ${this.pool} token blocks, block maxima): head statistics are exact (computed by the runtime at full resolution, top-k mass for k = ${k})${exactParts.length ? `; ${exactParts.join('; ')}` : ''}; ${listed(approximate)} views use the pooled cells and are approximate.`
          : `Maps arrived pooled (${this.pool} × ${this.pool} token blocks, block maxima): figures are approximate, of the pooled cells, not single tokens.`,
      );
    }
    if (this.hideSpecial && this.hiddenCount() > 0) parts.push(`${this.hiddenCount()} special token(s) hidden; each row renormalised over the remaining keys.`);
    if (!this.complete) parts.push(`Layers received: ${this.layers.size} of ${this.heads.length}.`);
    return parts.join(' ');
  }
}

/** "a, b and c". */
function listed(names: string[]): string {
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}
