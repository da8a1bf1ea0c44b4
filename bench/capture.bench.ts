/**
 * The cost of capturing attention on a GPT-2-small-shaped model (12 layers x 12 heads, d 768),
 * side by side in one run, each measurement in a fresh process so its peak RSS is its own:
 * - plain: onnxruntime-node on the same file, logits only (the floor);
 * - panel: openModel + capture with maps 'none' (the model run once, segment by segment, with
 *   statistics, mass per key and block-max maps at the send budget's pool computed in the graph);
 * - full: the CLI's captureToFolder writing every layer_<i>.npy, with the bytes written and this
 *   disk's write speed measured in the same run (so "plain + bytes / speed" is its floor).
 * Targets (issue "One pass per capture"): panel <= 1.2 x plain; full <= 1.2 x (plain + bytes /
 * speed); first layer <= 1.5 x plain / layers + 200 ms; panel RSS <= plain + memoryBudgetMB + 300
 * MB. A length whose plain forward would not fit in free memory (one [12, n, n] float32 score
 * tensor is 12.9 GB at 16,384) is skipped and said so: nothing here may meet the OOM killer.
 * Prints a table; asserts nothing. BENCH_LENGTHS=512,2048 narrows the lengths; BENCH_MODEL=<file.onnx>
 * measures another model of the same shape instead (input_ids, 12 attention layers of 12 heads, a
 * vocabulary of at least 512: bench/torchExport.bench.ts passes a torch export).
 * Malloc: the captures run with the settings the runtime and the CLI start with (huge pages on
 * Linux, common/mallocTunables.ts). The plain forward is measured twice: as plain onnxruntime
 * runs in a process started as usual (the floor a user has), and with the same settings as the
 * captures ("plain HP"), since they make it faster too; both ratios are printed.
 */
