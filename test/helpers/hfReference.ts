/**
 * Independent reference forward passes for the Hugging Face families, in float64 loops that
 * follow the published architectures (GPT-2, BERT/RoBERTa, Llama/Mistral/Qwen2 as implemented
 * in transformers' modeling_*.py). They read config.json keys directly and share no code with
 * server/hf, so a wrong builder and a wrong reference would have to be wrong the same way.
 */
import type { HfConfig } from './hfFixtures';

type W = (name: string) => Float32Array;
/**
 * Extra restriction on top of the causal mask: query i of head h in layer l sees key j only
 * when it returns true (simulated KV-cache eviction).
 */
export type KeepKey = (layer: number, head: number, i: number, j: number) => boolean;
type Cfg = HfConfig;

export interface RefOutput {
  /** [T, V] */
  logits: Float64Array;
  /** Per layer [heads, T, T]. */
  attn: Float64Array[];
  /** Per layer [T, hidden]: what the layer's Q/K/V projections read (after ln_1 / input_layernorm). */
  hidden: Float64Array[];
  /** Per layer, as they enter the score: queries [T, heads·d] and keys/values [T, kvHeads·d] (after RoPE for Llama). */
  q: Float64Array[];
  k: Float64Array[];
  v: Float64Array[];
  /** The residual stream after the last layer (before any final norm or head). */
  last: Float64Array;
  /** Per layer [T, hidden]: the residual stream the attention output is added to. */
  stream: Float64Array[];
}

/**
 * Options of the reference passes: one head removed (its slice of the merged heads set to zero),
 * and keys hidden from queries on top of the causal mask.
 */
export interface RefOptions {
  ablate?: { layer: number; head: number };
  keep?: KeepKey;
}

/** Zeroes head `head` of merged heads [T, heads·d] in place when `opts` ablates it in `layer`. */
function ablateMerged(out: Float64Array, T: number, heads: number, d: number, layer: number, opts?: RefOptions): Float64Array {
  const a = opts?.ablate;
  if (!a || a.layer !== layer) return out;
  for (let t = 0; t < T; t++) for (let c = 0; c < d; c++) out[t * heads * d + a.head * d + c] = 0;
  return out;
}

/** y[t] = x[t] W^T + b with W [out, in] (nn.Linear) or y[t] = x[t] W + b with W [in, out] (Conv1D). */
function dense(x: Float64Array, T: number, n: number, m: number, w: Float32Array, b?: Float32Array, conv1d = false): Float64Array {
  const y = new Float64Array(T * m);
  for (let t = 0; t < T; t++) {
    for (let o = 0; o < m; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < n; i++) s += x[t * n + i] * (conv1d ? w[i * m + o] : w[o * n + i]);
      y[t * m + o] = s;
    }
  }
  return y;
}

function layerNorm(x: Float64Array, T: number, n: number, g: Float32Array, b: Float32Array, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let t = 0; t < T; t++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += x[t * n + i] / n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (x[t * n + i] - mean) ** 2 / n;
    for (let i = 0; i < n; i++) y[t * n + i] = ((x[t * n + i] - mean) / Math.sqrt(v + eps)) * g[i] + b[i];
  }
  return y;
}

function rmsNorm(x: Float64Array, T: number, n: number, g: Float32Array, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let t = 0; t < T; t++) {
    let ms = 0;
    for (let i = 0; i < n; i++) ms += x[t * n + i] ** 2 / n;
    for (let i = 0; i < n; i++) y[t * n + i] = (x[t * n + i] / Math.sqrt(ms + eps)) * g[i];
  }
  return y;
}

/** erf from Numerical Recipes' erfc Chebyshev fit (relative error below 1.2e-7). */
function erf(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - r : r - 1;
}

const ACT: Record<string, (x: number) => number> = {
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  gelu_new: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
  relu: (x) => Math.max(0, x),
  silu: (x) => x / (1 + Math.exp(-x)),
};

const add = (a: Float64Array, b: Float64Array) => a.map((v, i) => v + b[i]);

/**
 * Multi-head attention on [T, heads*d] projections; query head h reads kv head
 * floor(h / (heads / kvHeads)). Returns the merged output and the probabilities.
 */
