/**
 * Every cost formula of the efficiency model, each with the paper it comes from. Nothing else in
 * the project should hard-code a cost: estimate.ts, the config hovers and the panel call these.
 *
 * Conventions (stated once so the figures can be checked by hand):
 * - One multiply-add is 2 FLOPs (Kaplan et al. 2020; Narayanan et al. 2021).
 * - Score FLOPs count the whole n x m matrix even for causal models, as in the per-layer count
 *   24·B·s·h² + 4·B·s²·h of Narayanan et al. 2021 (SC'21, "Efficient Large-Scale Language Model
 *   Training on GPU Clusters Using Megatron-LM", Appendix); kernels that skip the masked half
 *   run at most this.
 * - "Elements" are tensor entries; callers multiply by the dtype's bytes.
 * - Per layer means all heads of one layer for one batch element unless a `batch` is passed.
 */

/** Bytes per element of the dtypes a config can name. */
export const DTYPE_BYTES = { fp32: 4, fp16: 2, bf16: 2, fp8: 1, int8: 1 } as const;
export type Dtype = keyof typeof DTYPE_BYTES;

/**
 * Q, K, V projections: X[n, dModel] times W_q[dModel, h·dh] and W_k, W_v[dModel, hKv·dh].
 * Vaswani et al. 2017 (Attention Is All You Need, §3.2.2); with hKv < h this is grouped-query
 * attention (Ainslie et al. 2023, GQA) or multi-query attention when hKv = 1 (Shazeer 2019).
 */
export function qkvProjectionFlops(n: number, dModel: number, h: number, hKv: number, dh: number): number {
  return 2 * n * dModel * (h + 2 * hKv) * dh;
}

/** Output projection O[n, h·dh] W_o[h·dh, dModel] (Vaswani et al. 2017, §3.2.2). */
export function outputProjectionFlops(n: number, dModel: number, h: number, dh: number): number {
  return 2 * n * h * dh * dModel;
}

/** Weights of one attention block, in elements (W_q, W_k, W_v, W_o; biases ignored). */
export function attentionWeightElements(dModel: number, h: number, hKv: number, dh: number): number {
  return dModel * (2 * h + 2 * hKv) * dh;
}

/** QKᵀ for `pairs` (query, key) pairs per head: 2·pairs·dh per head (Vaswani et al. 2017, eq. 1). */
export function scoreFlops(pairs: number, h: number, dh: number): number {
  return 2 * pairs * h * dh;
}

/** P·V: the same count as QKᵀ (Vaswani et al. 2017, eq. 1). Together 4·n²·d for d = h·dh. */
export function valueFlops(pairs: number, h: number, dh: number): number {
  return 2 * pairs * h * dh;
}

/**
 * Softmax with scaling: scale, running max, subtract and exp, sum, divide = 5 operations per
 * score. A counting convention (as fvcore/PyTorch FLOP counters); the papers leave it out.
 */
export const SOFTMAX_FLOPS_PER_SCORE = 5;
export function softmaxFlops(pairs: number, h: number): number {
  return SOFTMAX_FLOPS_PER_SCORE * pairs * h;
}

/**
 * KV cache per token: K and V of every layer, hKv heads of dh each. Pope et al. 2022
 * (Efficiently Scaling Transformer Inference, §2.1); hKv = num_key_value_heads (Ainslie et al.
 * 2023). Llama-2-7B fp16: 2·32·32·128·2 B = 512 KiB; Llama-3-8B: 2·32·8·128·2 B = 128 KiB.
 */
export function kvCacheBytesPerToken(layers: number, hKv: number, dh: number, bytes: number): number {
  return 2 * layers * hKv * dh * bytes;
}

/**
 * Tokens a layer keeps in its cache at context `context`: a sliding-window layer keeps only the
 * last `window` (Beltagy et al. 2020, Longformer; Jiang et al. 2023, Mistral 7B rolling buffer
 * cache §2), so its cache stops growing at the window.
 */
export function cachedTokens(context: number, window: number | null): number {
  return window == null ? context : Math.min(context, window);
}

/**
 * Standard attention HBM accesses, elements, one head (Dao et al. 2022, FlashAttention,
 * Algorithm 0 and Theorem 2: Θ(Nd + N²)): read Q, K; write S; read S; write P; read P, V;
 * write O. For n queries and m keys: 2·n·d + 2·m·d + 4·n·m.
 */
export function standardAttentionHbmElements(n: number, m: number, d: number): number {
  return 2 * n * d + 2 * m * d + 4 * n * m;
}

/** FlashAttention block sizes for SRAM of M elements (Dao et al. 2022, Algorithm 1, line 1). */
export function flashBlockSizes(d: number, sramElements: number): { bc: number; br: number } {
  const bc = Math.max(1, Math.ceil(sramElements / (4 * d)));
  return { bc, br: Math.min(bc, d) };
}

