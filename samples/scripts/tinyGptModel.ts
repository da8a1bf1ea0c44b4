/**
 * The tiny-gpt sample: a 2-layer, 4-head, attention-only GPT whose weights are written by hand
 * so that every head does one recognisable thing (see samples/tiny-gpt/README.md). The graph has
 * the Hugging Face eager layout, Softmax(MatMul(Q, Transpose(K)) * scale + causal mask), so the
 * runtime's graph surgery finds the probabilities the same way it does in exported checkpoints.
 *
 * Residual stream (d = 34 + 2V):
 *   [const 1 | is-first | position p | cos(pi p) | cos(2 pi k p / 32), k=1..15 | sin(...) |
 *    token one-hot (V) | previous-token one-hot (V)]
 * Positions are computed inside the graph, so any length runs. Relative heads use the
 * discrete Dirichlet kernel sum_k cos(2 pi k (p - s - j) / 32) = 32 [p - s - j = 0 mod 32]
 * (exact, and linear in the features), and a small ramp r * j breaks the mod-32 aliasing in
 * favour of the nearest key.
 */
import { GraphBuilder } from '../../server/onnx/graphBuilder';
import { BOS_ID, PAD_ID, UNK_ID, VOCAB } from './tinyGptTokenizer';

export const LAYERS = 2;
export const HEADS = 4;
const M = 32; // Dirichlet period
const FREQS = M / 2 - 1; // k = 1..15 as cos/sin pairs; k = 16 is cos(pi p)

const CONST = 0;
const FIRST = 1;
const RAMP = 2;
const ALT = 3;
const COS = 4;
const SIN = COS + FREQS;
const POS_FEATURES = SIN + FREQS; // 34

/** Sharpness of the hand-set scores; with these every structured head is > 0.99 peaked. */
const SHARP = 30; // peak score of positional and token-match kernels
const RAMP_SLOPE = 0.5; // 32 * 0.5 = 16 between a key and its mod-32 alias
const FALLBACK = 15; // score of the first token when the induction head finds no match
const INDUCTION_GAIN = 10; // logit of the predicted repeat

export interface TinyGptLayout {
  vocab: number;
  dModel: number;
  headDim: number;
  tokenOffset: number;
  prevOffset: number;
}

export function tinyGptLayout(): TinyGptLayout {
  const vocab = VOCAB.length;
  return { vocab, dModel: POS_FEATURES + 2 * vocab, headDim: vocab + 1, tokenOffset: POS_FEATURES, prevOffset: POS_FEATURES + vocab };
}

/** One query/key channel of a head: score += (sum q) * (sum k), each a list of [row, weight]. */
type Channel = { q: [number, number][]; k: [number, number][] };

/** score(p, j) = sharp * [p - shift - j = 0 mod 32] + ramp * j (+ a constant). */
function shiftKernel(shift: number): Channel[] {
  const w = SHARP / M;
  const ch: Channel[] = [
    { q: [[CONST, w]], k: [[CONST, 1]] },
    { q: [[ALT, w * (shift % 2 === 0 ? 1 : -1)]], k: [[ALT, 1]] },
    { q: [[CONST, RAMP_SLOPE]], k: [[RAMP, 1]] },
  ];
  for (let f = 0; f < FREQS; f++) {
    const a = (2 * Math.PI * (f + 1) * shift) / M;
    const c = Math.cos(a);
    const s = Math.sin(a);
    // cos(w(p - shift)) and sin(w(p - shift)) from cos(wp), sin(wp).
    ch.push({ q: [[COS + f, 2 * w * c], [SIN + f, 2 * w * s]], k: [[COS + f, 1]] });
    ch.push({ q: [[SIN + f, 2 * w * c], [COS + f, -2 * w * s]], k: [[SIN + f, 1]] });
  }
  return ch;
}

const firstToken = (): Channel[] => [{ q: [[CONST, SHARP]], k: [[FIRST, 1]] }];

interface HeadSpec {
  qk: Channel[];
  /** OV circuit: value row -> [output row, weight]. */
  ov: [number, number, number][];
}