function mha(q: Float64Array, k: Float64Array, v: Float64Array, T: number, heads: number, kvHeads: number, d: number, scale: number, visible: (i: number, j: number, h: number) => boolean) {
  const probs = new Float64Array(heads * T * T);
  const out = new Float64Array(T * heads * d);
  const group = heads / kvHeads;
  for (let h = 0; h < heads; h++) {
    const kh = Math.floor(h / group);
    for (let i = 0; i < T; i++) {
      const row = new Float64Array(T).fill(-Infinity);
      for (let j = 0; j < T; j++) {
        if (!visible(i, j, h)) continue;
        let s = 0;
        for (let c = 0; c < d; c++) s += q[i * heads * d + h * d + c] * k[j * kvHeads * d + kh * d + c];
        row[j] = s * scale;
      }
      const mx = Math.max(...row);
      let z = 0;
      for (let j = 0; j < T; j++) z += (row[j] = Math.exp(row[j] - mx));
      for (let j = 0; j < T; j++) {
        const p = row[j] / z;
        probs[(h * T + i) * T + j] = p;
        for (let c = 0; c < d; c++) out[i * heads * d + h * d + c] += p * v[j * kvHeads * d + kh * d + c];
      }
    }
  }
  return { out, probs };
}

function embed(table: Float32Array, width: number, rows: number[]): Float64Array {
  const y = new Float64Array(rows.length * width);
  rows.forEach((r, t) => {
    for (let i = 0; i < width; i++) y[t * width + i] = table[r * width + i];
  });
  return y;
}

export function gpt2Reference(c: Cfg, w: W, ids: number[], opts?: RefOptions): RefOutput {
  const keep = opts?.keep;
  const T = ids.length;
  const H = c.n_embd;
  const heads = c.n_head;
  const d = H / heads;
  const I = c.n_inner ?? 4 * H;
  const eps = c.layer_norm_epsilon ?? 1e-5;
  const act = ACT[c.activation_function ?? 'gelu_new'];
  let x: Float64Array = add(embed(w('wte.weight'), H, ids), embed(w('wpe.weight'), H, ids.map((_, t) => t)));
  const attn: Float64Array[] = [];
  const hidden: Float64Array[] = [];
  const qs: Float64Array[] = [];
  const ks: Float64Array[] = [];
  const vs: Float64Array[] = [];
  const stream: Float64Array[] = [];
  for (let l = 0; l < c.n_layer; l++) {
    const p = `h.${l}.`;
    stream.push(x);
    const a = layerNorm(x, T, H, w(p + 'ln_1.weight'), w(p + 'ln_1.bias'), eps);
    hidden.push(a);
    const qkv = dense(a, T, H, 3 * H, w(p + 'attn.c_attn.weight'), w(p + 'attn.c_attn.bias'), true);
    const part = (s: number) => {
      const y = new Float64Array(T * H);
      for (let t = 0; t < T; t++) for (let i = 0; i < H; i++) y[t * H + i] = qkv[t * 3 * H + s * H + i];
      return y;
    };
    // GPT2Attention: / sqrt(d) unless scale_attn_weights is false, / (layer + 1) when asked.
    const scale = (c.scale_attn_weights === false ? 1 : 1 / Math.sqrt(d)) / (c.scale_attn_by_inverse_layer_idx ? l + 1 : 1);
    qs.push(part(0));
    ks.push(part(1));
    vs.push(part(2));
    const m = mha(part(0), part(1), part(2), T, heads, heads, d, scale, (i, j, h) => j <= i && (!keep || keep(l, h, i, j)));
    attn.push(m.probs);
    x = add(x, dense(ablateMerged(m.out, T, heads, d, l, opts), T, H, H, w(p + 'attn.c_proj.weight'), w(p + 'attn.c_proj.bias'), true));
    const f = dense(layerNorm(x, T, H, w(p + 'ln_2.weight'), w(p + 'ln_2.bias'), eps), T, H, I, w(p + 'mlp.c_fc.weight'), w(p + 'mlp.c_fc.bias'), true).map(act);
    x = add(x, dense(f, T, I, H, w(p + 'mlp.c_proj.weight'), w(p + 'mlp.c_proj.bias'), true));
  }
  const last = x;
  x = layerNorm(x, T, H, w('ln_f.weight'), w('ln_f.bias'), eps);
  return { logits: dense(x, T, H, c.vocab_size, w('wte.weight')), attn, hidden, q: qs, k: ks, v: vs, last, stream };
}

