/**
 * Per-layer cost of each attention variant, composed from formulas.ts only. A layer case is one
 * attention block for one batch element: n queries against m keys (prefill: m = n; one decode
 * step: n = 1, m = the context), with the layer's own window from the config (null = full).
 * Projections and weights are added by estimate.ts; here is what differs between variants.
 */
import * as F from './formulas';

export interface LayerCase {
  n: number;
  m: number;
  window: number | null;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** On-chip memory in elements (M of Dao et al. 2022). */
  sramElements: number;
  decode: boolean;
}

export interface LayerCost {
  /** KV heads the variant uses (GQA/MQA change them; the projections follow). */
  kvHeads: number;
  qkFlops: number;
  avFlops: number;
  softmaxFlops: number;
  /** Sequence projections, hashing, feature maps. */
  otherFlops: number;
  /** HBM traffic of the attention core (not the Q/K/V/O projections), elements. */
  coreElements: number;
  /** Score/probability matrix (or what stands for it) held in memory, elements. */
  matrixElements: number;
  /** Elements this layer caches for decoding at context m. */
  cacheElements: number;
  /** Cache growth per token, elements (default 2·kvHeads·d; 0 for a recurrent state). */
  cachePerTokenElements?: number;
}

export type VariantParams = Record<string, number>;

export interface EfficiencyVariant {
  id: string;
  name: string;
  paper: string;
  /** Defaults may depend on the model (the configured window, KV heads). */
  defaults(c: { heads: number; kvHeads: number; window: number | null }): VariantParams;
  layer(c: LayerCase, p: VariantParams): LayerCost;
  note?: string;
}

/** Materialised attention over `keysPerQuery` keys: Algorithm 0 of Dao et al. 2022 with GQA sharing K/V reads. */
function materialised(c: LayerCase, keysPerQuery: number, kvHeads: number, mRead = keysPerQuery): LayerCost {
  const pairs = c.n * keysPerQuery;
  const d = c.headDim;
  // K and V are read once per KV head; the heads of a group share them.
  const core = c.heads * (F.standardAttentionHbmElements(c.n, mRead, d) - 4 * c.n * mRead + 4 * pairs) - (c.heads - kvHeads) * 2 * mRead * d;
  return {
    kvHeads,
    qkFlops: F.scoreFlops(pairs, c.heads, d),
    avFlops: F.valueFlops(pairs, c.heads, d),
    softmaxFlops: F.softmaxFlops(pairs, c.heads),
    otherFlops: 0,
    coreElements: core,
    matrixElements: c.heads * pairs,
    cacheElements: 2 * kvHeads * d * F.cachedTokens(c.m, c.window),
  };
}

const configured = (c: LayerCase) => F.cachedTokens(c.m, c.window);

function defaultGroups(heads: number, kvHeads: number): number {
  if (kvHeads > 1 && kvHeads < heads) return kvHeads;
  for (let g = Math.max(1, Math.floor(heads / 4)); g >= 1; g--) if (heads % g === 0) return g;
  return 1;
}

