/**
 * The cost of capturing attention: a GPT-2-small-shaped model (12 x 12 heads, d 768) run by
 * the runtime's engine (openModel + capture, which adds every layer's probabilities as outputs)
 * against the same file run plainly with onnxruntime-node (logits only). Each measurement runs
 * in a fresh process so its peak RSS is its own; times are the median of 3 runs (one run at
 * 4096 tokens, where a capture takes minutes on a small CPU). Captures run under a 1 GiB map
 * budget, as the runtime does for long inputs: layers come back in groups whose maps fit it
 * (each group's run recomputes the layers before it), so memory stays bounded at the price of
 * time. Prints a table; asserts nothing.
 */
import { fork } from 'node:child_process';
import { cpus, freemem, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { openModel } from '../server/capture/openModel';
import { makeGpt2SmallShaped } from '../samples/scripts/make-bench-model';

const LENGTHS = [128, 512, 2048, 4096];
const RUNS = 3;
const LAYERS = 12;
const HEADS = 12;
const VOCAB = 512;
/** Map budget of a capture (bytes): what one onnxruntime run may return. */
const BUDGET = 2 ** 30;
const runsAt = (n: number) => (n >= 4096 ? 1 : RUNS);

type Mode = 'plain' | 'capture';
interface Measure {
  medianMs: number;
  peakRssBytes: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ids = (n: number) => Array.from({ length: n }, (_, i) => (i * 7919) % VOCAB);

/** Tracks the process's resident peak while a run executes off the JS thread. */
function rssPeak(): { stop: () => number } {
  let peak = process.memoryUsage().rss;
  const t = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  return { stop: () => (clearInterval(t), Math.max(peak, process.memoryUsage().rss, process.resourceUsage().maxRSS * 1024)) };
}

async function child(mode: Mode, n: number, file: string): Promise<Measure> {
  const times: number[] = [];
  const rss = rssPeak();
  if (mode === 'capture') {
    const model = await openModel(file, { executionProvider: 'cpu' });
    for (let r = 0; r < runsAt(n); r++) {
      const t = performance.now();
      const res = await model.capture({ ids: ids(n) }, { memoryBudgetBytes: BUDGET });
      times.push(performance.now() - t);
      if (res.layers.length !== LAYERS) throw new Error(`captured ${res.layers.length} layers`);
    }
    await model.dispose();
  } else {
    const session = await ort.InferenceSession.create(file, { executionProviders: ['cpu'], logSeverityLevel: 3 });
    const feeds = { input_ids: new ort.Tensor('int64', BigInt64Array.from(ids(n).map(BigInt)), [1, n]) };
    for (let r = 0; r < runsAt(n); r++) {
      const t = performance.now();
      await session.run(feeds);
      times.push(performance.now() - t);
    }
    await session.release();
  }
  return { medianMs: median(times), peakRssBytes: rss.stop() };
}

function measureInChild(mode: Mode, n: number, file: string): Promise<Measure> {
  return new Promise((resolve, reject) => {
    const p = fork(__filename, ['--child', mode, String(n), file], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: Measure | undefined;
    p.on('message', (m) => (result = m as Measure));
    p.on('exit', (code, signal) =>
      result ? resolve(result) : reject(new Error(`${mode} at ${n} tokens: child exited with ${code ?? signal}`)),
    );
  });
}

async function main(): Promise<void> {
  const t = performance.now();
  const file = await makeGpt2SmallShaped(join(tmpdir(), 'attention-inspector-bench'));
  console.log(`model: ${file} (generated or reused in ${((performance.now() - t) / 1000).toFixed(1)} s)`);
  console.log(`${RUNS} runs each (1 at 4096 tokens), CPU execution provider, median time; peak RSS of a fresh process`);
  console.log(`capture = openModel + capture({ ids }, { memoryBudgetBytes: ${BUDGET / 2 ** 20} MiB }) (all 12 layers' maps, handed over and dropped layer by layer); plain = onnxruntime-node, logits only\n`);
  const header = ['tokens', 'plain ms', 'capture ms', 'time ratio', 'plain RSS MB', 'capture RSS MB', 'RSS ratio', 'maps MB', 'runs'];
  console.log(header.map((h) => h.padStart(15)).join(''));
  const mb = (b: number) => (b / 2 ** 20).toFixed(0);
  const notes: string[] = [];
  for (const n of LENGTHS) {
    const mapsBytes = LAYERS * HEADS * n * n * 4;
    const groups = 1;
    const plain = await measureInChild('plain', n, file);
    // A group's maps exist twice at the end of its run (onnxruntime's outputs and their JS
    // copies) on top of what the plain run needs; skip a capture that would meet the OOM killer.
    const groupBytes = Math.min(mapsBytes, Math.max(BUDGET, HEADS * n * n * 4));
    const needed = plain.peakRssBytes + 2 * groupBytes + 2 ** 30;
    const cap = needed > freemem() ? undefined : await measureInChild('capture', n, file);
    const row = [
      n, plain.medianMs.toFixed(0), cap ? cap.medianMs.toFixed(0) : 'skipped', cap ? (cap.medianMs / plain.medianMs).toFixed(2) : '-',
      mb(plain.peakRssBytes), cap ? mb(cap.peakRssBytes) : 'skipped', cap ? (cap.peakRssBytes / plain.peakRssBytes).toFixed(2) : '-', mb(mapsBytes), groups,
    ];
    if (!cap) notes.push(`capture at ${n} tokens skipped: needs about ${mb(needed)} MB, ${mb(freemem())} MB free`);
    console.log(row.map((c) => String(c).padStart(15)).join(''));
  }
  for (const note of notes) console.log(note);
  console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores (shared machines make times noisy)`);
}

if (process.argv[2] === '--child') {
  child(process.argv[3] as Mode, Number(process.argv[4]), process.argv[5])
    .then((m) => process.send!(m, () => process.exit(0)))
    .catch((e) => {
      console.error(e instanceof Error ? e.message : e);
      process.exit(1);
    });
} else {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
}