/** BERT (head "cls") or RoBERTa (head "lm_head"); positions start at pad_token_id + 1 for RoBERTa. */
export function bertReference(c: Cfg, w: W, ids: number[], opts?: RefOptions): RefOutput {
  const roberta = c.model_type === 'roberta';
  const T = ids.length;
  const H = c.hidden_size;
  const heads = c.num_attention_heads;
  const d = H / heads;
  const I = c.intermediate_size;
  const eps = c.layer_norm_eps ?? 1e-12;
  const act = ACT[c.hidden_act ?? 'gelu'];
  const start = roberta ? (c.pad_token_id ?? 1) + 1 : 0;
  let x: Float64Array = add(embed(w('embeddings.word_embeddings.weight'), H, ids), embed(w('embeddings.position_embeddings.weight'), H, ids.map((_, t) => start + t)));
  x = add(x, embed(w('embeddings.token_type_embeddings.weight'), H, ids.map(() => 0)));
  x = layerNorm(x, T, H, w('embeddings.LayerNorm.weight'), w('embeddings.LayerNorm.bias'), eps);
  const attn: Float64Array[] = [];
  const hidden: Float64Array[] = [];
  const qs: Float64Array[] = [];
  const ks: Float64Array[] = [];
  const vs: Float64Array[] = [];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `encoder.layer.${l}.`;
    hidden.push(x);
    const lin = (inp: Float64Array, n: number, m: number, name: string) => dense(inp, T, n, m, w(p + name + '.weight'), w(p + name + '.bias'));
    qs.push(lin(x, H, H, 'attention.self.query'));
    ks.push(lin(x, H, H, 'attention.self.key'));
    vs.push(lin(x, H, H, 'attention.self.value'));
    const m = mha(qs[l], ks[l], vs[l], T, heads, heads, d, 1 / Math.sqrt(d), () => true);
    attn.push(m.probs);
    x = layerNorm(add(x, lin(ablateMerged(m.out, T, heads, d, l, opts), H, H, 'attention.output.dense')), T, H, w(p + 'attention.output.LayerNorm.weight'), w(p + 'attention.output.LayerNorm.bias'), eps);
    const inter = lin(x, H, I, 'intermediate.dense').map(act);
    x = layerNorm(add(x, lin(inter, I, H, 'output.dense')), T, H, w(p + 'output.LayerNorm.weight'), w(p + 'output.LayerNorm.bias'), eps);
  }
  const [dn, ln, bias, headAct] = roberta
    ? ['lm_head.dense', 'lm_head.layer_norm', 'lm_head.bias', ACT.gelu]
    : ['cls.predictions.transform.dense', 'cls.predictions.transform.LayerNorm', 'cls.predictions.bias', act];
  const t = layerNorm(dense(x, T, H, H, w(dn + '.weight'), w(dn + '.bias')).map(headAct), T, H, w(ln + '.weight'), w(ln + '.bias'), eps);
  return { logits: dense(t, T, H, c.vocab_size, w('embeddings.word_embeddings.weight'), w(bias)), attn, hidden, q: qs, k: ks, v: vs, last: x, stream: hidden };
}

/** Rotary inverse frequencies, with the llama3 / linear rope_scaling of transformers' rope utils. */
function ropeFrequencies(c: Cfg, d: number): number[] {
  const base = c.rope_theta ?? 10000;
  const freqs = Array.from({ length: d / 2 }, (_, i) => base ** (-(2 * i) / d));
  const s = c.rope_scaling;
  const kind = s && (s.rope_type ?? s.type);
  if (kind === 'linear') return freqs.map((f) => f / s.factor);
  if (kind !== 'llama3') return freqs;
  const lowWl = s.original_max_position_embeddings / s.low_freq_factor;
  const highWl = s.original_max_position_embeddings / s.high_freq_factor;
  return freqs.map((f) => {
    const wl = (2 * Math.PI) / f;
    const scaled = wl > lowWl ? f / s.factor : f;
    const medium = !(wl < highWl) && !(wl > lowWl);
    if (!medium) return scaled;
    const smooth = (s.original_max_position_embeddings / wl - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
    return ((1 - smooth) * scaled) / s.factor + smooth * scaled;
  });
}

/** Pairs (i, i + d/2) of each head rotate by position x frequency i (rotate_half layout). */
function applyRope(x: Float64Array, T: number, heads: number, d: number, freqs: number[]): Float64Array {
  const y = new Float64Array(x.length);
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < heads; h++) {
      const o = t * heads * d + h * d;
      for (let i = 0; i < d / 2; i++) {
        const a = t * freqs[i];
        const x1 = x[o + i];
        const x2 = x[o + i + d / 2];
        y[o + i] = x1 * Math.cos(a) - x2 * Math.sin(a);
        y[o + i + d / 2] = x2 * Math.cos(a) + x1 * Math.sin(a);
      }
    }
  }
  return y;
}

