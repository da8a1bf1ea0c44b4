/**
 * Head ablation on a GPT-2-small-shaped model (samples/scripts/make-bench-model.ts: 12 layers ×
 * 12 heads, d_model 768) at 64 tokens, CPU, side by side in one run: the floor (one plain
 * onnxruntime forward of the same graph), all 144 ablations re-running the whole graph, and the
 * same ablations re-run from the head's layer (the graph cut at the stored residual stream,
 * server/internals/layerCut.ts). Prints times, the ratio to the floor, the speed-up, and the
 * largest relative difference between the two ways (they must agree).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ablateHeads } from '../server/internals/ablation';
import { openInternalsGraph } from '../server/internals/internalsGraph';
import { makeGpt2SmallShaped } from '../samples/scripts/make-bench-model';

const TOKENS = 64;

async function main(): Promise<void> {
  const file = await makeGpt2SmallShaped(join(tmpdir(), 'attention-inspector-bench'), { layers: 12, maxPositions: 1024 });
  const ids = Array.from({ length: TOKENS }, (_, i) => (i * 37) % 512);
  const g = await openInternalsGraph(file);
  const plain = await ort.InferenceSession.create(file, { logSeverityLevel: 3 });
  const feeds = g.feedsFor(ids);
  await plain.run(feeds);
  const f: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    await plain.run(feeds);
    f.push(performance.now() - t);
  }
  await plain.release();
  const floor = [...f].sort((a, b) => a - b)[2];
  let t = performance.now();
  const whole = await ablateHeads(g, ids, 'cpu', { rerun: 'whole' });
  const wholeMs = performance.now() - t;
  t = performance.now();
  const cut = await ablateHeads(g, ids, 'cpu', { rerun: 'from-layer' });
  const cutMs = performance.now() - t;
  t = performance.now();
  const auto = await ablateHeads(g, ids, 'cpu');
  const autoMs = performance.now() - t;
  let diff = 0;
  whole.layers.forEach((row, l) => row.forEach((v, h) => (diff = Math.max(diff, Math.abs(v - cut.layers[l][h]) / Math.max(v, 1e-30)))));
  const runs = whole.layers.flat().length;
  console.log(`head ablation: GPT-2-small-shaped, 12 layers × 12 heads, ${TOKENS} tokens, CPU (${runs} ablations)`);
  console.log(['what', 'ms', 'ratio to floor'].join('\t'));
  console.log(['floor: one plain onnxruntime forward (median of 5)', floor.toFixed(1), '1.0'].join('\t'));
  console.log(['all heads, whole graph each time', wholeMs.toFixed(0), (wholeMs / floor).toFixed(1)].join('\t'));
  console.log(['all heads, from the head\'s layer on (a cut session per layer)', cutMs.toFixed(0), (cutMs / floor).toFixed(1)].join('\t'));
  console.log(['all heads, auto (cut where it pays)', autoMs.toFixed(0), (autoMs / floor).toFixed(1)].join('\t'));
  console.log(`auto: ${auto.notes.at(-1)}`);
  console.log(`speed-up of starting at the head's layer: ${(wholeMs / cutMs).toFixed(2)}×, auto ${(wholeMs / autoMs).toFixed(2)}× (ideal for 12 layers: ${(12 / 6.5).toFixed(2)}×); largest relative difference between the two: ${diff.toExponential(1)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