/**
 * FlashAttention HBM accesses, elements, one head (Dao et al. 2022, Algorithm 1; Theorem 2:
 * Θ(N²d²M⁻¹) for SRAM of M elements, d ≤ M ≤ Nd). K and V are read once; each of the
 * Tc = ⌈m/Bc⌉ outer iterations reads Q and O, writes O, and reads and writes ℓ and m (n each):
 * 2·m·d + Tc·(3·n·d + 4·n). With Bc = ⌈M/4d⌉ this is about 12·n·m·d²/M for large n, m.
 */
export function flashAttentionHbmElements(n: number, m: number, d: number, sramElements: number): number {
  const { bc } = flashBlockSizes(d, sramElements);
  const tc = Math.ceil(m / bc);
  return 2 * m * d + tc * (3 * n * d + 4 * n);
}

/** FlashAttention keeps no n x m matrix in HBM, only the softmax statistics ℓ and m (Dao et al. 2022, §3.1). */
export function flashAttentionExtraElements(n: number): number {
  return 2 * n;
}

/**
 * Linear attention, one head: φ(K)ᵀV (2·m·d·dv), φ(Q)·(φ(K)ᵀV) (2·n·d·dv), the normaliser
 * z = Σφ(K) (m·d) and φ(Q)·z (2·n·d), plus the elu+1 feature map (3 per entry of Q and K).
 * Katharopoulos et al. 2020 (Transformers are RNNs, eq. 4-6): O(N·d²) instead of O(N²·d).
 * The causal form is an RNN whose state is d x dv plus d (§3.4): its "cache" is constant.
 */
export function linearAttentionFlops(n: number, m: number, d: number): number {
  return 2 * m * d * d + 2 * n * d * d + m * d + 2 * n * d + 3 * (n + m) * d;
}
export function linearAttentionStateElements(d: number): number {
  return d * d + d;
}

/**
 * Linformer, one head: project K and V along the sequence to k rows (E, F of k x m: 2·k·m·d
 * each), then exact attention over k keys. Wang et al. 2020 (Linformer, eq. 7): O(n·k).
 */
export function linformerProjectionFlops(m: number, k: number, d: number): number {
  return 2 * 2 * k * m * d;
}

/**
 * Reformer LSH attention: per hash round, angular LSH with a random rotation d x (nb/2)
 * (nb = ⌈m / c⌉ buckets of about c keys), then each query attends its chunk of c and the one
 * before it: 2c keys per round. Kitaev et al. 2020 (Reformer, §2-3): O(r·n·c) pairs.
 */
export function lshBuckets(m: number, chunk: number): number {
  return Math.max(2, 2 * Math.ceil(m / chunk / 2));
}
export function lshHashFlops(m: number, d: number, chunk: number, rounds: number): number {
  return rounds * 2 * m * d * (lshBuckets(m, chunk) / 2);
}
export function lshKeysPerQuery(m: number, chunk: number, rounds: number): number {
  return rounds * Math.min(m, 2 * chunk);
}

/** Sliding window: each query sees at most `window` keys (Beltagy et al. 2020; Child et al. 2019). */
export function slidingKeysPerQuery(m: number, window: number): number {
  return Math.min(m, window);
}

/**
 * BigBird pairs: every query sees (window + random + global) blocks of b keys; the g·b global
 * queries see all m keys. Zaheer et al. 2020 (Big Bird, §2; ITC with w=3, r=3, g=2 blocks of 64).
 */
export function bigBirdPairs(n: number, m: number, block: number, windowBlocks: number, randomBlocks: number, globalBlocks: number): number {
  const globalQueries = Math.min(n, globalBlocks * block);
  const sparseKeys = Math.min(m, (windowBlocks + randomBlocks + globalBlocks) * block);
  return (n - globalQueries) * sparseKeys + globalQueries * m;
}

/** Arithmetic intensity, FLOPs per byte moved (Williams, Waterman & Patterson 2009, Roofline). */
export function arithmeticIntensity(flops: number, bytes: number): number {
  return bytes > 0 ? flops / bytes : Infinity;
}

/**
 * Roofline time: a kernel takes at least its FLOPs at peak throughput and at least its bytes at
 * peak bandwidth, whichever is longer (Williams, Waterman & Patterson 2009).
 */
export function rooflineSeconds(flops: number, bytes: number, peakFlops: number, bandwidth: number): { seconds: number; bound: 'compute' | 'memory' } {
  const compute = flops / peakFlops;
  const memory = bytes / bandwidth;
  return compute >= memory ? { seconds: compute, bound: 'compute' } : { seconds: memory, bound: 'memory' };
}
