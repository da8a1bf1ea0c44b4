/**
 * The cost of the serving analyses on a GPT-2-small-shaped model (12 x 12 heads, d 768), side
 * by side with the floor: the plain onnxruntime-node forward of the same file (logits only).
 * Per length: the full-cache run of the masked graph (maps, values and logits out, zero masks
 * in), each policy's choice of kept keys over all layers, the policy-masked run, and the
 * head-type scores. Medians of 3 runs, CPU execution provider, one process (peak RSS at the
 * end). Prints a table; asserts nothing.
 */
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { makeGpt2SmallShaped } from '../samples/scripts/make-bench-model';
import { POLICIES, keepMask } from '../server/serving/evictionPolicies';
import { scoreLayer } from '../common/headScores';
import { openMaskedModel } from '../server/serving/maskedModel';

const LENGTHS = [128, 256, 512];
const RUNS = 3;
const VOCAB = 512;
const BUDGET_FRACTION = 4;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ids = (n: number) => Array.from({ length: n }, (_, i) => (i * 7919) % VOCAB);

async function timed<T>(f: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const times: number[] = [];
  let value!: T;
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    value = await f();
    times.push(performance.now() - t);
  }
  return { ms: median(times), value };
}

async function main(): Promise<void> {
  const file = await makeGpt2SmallShaped(join(tmpdir(), 'attention-inspector-bench'));
  console.log(`model: ${file}; ${RUNS} runs each, median ms, CPU; budget B = n / ${BUDGET_FRACTION}`);
  const session = await ort.InferenceSession.create(file, { executionProviders: ['cpu'], logSeverityLevel: 3 });
  const model = await openMaskedModel(file, 'cpu');
  const header = ['tokens', 'plain', 'full run', 'x plain', ...POLICIES.flatMap((p) => [`${p} keep`, `${p} run`]), 'masked x plain', 'head types'];
  console.log(header.map((h) => h.padStart(14)).join(''));
  for (const n of LENGTHS) {
    const x = ids(n);
    const feeds = { input_ids: new ort.Tensor('int64', BigInt64Array.from(x.map(BigInt)), [1, n]) };
    const plain = await timed(() => session.run(feeds));
    const full = await timed(() => model.run(x));
    const cells: string[] = [String(n), plain.ms.toFixed(0), full.ms.toFixed(0), (full.ms / plain.ms).toFixed(2)];
    const budget = Math.floor(n / BUDGET_FRACTION);
    const maskedRatios: number[] = [];
    for (const policy of POLICIES) {
      const keep = await timed(() => full.value.probs.map((p) => keepMask(p, p.length / (n * n), n, { policy, budget })));
      const run = await timed(() => model.run(x, keep.value));
      maskedRatios.push(run.ms / plain.ms);
      cells.push(keep.ms.toFixed(0), run.ms.toFixed(0));
    }
    cells.push(`${Math.min(...maskedRatios).toFixed(2)}-${Math.max(...maskedRatios).toFixed(2)}`);
    const heads = await timed(() => full.value.probs.map((p) => scoreLayer({ heads: p.length / (n * n), queries: n, keys: n, data: p }, x)));
    cells.push(heads.ms.toFixed(0));
    console.log(cells.map((c) => c.padStart(14)).join(''));
  }
  await model.dispose();
  await session.release();
  console.log(`peak RSS of this process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
  console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores (shared machines make times noisy)`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