/** Llama, Mistral (sliding_window) and Qwen2 (q/k/v biases). */
export function llamaReference(c: Cfg, w: W, ids: number[], opts?: RefOptions): RefOutput {
  const keep = opts?.keep;
  const T = ids.length;
  const H = c.hidden_size;
  const heads = c.num_attention_heads;
  const kv = c.num_key_value_heads ?? heads;
  const d = c.head_dim ?? H / heads;
  const I = c.intermediate_size;
  const eps = c.rms_norm_eps ?? 1e-6;
  const window: number | undefined = c.model_type === 'mistral' ? c.sliding_window ?? undefined : undefined;
  const qkvBias = c.model_type === 'qwen2';
  const freqs = ropeFrequencies(c, d);
  // Gemma (transformers GemmaModel): embeddings times √hidden, RMSNorm times (1 + w), tanh-GELU
  // MLP (hidden_activation, default gelu_pytorch_tanh), head tied unless told otherwise.
  const gemma = c.model_type === 'gemma';
  const normWeight = (name: string) => (gemma ? Float32Array.from(w(name), (v) => 1 + v) : w(name));
  const mlpAct = gemma ? ACT[c.hidden_activation === undefined || c.hidden_activation === 'gelu_pytorch_tanh' ? 'gelu_new' : c.hidden_activation] : ACT.silu;
  let x: Float64Array = embed(w('model.embed_tokens.weight'), H, ids);
  if (gemma) x = x.map((v) => v * Math.sqrt(H));
  const attn: Float64Array[] = [];
  const hidden: Float64Array[] = [];
  const qs: Float64Array[] = [];
  const ks: Float64Array[] = [];
  const vs: Float64Array[] = [];
  const stream: Float64Array[] = [];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    stream.push(x);
    const h = rmsNorm(x, T, H, normWeight(p + 'input_layernorm.weight'), eps);
    hidden.push(h);
    const proj = (name: string, m: number, bias: boolean) => dense(h, T, H, m, w(p + `self_attn.${name}.weight`), bias ? w(p + `self_attn.${name}.bias`) : undefined);
    const q = applyRope(proj('q_proj', heads * d, qkvBias), T, heads, d, freqs);
    const k = applyRope(proj('k_proj', kv * d, qkvBias), T, kv, d, freqs);
    const v = proj('v_proj', kv * d, qkvBias);
    qs.push(q);
    ks.push(k);
    vs.push(v);
    const m = mha(q, k, v, T, heads, kv, d, 1 / Math.sqrt(d), (i, j, hd) => j <= i && (window === undefined || i - j < window) && (!keep || keep(l, hd, i, j)));
    attn.push(m.probs);
    x = add(x, dense(ablateMerged(m.out, T, heads, d, l, opts), T, heads * d, H, w(p + 'self_attn.o_proj.weight')));
    const h2 = rmsNorm(x, T, H, normWeight(p + 'post_attention_layernorm.weight'), eps);
    const gate = dense(h2, T, H, I, w(p + 'mlp.gate_proj.weight')).map(mlpAct);
    const up = dense(h2, T, H, I, w(p + 'mlp.up_proj.weight'));
    x = add(x, dense(gate.map((g, i) => g * up[i]), T, I, H, w(p + 'mlp.down_proj.weight')));
  }
  const last = x;
  x = rmsNorm(x, T, H, normWeight('model.norm.weight'), eps);
  const head = (c.tie_word_embeddings ?? gemma) ? 'model.embed_tokens.weight' : 'lm_head.weight';
  return { logits: dense(x, T, H, c.vocab_size, w(head)), attn, hidden, q: qs, k: ks, v: vs, last, stream };
}