function heads(L: TinyGptLayout): HeadSpec[][] {
  const tok = (t: number) => L.tokenOffset + t;
  const prev = (t: number) => L.prevOffset + t;
  const tokens = [...Array(L.vocab).keys()];
  const specials = new Set([PAD_ID, UNK_ID, BOS_ID]);
  return [
    [
      // previous token; its OV writes that token into the previous-token subspace
      { qk: shiftKernel(1), ov: tokens.map((t) => [tok(t), prev(t), 1]) },
      { qk: firstToken(), ov: [] },
      { qk: shiftKernel(0), ov: [] },
      { qk: [], ov: [] }, // all scores equal: uniform over the prefix
    ],
    [
      {
        // induction: current token against "the token before j"; falls back to the first token
        qk: [
          ...tokens.map((t): Channel => ({ q: [[tok(t), SHARP]], k: [[prev(t), 1]] })),
          { q: [[CONST, FALLBACK]], k: [[FIRST, 1]] },
        ],
        ov: tokens.filter((t) => !specials.has(t)).map((t) => [tok(t), tok(t), INDUCTION_GAIN]),
      },
      {
        // same token (itself and earlier copies); its OV removes the current token from the
        // token subspace, so the unembedding reads the induction head's prediction alone
        qk: tokens.map((t): Channel => ({ q: [[tok(t), SHARP]], k: [[tok(t), 1]] })),
        ov: tokens.map((t) => [tok(t), tok(t), -1]),
      },
      { qk: shiftKernel(1), ov: [] },
      { qk: firstToken(), ov: [] },
    ],
  ];
}

function attentionLayer(g: GraphBuilder, x: string, mask: string, layer: number, specs: HeadSpec[], L: TinyGptLayout): string {
  const { dModel: d, headDim: dh } = L;
  const width = HEADS * dh;
  const wq = new Float32Array(d * width);
  const wk = new Float32Array(d * width);
  const wv = new Float32Array(d * width);
  const wo = new Float32Array(width * d);
  // The graph multiplies scores by 1/sqrt(dh) like every eager implementation; undo it here.
  const unscale = Math.sqrt(dh);
  specs.forEach((h, hi) => {
    if (h.qk.length > dh || h.ov.length > dh) throw new Error(`head ${layer}.${hi} needs more than ${dh} channels`);
    h.qk.forEach((c, e) => {
      for (const [row, w] of c.q) wq[row * width + hi * dh + e] += w * unscale;
      for (const [row, w] of c.k) wk[row * width + hi * dh + e] += w;
    });
    h.ov.forEach(([from, to, w], e) => {
      wv[from * width + hi * dh + e] = 1;
      wo[(hi * dh + e) * d + to] = w;
    });
  });
  const p = `/layers.${layer}/attn`;
  const split = (name: string, w: Float32Array) => {
    const proj = g.node('MatMul', [x, g.f32(`layers.${layer}.attn.${name}.weight`, [d, width], w)], { name: `${p}/${name}/MatMul` });
    const heads = g.node('Reshape', [proj, g.i64(`${p}/${name}/shape`, [0, 0, HEADS, dh])], { name: `${p}/${name}/Reshape` });
    return g.node('Transpose', [heads], { name: `${p}/${name}/Transpose`, attrs: { perm: [0, 2, 1, 3] } });
  };
  const q = split('q_proj', wq);
  const k = split('k_proj', wk);
  const v = split('v_proj', wv);
  const kt = g.node('Transpose', [k], { name: `${p}/Transpose_k`, attrs: { perm: [0, 1, 3, 2] } });
  const raw = g.node('MatMul', [q, kt], { name: `${p}/MatMul_qk` });
  const scaled = g.node('Mul', [raw, g.scalar(`${p}/scale`, 1 / Math.sqrt(dh))], { name: `${p}/Mul_scale` });
  const masked = g.node('Add', [scaled, mask], { name: `${p}/Add_mask` });
  const probs = g.node('Softmax', [masked], { name: `${p}/Softmax`, attrs: { axis: -1 } });
  const ctx = g.node('MatMul', [probs, v], { name: `${p}/MatMul_pv` });
  const merged = g.node('Reshape', [
    g.node('Transpose', [ctx], { name: `${p}/Transpose_ctx`, attrs: { perm: [0, 2, 1, 3] } }),
    g.i64(`${p}/merge_shape`, [0, 0, width]),
  ], { name: `${p}/Reshape_ctx` });
  const out = g.node('MatMul', [merged, g.f32(`layers.${layer}.attn.o_proj.weight`, [width, d], wo)], { name: `${p}/o_proj/MatMul` });
  return g.node('Add', [x, out], { name: `/layers.${layer}/residual/Add` });
}

