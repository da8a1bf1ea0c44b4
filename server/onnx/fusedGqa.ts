/**
 * com.microsoft GroupQueryAttention (what onnxruntime-genai and the transformer optimizer write
 * for Llama / Mistral / Qwen / Phi) rewritten as standard ops so the Softmax is visible:
 * rotary on Q and K from the cos/sin caches, past and current keys concatenated (present
 * outputs), each KV head repeated for its group of query heads, scaled scores, optional
 * softcap, causal and local-window masks, Softmax, values. seqlens_k is not read: a capture
 * feeds one unpadded sequence, for which every batch row's length is the total length.
 */
import { onnx } from 'onnx-proto';
import { refuse, type FloatType } from './fusedNode';
import { attr } from './nodeAttributes';
import type { GraphBuilder, NodeOptions } from './graphBuilder';

/** A finite stand-in for -inf: masked scores must give probability exactly 0 without NaN rows. */
const MASKED = -3.4e38;

function perm(ints: number[]): NodeOptions {
  return { attrs: { perm: ints } };
}

function axisAttr(i: number): NodeOptions {
  return { attrs: { axis: i } };
}

/** A scalar int64 as the 1-D [1] tensor Slice wants for dynamic bounds. */
function one(r: GraphBuilder, scalar: string): string {
  return r.node('Unsqueeze', [scalar, r.ints([0])]);
}

function slice(r: GraphBuilder, x: string, start: string, end: string, axis: number): string {
  return r.node('Slice', [x, start, end, r.ints([axis])]);
}

/**
 * Rotary embedding of x [B, S, N, d] (BSNH). cos/sin are [B or 1, S, 1, half]; the first
 * 2*half channels rotate, the rest pass through (partial rotary). Non-interleaved rotates the
 * halves (x[i], x[i+half]); interleaved rotates the pairs (x[2i], x[2i+1]).
 */
function rotary(r: GraphBuilder, x: string, cos: string, sin: string, half: string, interleaved: boolean): string {
  const rotEnd = one(r, r.node('Mul', [half, r.int(2)]));
  const rot = slice(r, x, r.ints([0]), rotEnd, 3);
  const rest = slice(r, x, rotEnd, r.ints([2 ** 62]), 3);
  const turn = (a: string, b: string, c: string, s: string): [string, string] => [
    r.node('Sub', [r.node('Mul', [a, c]), r.node('Mul', [b, s])]),
    r.node('Add', [r.node('Mul', [b, c]), r.node('Mul', [a, s])]),
  ];
  let rotated: string;
  if (!interleaved) {
    const a = slice(r, rot, r.ints([0]), one(r, half), 3);
    const b = slice(r, rot, one(r, half), rotEnd, 3);
    const [ra, rb] = turn(a, b, cos, sin);
    rotated = r.node('Concat', [ra, rb], axisAttr(3));
  } else {
    const pairs = r.node('Reshape', [rot, r.ints([0, 0, 0, -1, 2])]);
    const a = slice(r, pairs, r.ints([0]), r.ints([1]), 4);
    const b = slice(r, pairs, r.ints([1]), r.ints([2]), 4);
    const c5 = r.node('Unsqueeze', [cos, r.ints([4])]);
    const s5 = r.node('Unsqueeze', [sin, r.ints([4])]);
    const [ra, rb] = turn(a, b, c5, s5);
    rotated = r.node('Reshape', [r.node('Concat', [ra, rb], axisAttr(4)), r.ints([0, 0, 0, -1])]);
  }
  return r.node('Concat', [rotated, rest], axisAttr(3));
}

/** [B, kvH, T, d] -> [B, kvH * group, T, d], each KV head repeated for its consecutive query heads. */
function repeatKv(r: GraphBuilder, x: string, group: number, numHeads: number, headSize: string): string {
  if (group === 1) return x;
  const x5 = r.node('Expand', [r.node('Unsqueeze', [x, r.ints([2])]), r.ints([1, 1, group, 1, 1])]);
  const shape = r.node('Concat', [r.ints([0, numHeads, -1]), one(r, headSize)], axisAttr(0));
  return r.node('Reshape', [x5, shape]);
}

