/**
 * KV-cache eviction policies mapped onto one prefill pass: for every layer, head and query row q
 * the set of keys the policy's cache would hold when q is the token being generated. Kept sets
 * are chosen from the full-cache maps of each layer (what the policy scores with), then
 * imposed on the model by masks (kvSimulation.ts). Rows q < B keep every key: the cache is not
 * full yet. Mappings, with the papers' reference code they follow, are in docs/serving.md.
 */

export type EvictionPolicy = 'streaming' | 'h2o' | 'snapkv' | 'tova';
export const POLICIES: EvictionPolicy[] = ['streaming', 'h2o', 'snapkv', 'tova'];

export const POLICY_PAPERS: Record<EvictionPolicy, string> = {
  streaming: 'StreamingLLM: Xiao et al. 2023, Efficient Streaming Language Models with Attention Sinks',
  h2o: 'H2O: Zhang et al. 2023, H2O: Heavy-Hitter Oracle for Efficient Generative Inference of Large Language Models',
  snapkv: 'SnapKV: Li et al. 2024, SnapKV: LLM Knows What You are Looking for Before Generation',
  tova: 'TOVA: Oren et al. 2024, Transformers are Multi-State RNNs',
};

export interface PolicyOptions {
  policy: EvictionPolicy;
  /** Cache budget B, tokens per head. */
  budget: number;
  /** StreamingLLM's attention sinks s (< B); default 4 as in the paper. */
  sinks?: number;
}

/** One layer's kept keys: keep[(h * n + q) * n + k] = 1 when query q of head h sees key k. */
export interface KeepMask {
  heads: number;
  n: number;
  keep: Uint8Array;
}

export const DEFAULT_SINKS = 4;
/** SnapKV's observation window and pooling kernel (the reference's defaults: 32, avgpool 5). */
export const SNAPKV_WINDOW = 32;
export const SNAPKV_KERNEL = 5;

/** Observation window of SnapKV at budget B: 32, or half the budget when B is small. */
export function snapWindow(budget: number): number {
  return budget < 2 ? 0 : Math.max(1, Math.min(SNAPKV_WINDOW, Math.floor(budget / 2)));
}

/** H2O's split of B: half heavy hitters, half recent window (the paper's 50/50 setting). */
export function h2oSplit(budget: number): { heavy: number; recent: number } {
  const heavy = Math.floor(budget / 2);
  return { heavy, recent: budget - heavy };
}

function fullRows(keep: Uint8Array, h: number, n: number, upto: number): void {
  for (let q = 0; q < Math.min(upto, n); q++) keep.fill(1, (h * n + q) * n, (h * n + q) * n + q + 1);
}

/** The key of `cache` with the lowest score among those allowed; ties evict the oldest. */
function argmin(cache: number[], score: (k: number) => number, allowed: (k: number) => boolean): number {
  let best = -1;
  let bestScore = Infinity;
  for (let i = 0; i < cache.length; i++) {
    const k = cache[i];
    if (!allowed(k)) continue;
    const s = score(k);
    if (s < bestScore || (s === bestScore && best >= 0 && k < cache[best])) {
      best = i;
      bestScore = s;
    }
  }
  return best;
}

/** StreamingLLM: query q keeps {0 … s−1} ∪ {q−(B−s)+1 … q}; rows q < B keep everything. */
function streaming(heads: number, n: number, budget: number, sinks: number): Uint8Array {
  const keep = new Uint8Array(heads * n * n);
  for (let h = 0; h < heads; h++) {
    fullRows(keep, h, n, budget);
    for (let q = budget; q < n; q++) {
      const r = (h * n + q) * n;
      keep.fill(1, r, r + sinks);
      keep.fill(1, r + q - (budget - sinks) + 1, r + q + 1);
    }
  }
  return keep;
}

/**
 * H2O as a cache that evolves token by token (the reference's local_heavy_hitter_mask): each
 * new key enters; when the cache holds B + 1 keys, the one with the lowest accumulated
 * attention outside the recent window leaves for good. Row q keeps the cache after step q;
 * query q's attention is then added to the scores of the keys it kept.
 */
function h2o(probs: Float32Array, heads: number, n: number, budget: number): Uint8Array {
  const keep = new Uint8Array(heads * n * n);
  const { recent } = h2oSplit(budget);
  const acc = new Float64Array(n);
  for (let h = 0; h < heads; h++) {
    acc.fill(0);
    const cache: number[] = [];
    for (let q = 0; q < n; q++) {
      cache.push(q);
      if (cache.length > budget) {
        const i = argmin(cache, (k) => acc[k], (k) => k <= q - recent);
        cache.splice(i, 1);
      }
      const r = (h * n + q) * n;
      for (const k of cache) {
        keep[r + k] = 1;
        acc[k] += probs[r + k];
      }
    }
  }
  return keep;
}