/** Position features [n, 34] computed from the sequence length, and the causal mask [n, n]. */
function positions(g: GraphBuilder, ids: string): { features: string; mask: string } {
  const n = g.node('Gather', [g.node('Shape', [ids], { name: '/pos/Shape' }), g.i64('/pos/seq_axis', [1], [])], { name: '/pos/Gather_n', attrs: { axis: 0 } });
  const pos = g.node('Range', [g.i64('/pos/zero', [0], []), n, g.i64('/pos/one', [1], [])], { name: '/pos/Range' });
  const col = g.node('Unsqueeze', [pos, g.i64('/pos/axis1', [1])], { name: '/pos/Unsqueeze_col' }); // [n, 1]
  const row = g.node('Unsqueeze', [pos, g.i64('/pos/axis0', [0])], { name: '/pos/Unsqueeze_row' }); // [1, n]
  const future = g.node('Greater', [row, col], { name: '/mask/Greater' });
  const mask = g.node('Where', [future, g.scalar('/mask/neg', -1e9), g.scalar('/mask/zero', 0)], { name: '/mask/Where' });

  // Angles from (k p mod 32) in integers, so long inputs keep exact phases.
  const ks = g.i64('/pos/freqs', Array.from({ length: FREQS }, (_, f) => f + 1), [1, FREQS]);
  const kp = g.node('Mod', [g.node('Mul', [col, ks], { name: '/pos/Mul_k' }), g.i64('/pos/period', [M], [])], { name: '/pos/Mod' });
  const angle = g.node('Mul', [g.node('Cast', [kp], { name: '/pos/Cast_k', attrs: { to: 1 } }), g.scalar('/pos/omega', (2 * Math.PI) / M)], { name: '/pos/Mul_omega' });
  const colF = g.node('Cast', [col], { name: '/pos/Cast_p', attrs: { to: 1 } });
  const parity = g.node('Cast', [g.node('Mod', [col, g.i64('/pos/two', [2], [])], { name: '/pos/Mod_2' })], { name: '/pos/Cast_parity', attrs: { to: 1 } });
  const alt = g.node('Sub', [g.scalar('/pos/one_f', 1), g.node('Mul', [parity, g.scalar('/pos/two_f', 2)], { name: '/pos/Mul_parity' })], { name: '/pos/Sub_alt' });
  const first = g.node('Cast', [g.node('Equal', [col, g.i64('/pos/zero_i', [0], [])], { name: '/pos/Equal_0' })], { name: '/pos/Cast_first', attrs: { to: 1 } });
  const ones = g.node('Add', [g.node('Mul', [colF, g.scalar('/pos/zero_f', 0)], { name: '/pos/Mul_0' }), g.scalar('/pos/one_c', 1)], { name: '/pos/Add_1' });
  const features = g.node('Concat', [
    ones, first, colF, alt,
    g.node('Cos', [angle], { name: '/pos/Cos' }),
    g.node('Sin', [angle], { name: '/pos/Sin' }),
  ], { name: '/pos/Concat', attrs: { axis: 1 } });
  return { features, mask };
}

/** The sample model as ONNX bytes; the same bytes on every call. */
export function buildTinyGpt(): Uint8Array {
  const L = tinyGptLayout();
  const { vocab: V, dModel: d } = L;
  const g = new GraphBuilder('tiny-gpt', 17);
  const ids = g.input('input_ids', 'int64', [1, 'sequence']);

  const wte = new Float32Array(V * d);
  for (let t = 0; t < V; t++) wte[t * d + L.tokenOffset + t] = 1;
  const wpe = new Float32Array(POS_FEATURES * d);
  for (let f = 0; f < POS_FEATURES; f++) wpe[f * d + f] = 1;
  const { features, mask } = positions(g, ids);
  const tokEmb = g.node('Gather', [g.f32('embed_tokens.weight', [V, d], wte), ids], { name: '/embed/Gather', attrs: { axis: 0 } });
  const posEmb = g.node('MatMul', [features, g.f32('embed_positions.weight', [POS_FEATURES, d], wpe)], { name: '/embed/MatMul_pos' });
  let x = g.node('Add', [tokEmb, posEmb], { name: '/embed/Add' });

  heads(L).forEach((specs, layer) => {
    x = attentionLayer(g, x, mask, layer, specs, L);
  });

  const wu = new Float32Array(d * V);
  for (let t = 0; t < V; t++) wu[(L.tokenOffset + t) * V + t] = 1;
  g.node('MatMul', [x, g.f32('lm_head.weight', [d, V], wu)], { name: '/lm_head/MatMul', outputs: ['logits'] });
  g.output('logits', 'float32', [1, 'sequence', V]);
  return g.toBytes('attention-inspector samples/scripts/make-samples.ts');
}