export function rewriteGqa(n: onnx.INodeProto, r: GraphBuilder, file: string, dataType: FloatType): void {
  const [query, key, value, pastKey, pastValue, , , cosCache, sinCache, positionIds, attnBias, headSink] = n.input ?? [];
  const numHeads = Number(attr(n, 'num_heads')?.i ?? 0);
  const kvHeads = Number(attr(n, 'kv_num_heads')?.i ?? 0);
  if (!numHeads || !kvHeads || numHeads % kvHeads !== 0) refuse(file, n, 'without num_heads a multiple of kv_num_heads');
  if (headSink) refuse(file, n, 'with a head_sink input');
  if (Number(attr(n, 'smooth_softmax')?.i ?? 0) !== 0) refuse(file, n, 'with smooth_softmax');
  if (Number(attr(n, 'qk_output')?.i ?? 0) !== 0) refuse(file, n, 'with qk_output');
  if ((n.output ?? []).length > 3 && n.output![3]) refuse(file, n, 'with an output_qk output');
  if (!key !== !value) refuse(file, n, 'with only one of key and value');
  const doRotary = Number(attr(n, 'do_rotary')?.i ?? 0) !== 0;
  if (doRotary && (!cosCache || !sinCache)) refuse(file, n, 'with do_rotary but no cos_cache/sin_cache');
  if ((pastKey && !pastValue) || (!pastKey && pastValue)) refuse(file, n, 'with only one of past_key and past_value');

  // Q as [B, S, H, d]; K, V as [B, S, kvH, d] (BSNH, where rotary applies).
  let q: string;
  let k: string;
  let v: string;
  if (key) {
    q = r.node('Reshape', [query, r.ints([0, 0, numHeads, -1])]);
    k = r.node('Reshape', [key, r.ints([0, 0, kvHeads, -1])]);
    v = r.node('Reshape', [value, r.ints([0, 0, kvHeads, -1])]);
  } else {
    // Packed [Q | K | V] along the hidden axis: heads H, kvH, kvH of one head size.
    const packed = r.node('Reshape', [query, r.ints([0, 0, numHeads + 2 * kvHeads, -1])]);
    q = slice(r, packed, r.ints([0]), r.ints([numHeads]), 2);
    k = slice(r, packed, r.ints([numHeads]), r.ints([numHeads + kvHeads]), 2);
    v = slice(r, packed, r.ints([numHeads + kvHeads]), r.ints([numHeads + 2 * kvHeads]), 2);
  }
  const headSize = r.dim(q, 3);
  const seqLen = r.dim(q, 1);
  const pastLen = pastKey ? r.dim(pastKey, 2) : r.int(0);
  const totalLen = r.node('Add', [pastLen, seqLen]);

  if (doRotary) {
    // Positions past..past+S-1 (0..S-1 for a prefill), or position_ids when given: [B, S, half].
    const rows = (cache: string): string => positionIds
      ? r.node('Gather', [cache, positionIds], axisAttr(0))
      : r.node('Unsqueeze', [slice(r, cache, one(r, pastLen), one(r, totalLen), 0), r.ints([0])]);
    const cos = r.node('Unsqueeze', [rows(cosCache), r.ints([2])]);
    const sin = r.node('Unsqueeze', [rows(sinCache), r.ints([2])]);
    const half = r.dim(cosCache, 1);
    const interleaved = Number(attr(n, 'rotary_interleaved')?.i ?? 0) !== 0;
    q = rotary(r, q, cos, sin, half, interleaved);
    k = rotary(r, k, cos, sin, half, interleaved);
  }

  const q4 = r.node('Transpose', [q], perm([0, 2, 1, 3]));
  let k4 = r.node('Transpose', [k], perm([0, 2, 1, 3]));
  let v4 = r.node('Transpose', [v], perm([0, 2, 1, 3]));
  if (pastKey) {
    k4 = r.node('Concat', [pastKey, k4], axisAttr(2));
    v4 = r.node('Concat', [pastValue, v4], axisAttr(2));
  }
  if (n.output?.[1]) r.node('Identity', [k4], { outputs: [n.output[1]] });
  if (n.output?.[2]) r.node('Identity', [v4], { outputs: [n.output[2]] });

  const group = numHeads / kvHeads;
  const kAll = repeatKv(r, k4, group, numHeads, headSize);
  const vAll = repeatKv(r, v4, group, numHeads, headSize);
  let scores = r.node('MatMul', [q4, r.node('Transpose', [kAll], perm([0, 1, 3, 2]))]);
  const scale = attr(n, 'scale')?.f ?? 0;
  const scaleValue = scale !== 0 ? r.floatScalar(scale, dataType.dtype)
    : r.node('Reciprocal', [r.node('Sqrt', [r.node('Cast', [headSize], { attrs: { to: dataType.code } })])]);
  scores = r.node('Mul', [scores, scaleValue]);
  const softcap = attr(n, 'softcap')?.f ?? 0;
  if (softcap > 0) {
    const cap = r.floatScalar(softcap, dataType.dtype);
    scores = r.node('Mul', [r.node('Tanh', [r.node('Div', [scores, cap])]), cap]);
  }
  if (attnBias) scores = r.node('Add', [scores, attnBias]);

  // Query i sits at position past + i; key j is hidden when j > past + i, and with a local
  // window w also when j <= past + i - w (onnxruntime's kernel keeps w keys, itself included).
  const rows = r.node('Add', [r.node('Range', [r.int(0), seqLen, r.int(1)]), pastLen]);
  const cols = r.node('Range', [r.int(0), totalLen, r.int(1)]);
  const col2 = r.node('Unsqueeze', [cols, r.ints([0])]);
  const row2 = r.node('Unsqueeze', [rows, r.ints([1])]);
  let hidden = r.node('Greater', [col2, row2]);
  const window = Number(attr(n, 'local_window_size')?.i ?? -1);
  if (window === 0) refuse(file, n, 'with local_window_size 0 (no visible keys)');
  if (window >= 0) hidden = r.node('Or', [hidden, r.node('Less', [col2, r.node('Sub', [row2, r.int(window - 1)])])]);
  scores = r.node('Where', [hidden, r.floatScalar(MASKED, dataType.dtype), scores]);

  const probs = r.node('Softmax', [scores], { ...axisAttr(-1), outputs: [r.fresh('probs')] });
  const ctx = r.node('MatMul', [probs, vAll]);
  r.node('Reshape', [r.node('Transpose', [ctx], perm([0, 2, 1, 3])), r.ints([0, 0, -1])], { outputs: [n.output?.[0] ?? ''] });
}