/**
 * TOVA: when the cache exceeds B, drop the key with the lowest attention of the current query,
 * averaged over the layer's heads (the reference TOVA cache and kvpress's TOVAPress), each
 * head's weights renormalised over the keys the cache holds. One kept set per layer.
 */
function tova(probs: Float32Array, heads: number, n: number, budget: number): Uint8Array {
  const keep = new Uint8Array(heads * n * n);
  const cache: number[] = [];
  const norm = new Float64Array(heads);
  for (let q = 0; q < n; q++) {
    cache.push(q);
    if (cache.length > budget) {
      for (let h = 0; h < heads; h++) {
        const r = (h * n + q) * n;
        let z = 0;
        for (const k of cache) z += probs[r + k];
        norm[h] = z > 0 ? 1 / z : 0;
      }
      const score = (k: number) => {
        let s = 0;
        for (let h = 0; h < heads; h++) s += probs[(h * n + q) * n + k] * norm[h];
        return s / heads;
      };
      cache.splice(argmin(cache, score, () => true), 1);
    }
    for (let h = 0; h < heads; h++) for (const k of cache) keep[(h * n + q) * n + k] = 1;
  }
  return keep;
}

/**
 * SnapKV: query q is the first token generated after a prompt x_<q that SnapKV compressed to
 * B − 1 keys: the observation window (rows q−w … q−1) votes with its attention summed over the
 * prefix keys k < q−w, smoothed by average pooling (kernel 5, zero padding, as the reference's
 * avg_pool1d), and the top B − 1 − w prefix keys stay with the window; q sees those and itself.
 */
function snapkv(probs: Float32Array, heads: number, n: number, budget: number): Uint8Array {
  const keep = new Uint8Array(heads * n * n);
  const w = snapWindow(budget);
  const top = budget - 1 - w;
  const half = Math.floor(SNAPKV_KERNEL / 2);
  const votes = new Float64Array(n);
  const pooled = new Float64Array(n);
  for (let h = 0; h < heads; h++) {
    fullRows(keep, h, n, budget);
    const row = (q: number) => (h * n + q) * n;
    for (let q = budget; q < n; q++) {
      const r = row(q);
      const prefix = q - w;
      votes.fill(0, 0, prefix);
      for (let i = prefix; i < q; i++) for (let k = 0; k < prefix; k++) votes[k] += probs[row(i) + k];
      for (let k = 0; k < prefix; k++) {
        let s = 0;
        for (let j = k - half; j <= k + half; j++) if (j >= 0 && j < prefix) s += votes[j];
        pooled[k] = s / SNAPKV_KERNEL;
      }
      if (top > 0) keepTop(pooled, prefix, top, keep, r);
      keep.fill(1, r + prefix, r + q + 1);
    }
  }
  return keep;
}

/**
 * Marks the `top` highest of scores[0..len) in keep[r + k], ties to the lower index: the set a
 * sort by (score desc, index asc) would take, found with a native numeric sort of the values
 * (a comparator sort per query row dominated SnapKV's cost).
 */
function keepTop(scores: Float64Array, len: number, top: number, keep: Uint8Array, r: number): void {
  if (top >= len) {
    keep.fill(1, r, r + len);
    return;
  }
  const sorted = scores.slice(0, len).sort();
  const threshold = sorted[len - top];
  let above = 0;
  for (let k = 0; k < len; k++) if (scores[k] > threshold) above++;
  let ties = top - above;
  for (let k = 0; k < len; k++) {
    if (scores[k] > threshold) keep[r + k] = 1;
    else if (scores[k] === threshold && ties > 0) {
      keep[r + k] = 1;
      ties--;
    }
  }
}

/** The kept keys of one causal self-attention layer ([heads, n, n] probabilities). */
export function keepMask(probs: Float32Array, heads: number, n: number, o: PolicyOptions): KeepMask {
  const b = o.budget;
  switch (o.policy) {
    case 'streaming':
      return { heads, n, keep: streaming(heads, n, b, o.sinks ?? Math.min(DEFAULT_SINKS, b - 1)) };
    case 'h2o':
      return { heads, n, keep: h2o(probs, heads, n, b) };
    case 'tova':
      return { heads, n, keep: tova(probs, heads, n, b) };
    case 'snapkv':
      return { heads, n, keep: snapkv(probs, heads, n, b) };
  }
}

/** Mean over all query rows of the mass the kept keys hold, per head (rows q < B count as 1). */
export function massKept(probs: Float32Array, mask: KeepMask): number[] {
  const { heads, n, keep } = mask;
  const out: number[] = [];
  for (let h = 0; h < heads; h++) {
    let total = 0;
    for (let q = 0; q < n; q++) {
      const r = (h * n + q) * n;
      let s = 0;
      let kept = 0;
      for (let k = 0; k <= q; k++) {
        if (!keep[r + k]) continue;
        s += probs[r + k];
        kept++;
      }
      // A row that keeps every key keeps all its mass: 1, not the float sum of its weights.
      total += kept === q + 1 ? 1 : s;
    }
    out.push(total / n);
  }
  return out;
}