export const EFFICIENCY_VARIANTS: EfficiencyVariant[] = [
  {
    id: 'exact', name: 'Exact (standard) attention', paper: 'Vaswani et al. 2017; IO of Dao et al. 2022 Algorithm 0',
    defaults: () => ({}),
    layer: (c) => materialised(c, configured(c), c.kvHeads),
  },
  {
    id: 'flash', name: 'FlashAttention', paper: 'Dao et al. 2022, FlashAttention, Theorem 2',
    defaults: () => ({}),
    layer: (c) => {
      const keys = configured(c);
      const base = materialised(c, keys, c.kvHeads);
      const d = c.headDim;
      const core = c.heads * F.flashAttentionHbmElements(c.n, keys, d, c.sramElements) - (c.heads - c.kvHeads) * 2 * keys * d;
      return { ...base, coreElements: core, matrixElements: c.heads * F.flashAttentionExtraElements(c.n) };
    },
  },
  {
    id: 'linear', name: 'Linear attention', paper: 'Katharopoulos et al. 2020, Transformers are RNNs',
    note: 'Causal linear attention decodes as an RNN: its cache is a fixed d x d state per head.',
    defaults: () => ({}),
    layer: (c) => {
      const d = c.headDim;
      const total = F.linearAttentionFlops(c.n, c.m, d);
      const qk = 2 * c.m * d * d;
      const av = 2 * c.n * d * d;
      const state = F.linearAttentionStateElements(d);
      // A decode step reads and writes the state instead of the keys and values.
      const core = c.decode ? c.heads * (2 * c.n * d + 2 * d + 2 * state) : c.heads * 2 * c.n * d + c.kvHeads * 2 * c.m * d;
      return {
        kvHeads: c.kvHeads, qkFlops: qk * c.heads, avFlops: av * c.heads, softmaxFlops: 0,
        otherFlops: (total - qk - av) * c.heads, coreElements: core,
        matrixElements: c.heads * state, cacheElements: c.heads * state, cachePerTokenElements: 0,
      };
    },
  },
  {
    id: 'linformer', name: 'Linformer', paper: 'Wang et al. 2020, Linformer (k = 256)',
    note: 'Linformer is not causal: a decode step re-projects the whole cache.',
    defaults: () => ({ k: 256 }),
    layer: (c, p) => {
      const k = p.k;
      const base = materialised(c, k, c.kvHeads, c.m);
      // Projected K and V (k x d each) are written and read back once per head.
      const core = base.coreElements + c.heads * 4 * k * c.headDim;
      return { ...base, otherFlops: c.heads * F.linformerProjectionFlops(c.m, k, c.headDim), coreElements: core, cacheElements: 2 * c.kvHeads * c.headDim * c.m };
    },
  },
  {
    id: 'lsh', name: 'LSH attention (Reformer)', paper: 'Kitaev et al. 2020, Reformer (chunks of 64, 4 hash rounds)',
    defaults: () => ({ chunk: 64, rounds: 4 }),
    layer: (c, p) => {
      const keys = F.lshKeysPerQuery(c.m, p.chunk, p.rounds);
      const base = materialised(c, keys, c.kvHeads, c.m);
      const hashed = c.decode ? 1 : c.m;
      const hash = F.lshHashFlops(c.m, c.headDim, p.chunk, p.rounds) * (hashed / c.m);
      return { ...base, otherFlops: c.heads * hash, cacheElements: 2 * c.kvHeads * c.headDim * c.m };
    },
  },
  {
    id: 'sliding', name: 'Sliding-window attention', paper: 'Beltagy et al. 2020, Longformer; Jiang et al. 2023, Mistral 7B',
    defaults: (m) => ({ window: m.window ?? 512 }),
    layer: (c, p) => materialised({ ...c, window: p.window }, F.slidingKeysPerQuery(c.m, p.window), c.kvHeads, F.slidingKeysPerQuery(c.m, p.window)),
  },
  {
    id: 'bigbird', name: 'BigBird', paper: 'Zaheer et al. 2020, Big Bird (blocks of 64: 3 window, 3 random, 2 global)',
    defaults: () => ({ block: 64, windowBlocks: 3, randomBlocks: 3, globalBlocks: 2 }),
    layer: (c, p) => {
      const pairs = c.decode
        ? Math.min(c.m, (p.windowBlocks + p.randomBlocks + p.globalBlocks) * p.block)
        : F.bigBirdPairs(c.n, c.m, p.block, p.windowBlocks, p.randomBlocks, p.globalBlocks);
      const base = materialised(c, pairs / c.n, c.kvHeads, c.m);
      return { ...base, cacheElements: 2 * c.kvHeads * c.headDim * c.m };
    },
  },
  {
    id: 'mha', name: 'Multi-head attention (one KV head per head)', paper: 'Vaswani et al. 2017',
    defaults: () => ({}),
    layer: (c) => materialised(c, configured(c), c.heads),
  },
  {
    id: 'gqa', name: 'Grouped-query attention', paper: 'Ainslie et al. 2023, GQA',
    defaults: (m) => ({ kvHeads: defaultGroups(m.heads, m.kvHeads) }),
    layer: (c, p) => materialised(c, configured(c), p.kvHeads),
  },
  {
    id: 'mqa', name: 'Multi-query attention (one KV head)', paper: 'Shazeer 2019, Fast Transformer Decoding',
    defaults: () => ({}),
    layer: (c) => materialised(c, configured(c), 1),
  },
];

export function findVariant(id: string): EfficiencyVariant | undefined {
  return EFFICIENCY_VARIANTS.find((v) => v.id === id);
}