import { fork } from 'node:child_process';
import { closeSync, fsyncSync, mkdtempSync, openSync, readdirSync, rmSync, statfsSync, statSync, writeSync } from 'node:fs';
import { cpus, freemem, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { openModel } from '../server/capture/openModel';
import { captureToFolder } from '../server/cli/captureRun';
import { poolFor } from '../server/lsp/captureHandler';
import { makeGpt2SmallShaped } from '../samples/scripts/make-bench-model';
import { withHugePages } from '../common/mallocTunables';

const LENGTHS = (process.env.BENCH_LENGTHS ?? '512,2048,4096,8192,16384').split(',').map(Number);
const LAYERS = 12;
const HEADS = 12;
const VOCAB = 512;
/** The extension's defaults (attentionInspector.memoryBudgetMB / sendBudgetMB). */
const MEMORY_BUDGET = 512 * 2 ** 20;
const SEND_BUDGET = 32 * 2 ** 20;
const runsAt = (n: number) => (n <= 2048 ? 3 : 1);
/** The environment the runtime and the CLI give themselves. */
const RUNTIME_ENV = withHugePages(process.env);

type Mode = 'plain' | 'panel' | 'full';
interface Measure {
  medianMs: number;
  peakRssBytes: number;
  firstLayerMs?: number;
  segmentRuns?: number;
  bytesWritten?: number;
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
  let firstLayerMs: number | undefined;
  let segmentRuns: number | undefined;
  let bytesWritten: number | undefined;
  if (mode === 'panel') {
    const model = await openModel(file, { executionProvider: 'cpu' });
    const poolFactor = (_: number, h: number, q: number, k: number) => poolFor({ sendBudgetBytes: SEND_BUDGET }, h, q, k, LAYERS);
    // Opening makes the sessions that return full maps; a panel capture uses the reduced ones.
    // One short capture makes those first, as the plain forward's session exists before it is
    // timed: otherwise a single run at 4,096 tokens and above would time 12 session builds too.
    await model.capture({ ids: ids(8) }, { maps: 'none', poolFactor, onReductions: () => undefined });
    const firsts: number[] = [];
    for (let r = 0; r < runsAt(n); r++) {
      const t = performance.now();
      const res = await model.capture(
        { ids: ids(n) },
        { maps: 'none', memoryBudgetBytes: MEMORY_BUDGET, poolFactor, onReductions: () => undefined },
      );
      times.push(performance.now() - t);
      firsts.push(res.firstLayerMs ?? NaN);
      segmentRuns = res.segmentRuns;
      if (res.layers.length !== LAYERS) throw new Error(`captured ${res.layers.length} layers`);
    }
    firstLayerMs = median(firsts);
    await model.dispose();
  } else if (mode === 'full') {
    const out = mkdtempSync(join(tmpdir(), 'attention-inspector-bench-maps-'));
    try {
      const o = await captureToFolder({ model: file, input: { ids: ids(n) }, out, executionProvider: 'cpu', memoryBudgetBytes: MEMORY_BUDGET });
      // The capture's own time (tokens to last layer file written), without opening the model,
      // as the plain forward's time is without creating its session.
      times.push(o.result.timings.totalMs);
      await o.model.dispose();
      bytesWritten = readdirSync(out).reduce((a, f) => a + statSync(join(out, f)).size, 0);
      segmentRuns = o.result.segmentRuns;
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  } else {
    const session = await ort.InferenceSession.create(file, { executionProviders: ['cpu'], logSeverityLevel: 3, enableCpuMemArena: false });
    const feeds = { input_ids: new ort.Tensor('int64', BigInt64Array.from(ids(n).map(BigInt)), [1, n]) };
    for (let r = 0; r < runsAt(n); r++) {
      const t = performance.now();
      await session.run(feeds);
      times.push(performance.now() - t);
    }
    await session.release();
  }
  return { medianMs: median(times), peakRssBytes: rss.stop(), firstLayerMs, segmentRuns, bytesWritten };
}

function measureInChild(mode: Mode, n: number, file: string, env: NodeJS.ProcessEnv = RUNTIME_ENV): Promise<Measure> {
  return new Promise((resolve, reject) => {
    const p = fork(__filename, ['--child', mode, String(n), file], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env });
    let result: Measure | undefined;
    p.on('message', (m) => (result = m as Measure));
    p.on('exit', (code, signal) => (result ? resolve(result) : reject(new Error(`${mode} at ${n} tokens: child exited with ${code ?? signal}`))));
  });
}

/** This disk's sequential write speed (bytes/s): 1 GiB in 16 MiB writes, fsync'd, in tmpdir. */
function diskWriteSpeed(): number {
  const dir = mkdtempSync(join(tmpdir(), 'attention-inspector-bench-disk-'));
  const file = join(dir, 'probe.bin');
  const chunk = Buffer.alloc(16 * 2 ** 20, 1);
  const total = 2 ** 30;
  try {
    const t = performance.now();
    const fd = openSync(file, 'w');
    for (let w = 0; w < total; w += chunk.length) writeSync(fd, chunk);
    fsyncSync(fd);
    closeSync(fd);
    return total / ((performance.now() - t) / 1000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const t = performance.now();
  const file = process.env.BENCH_MODEL ?? (await makeGpt2SmallShaped(join(tmpdir(), 'attention-inspector-bench'), { maxPositions: Math.max(4096, ...LENGTHS) }));
  console.log(`model: ${file} (generated or reused in ${((performance.now() - t) / 1000).toFixed(1)} s)`);
  console.log(`CPU execution provider; ${runsAt(512)} runs each up to 2048 tokens, 1 above; median time; peak RSS of a fresh process`);
  console.log(`panel = capture maps 'none' (pool at sendBudgetMB ${SEND_BUDGET / 2 ** 20}); full = CLI capture writing every layer_<i>.npy; plain = logits only`);
  console.log(`captures and plain HP with GLIBC_TUNABLES=${RUNTIME_ENV.GLIBC_TUNABLES ?? '(not set: not Linux, or opted out)'}; plain as the process started (GLIBC_TUNABLES=${process.env.GLIBC_TUNABLES ?? 'not set'})\n`);
  const speed = diskWriteSpeed();
  console.log(`disk write speed (1 GiB, fsync'd, ${tmpdir()}): ${(speed / 2 ** 20).toFixed(0)} MiB/s\n`);
  const header = [
    'tokens', 'plain ms', 'plain HP', 'panel ms', 'panel/plain', 'panel/HP', 'full ms', 'written MB', 'full/floor', 'full/HPfloor', 'first ms', 'first target',
    'plain RSS', 'panel RSS', 'full RSS', 'RSS target', 'seg runs',
  ];
  console.log(header.map((h) => h.padStart(12)).join(''));
  const mb = (b: number) => (b / 2 ** 20).toFixed(0);
  const notes: string[] = [];
  for (const n of LENGTHS) {
    // A plain forward holds a few [12, n, n] float32 tensors at once (scores, masked, softmax).
    const scores = HEADS * n * n * 4;
    // The captures run layers above memoryBudgetMB by query blocks, so they are measured even
    // where the plain forward (whole [12, n, n] tensors) cannot run here.
    const plainFits = 3 * scores + 2 ** 30 <= freemem();
    if (!plainFits) notes.push(`plain forward at ${n} tokens skipped: one [12, ${n}, ${n}] score tensor is ${mb(scores)} MB and a plain forward holds about three (${mb(3 * scores)} MB), ${mb(freemem())} MB free`);
    const plain: Measure = plainFits ? await measureInChild('plain', n, file, process.env) : { medianMs: NaN, peakRssBytes: NaN };
    const plainHp: Measure = plainFits ? await measureInChild('plain', n, file) : { medianMs: NaN, peakRssBytes: NaN };
    // A capture may refuse a length its layer cannot hold (one line, like the CLI): say so.
    const panel = await measureInChild('panel', n, file).catch((e: Error) => {
      notes.push(`panel capture at ${n} tokens: ${e.message}`);
      return undefined;
    });
    if (!panel) {
      console.log([n, plain.medianMs.toFixed(0), plainHp.medianMs.toFixed(0), ...Array(header.length - 3).fill('failed')].map((c) => String(c).padStart(12)).join(''));
      continue;
    }
    const mapsBytes = LAYERS * scores;
    const disk = statfsSync(tmpdir());
    const roomOnDisk = mapsBytes < 0.6 * disk.bavail * disk.bsize;
    if (!roomOnDisk) notes.push(`full-map capture at ${n} tokens skipped: ${mb(mapsBytes)} MB of maps, ${mb(disk.bavail * disk.bsize)} MB free on disk`);
    // Like the panel's, a failed full capture (killed for memory on a shared machine) is a note,
    // not the end of the table.
    const full = roomOnDisk
      ? await measureInChild('full', n, file).catch((e: Error) => void notes.push(`full-map capture at ${n} tokens: ${e.message}`))
      : undefined;
    const writeMs = ((full?.bytesWritten ?? 0) / speed) * 1000;
    const floor = plain.medianMs + writeMs;
    const firstTarget = (1.5 * plain.medianMs) / LAYERS + 200;
    const row = [
      n, plain.medianMs.toFixed(0), plainHp.medianMs.toFixed(0), panel.medianMs.toFixed(0), (panel.medianMs / plain.medianMs).toFixed(2), (panel.medianMs / plainHp.medianMs).toFixed(2),
      full ? full.medianMs.toFixed(0) : '-', full ? mb(full.bytesWritten ?? 0) : '-', full ? (full.medianMs / floor).toFixed(2) : '-', full ? (full.medianMs / (plainHp.medianMs + writeMs)).toFixed(2) : '-',
      (panel.firstLayerMs ?? NaN).toFixed(0), firstTarget.toFixed(0),
      mb(plain.peakRssBytes), mb(panel.peakRssBytes), full ? mb(full.peakRssBytes) : '-', mb(plain.peakRssBytes + MEMORY_BUDGET + 300 * 2 ** 20),
      `${panel.segmentRuns}${full ? `/${full.segmentRuns}` : ''}`,
    ];
    console.log(row.map((c) => String(c).padStart(12)).join(''));
  }
  for (const note of notes) console.log(note);
  console.log('\nfull/floor = full ms / (plain ms + written bytes / disk speed); HP: against plain HP (the same malloc settings as the captures); RSS in MB; seg runs = segment runs per capture (panel/full)');
  console.log(`targets: panel/plain <= 1.2, full/floor <= 1.2, first ms <= first target, panel RSS <= RSS target`);
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
