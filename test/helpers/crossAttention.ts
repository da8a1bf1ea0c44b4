/**
 * A cross-attention layer as the panel receives it, from a real onnxruntime run: a GraphBuilder
 * graph computes softmax(Q Kᵀ / √d) for target queries [heads, T, d] against source keys
 * [heads, S, d], with Q and K made so each target word aligns with one source word (word order
 * differs between the languages, as in Bahdanau et al.'s figure), plus some spread.
 */
import * as ort from 'onnxruntime-node';
import { encodeFloat32 } from '../../protocol/encoding';
import type { HostToWebview } from '../../protocol/webview';
import { GraphBuilder } from '../../server/onnx/graphBuilder';

export const SOURCE = ['the', 'agreement', 'on', 'the', 'European', 'Economic', 'Area', 'was', 'signed', '</s>'];
export const TARGET = ['l’', 'accord', 'sur', 'la', 'zone', 'économique', 'européenne', 'a', 'été', 'signé', '</s>'];
/** Source word each target word translates (zone économique européenne ← European Economic Area). */
export const ALIGN = [0, 1, 2, 3, 6, 5, 4, 7, 7, 8, 9];

export interface CrossRun {
  heads: number;
  probs: Float32Array;
  q: Float32Array;
  k: Float32Array;
  d: number;
  messages: HostToWebview[];
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

export async function crossAttentionRun(heads = 2): Promise<CrossRun> {
  const S = SOURCE.length;
  const T = TARGET.length;
  const d = S;
  const next = rng(7);
  // Keys: a one-hot per source position; queries point at their aligned source word, head 1
  // more softly (a second, blurrier head), with noise so no two rows are identical.
  const k = new Float32Array(heads * S * d);
  const q = new Float32Array(heads * T * d);
  for (let h = 0; h < heads; h++) {
    for (let s = 0; s < S; s++) for (let j = 0; j < d; j++) k[(h * S + s) * d + j] = (s === j ? 1 : 0) + 0.1 * (next() - 0.5);
    const sharp = h === 0 ? 14 : 6;
    for (let t = 0; t < T; t++) for (let j = 0; j < d; j++) q[(h * T + t) * d + j] = (ALIGN[t] === j ? sharp : 0) + (j === ALIGN[Math.max(0, t - 1)] ? 2 : 0) + next();
  }
  const g = new GraphBuilder('cross_attention', 17);
  const qi = g.input('q', 'float32', [heads, T, d]);
  const ki = g.input('k', 'float32', [heads, S, d]);
  const scores = g.node('MatMul', [qi, g.node('Transpose', [ki], { attrs: { perm: [0, 2, 1] } })]);
  const scaled = g.node('Div', [scores, g.scalar('sqrt_d', Math.sqrt(d))]);
  g.node('Softmax', [scaled], { attrs: { axis: -1 }, outputs: ['probs'] });
  g.output('probs');
  const session = await ort.InferenceSession.create(g.toBytes());
  try {
    const out = await session.run({ q: new ort.Tensor('float32', q, [heads, T, d]), k: new ort.Tensor('float32', k, [heads, S, d]) });
    const probs = Float32Array.from(out.probs.data as Float32Array);
    const captureId = 'cross';
    const messages: HostToWebview[] = [
      {
        type: 'captureStarted',
        captureId,
        modelName: 'cross-attention (onnxruntime)',
        tokens: TARGET.map((text, id) => ({ text, id })),
        sourceTokens: SOURCE.map((text, id) => ({ text, id })),
        layers: [{ index: 0, kind: 'cross', heads }],
      },
      { type: 'layer', captureId, layer: 0, heads, queries: T, keys: S, pool: 1, data: encodeFloat32(probs) },
      { type: 'captureDone', captureId, executionProvider: 'cpu', totalMs: 1, cancelled: false },
    ];
    return { heads, probs, q, k, d, messages };
  } finally {
    await session.release();
  }
}
