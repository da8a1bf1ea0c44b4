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
    for (const key of [`mean${m.layer}`, `max${m.layer}`]) this.cache.delete(key);
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

  /** A line saying what the pictures are computed on, when that is not the plain full maps. */
  caveat(): string {
    const parts: string[] = [];
    if (this.pool > 1) {
      const exact = [...this.layers.values()].every((m) => m.stats !== undefined);
      const k = this.layers.values().next().value?.stats?.topK;
      parts.push(
        exact
          ? `Maps arrived pooled (${this.pool} × ${this.pool} token blocks, block maxima): head statistics are exact (computed by the runtime at full resolution, top-k mass for k = ${k}); rollout, flow, similarity and layer views use the pooled cells and are approximate.`
          : `Maps arrived pooled (${this.pool} × ${this.pool} token blocks, block maxima): figures are approximate, of the pooled cells, not single tokens.`,
      );
    }
    if (this.hideSpecial && this.hiddenCount() > 0) parts.push(`${this.hiddenCount()} special token(s) hidden; each row renormalised over the remaining keys.`);
    if (!this.complete) parts.push(`Layers received: ${this.layers.size} of ${this.heads.length}.`);
    return parts.join(' ');
  }
}
