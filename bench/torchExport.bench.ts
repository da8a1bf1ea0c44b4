/**
 * The capture on a graph this project did not build: a GPT-2-small-shaped model written in plain
 * torch after transformers 4.x's GPT-2 (eager attention) and exported by torch.onnx.export
 * (samples/scripts/export_torch_gpt2.py, random weights, the capture bench's shape).
 * - Fidelity at a long length: the CLI's capture (default 512 MB memory budget, so its layers run
 *   by query blocks) against torch's own probabilities of the first and last layers, and
 *   stats.json against the statistics computed from those in float64 by numpy.
 * - Speed: the capture bench's table (bench/capture.bench.ts) on that file.
 * Needs a Python with torch and numpy (Debian: `apt-get install python3-torch`); prints that it
 * is skipped otherwise, so `npm run bench` runs anywhere. TORCH_PYTHON picks the interpreter,
 * TORCH_BENCH_TOKENS the fidelity length (default 2,048), BENCH_LENGTHS the speed lengths
 * (default 512,2048). The export (about 2 minutes at 2,048 tokens) is kept in the system temp
 * folder and reused. Exits 1 when a probability is off by more than 1e-5, or a statistic by more
 * than 1e-5 of its size (at least 1: distances run to hundreds of tokens here).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpy } from '../server/capture/npy';
import { captureToFolder } from '../server/cli/captureRun';
import { maxDiff } from '../test/helpers/segmentCheck';

const TOKENS = Number(process.env.TORCH_BENCH_TOKENS ?? 2048);
const VOCAB = 512;
const TOLERANCE = 1e-5;
const STATS = ['entropy', 'distance', 'first', 'previous', 'self'] as const;

/** The first interpreter that imports torch and numpy. */
function torchPython(): string | undefined {
  const candidates = process.env.TORCH_PYTHON ? [process.env.TORCH_PYTHON] : ['python3', '/usr/bin/python3'];
  return candidates.find((py) => spawnSync(py, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0);
}

/** Largest |a − b| / max(1, |b|). */
function relativeDiff(a: number[], b: number[]): number {
  if (a.length !== b.length) return Infinity;
  return Math.max(0, ...a.map((x, i) => Math.abs(x - b[i]) / Math.max(1, Math.abs(b[i]))));
}

async function main(): Promise<void> {
  const python = torchPython();
  if (!python) {
    console.log('skipped: no Python with torch and numpy (Debian: apt-get install python3-torch; or set TORCH_PYTHON)');
    return;
  }
  const dir = join(tmpdir(), 'attention-inspector-bench', `torch-gpt2-${TOKENS}`);
  const file = join(dir, 'model.onnx');
  if (!existsSync(join(dir, 'meta.json'))) {
    const t = performance.now();
    const r = spawnSync(python, [join(__dirname, '..', 'samples', 'scripts', 'export_torch_gpt2.py'), dir, String(TOKENS)], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) throw new Error(`samples/scripts/export_torch_gpt2.py exited with ${r.status ?? r.signal}`);
    console.log(`exported by torch in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  }
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { torch: string; layers_kept: number[] };
  console.log(`model: ${file} (torch ${meta.torch}, torch.onnx.export)\n`);

  const ids = Array.from({ length: TOKENS }, (_, i) => (i * 7919) % VOCAB);
  const out = mkdtempSync(join(tmpdir(), 'attention-inspector-bench-torch-'));
  let failed = false;
  try {
    const t = performance.now();
    const o = await captureToFolder({ model: file, input: { ids }, out, executionProvider: 'cpu', memoryBudgetBytes: 512 * 2 ** 20 });
    await o.model.dispose();
    console.log(`CLI capture at ${TOKENS} tokens, full maps: ${((performance.now() - t) / 1000).toFixed(1)} s, ${o.result.segmentRuns} segment runs`);
    const torchStats = JSON.parse(readFileSync(join(dir, 'torch_stats.json'), 'utf8')) as { layers: Record<string, number[]>[] };
    const ours = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8')) as { layers: Record<string, number[]>[] };
    console.log(`${'layer'.padStart(6)}${'max |Δp|'.padStart(12)}${STATS.map((s) => `rel Δ ${s}`.padStart(16)).join('')}`);
    for (const layer of meta.layers_kept) {
      const want = readNpy(join(dir, `torch_layer_${layer}.npy`));
      const got = readNpy(join(out, `layer_${layer}.npy`));
      const dp = got.shape.join() === want.shape.join() ? maxDiff(got.data, want.data) : Infinity;
      const ds = STATS.map((s) => relativeDiff(ours.layers[layer][s], torchStats.layers[layer][s]));
      failed ||= dp > TOLERANCE || ds.some((d) => !(d <= TOLERANCE));
      console.log(`${String(layer).padStart(6)}${dp.toExponential(1).padStart(12)}${ds.map((d) => d.toExponential(1).padStart(16)).join('')}`);
    }
    console.log(`(probabilities against torch's own, statistics relative to max(1, |torch's|); ${failed ? 'NOT ' : ''}within ${TOLERANCE})\n`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }

  const lengths = process.env.BENCH_LENGTHS ?? '512,2048';
  const r = spawnSync(process.execPath, [...process.execArgv, join(__dirname, 'capture.bench.ts')], {
    stdio: 'inherit',
    env: { ...process.env, BENCH_MODEL: file, BENCH_LENGTHS: lengths },
  });
  if (r.status !== 0) throw new Error(`capture.bench.ts on the torch export exited with ${r.status ?? r.signal}`);
  if (failed) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
