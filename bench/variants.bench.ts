/**
 * Latency (median of 3 timed runs after a warm-up) and peak memory (RSS growth over a run, CPU
 * arena off) of exact attention against the tiled exact kernels (flash, chunked) and the
 * linear-cost approximations (linear, linformer, longformer), n = 1,024 … 16,384, head dim 64.
 * Each (variant, n) runs in its own process so freed-but-retained memory of one run never hides
 * another's peak. Heads = 2 keeps exact's two [h, n, n] float32 tensors at 16,384 near 4 GiB.
 * `tsx bench/variants.bench.ts [maxN]`.
 */
import { execFileSync } from 'node:child_process';
import { VARIANTS } from '../server/variants/registry';
import { runVariant } from '../server/variants/runVariant';
import { gaussian } from '../server/variants/rng';

const HEADS = 2;
const D = 64;
const PARAMS: Record<string, Record<string, number>> = {
  exact: {},
  flash: { keyTile: 1024 },
  chunked: { queryChunk: 1024, keyChunk: 4096 },
  linear: {},
  linformer: {},
  longformer: { window: 128, globals: 1 },
};

async function child(id: string, n: number): Promise<void> {
  const spec = VARIANTS.find((v) => v.id === id)!;
  const s = HEADS * n * D;
  const x = { q: gaussian(s, 1), k: gaussian(s, 2), v: gaussian(s, 3), heads: HEADS, n, m: n, d: D, causal: false, seed: 1 };
  const r = await runVariant(spec, x, { ...PARAMS[id], map: 0 }, { repeats: 3 });
  const p = { ...spec.defaults, ...PARAMS[id], map: 0 };
  process.stdout.write(JSON.stringify({ id, n, ms: r.latencyMs, peak: r.peakBytes, model: spec.memoryBytes(n, n, D, HEADS, p), flops: spec.flops(n, n, D, HEADS, p) }));
}

async function main(): Promise<void> {
  const maxN = Number(process.argv[2] ?? 16384);
  const ids = Object.keys(PARAMS).filter((id) => VARIANTS.some((v) => v.id === id));
  const missing = Object.keys(PARAMS).filter((id) => !ids.includes(id));
  const rows: { id: string; n: number; ms: number; peak: number; model: number; flops: number }[] = [];
  console.log(`heads ${HEADS}, head dim ${D}, bidirectional, CPU; ${missing.length ? `not registered: ${missing.join(', ')}` : 'all variants registered'}`);
  console.log('n       variant      ms (median)  peak MB  model MB   GFLOP  ms/exact  peak/exact');
  for (let n = 1024; n <= maxN; n *= 2) {
    const exact: { ms: number; peak: number } = { ms: NaN, peak: NaN };
    for (const id of ids) {
      let row;
      try {
        const out = execFileSync(process.execPath, [...process.execArgv, __filename, '--child', id, String(n)], { encoding: 'utf8', maxBuffer: 1 << 20 });
        row = JSON.parse(out.trim().split('\n').pop()!);
      } catch (e) {
        console.log(`${String(n).padEnd(7)} ${id.padEnd(12)} failed: ${(e as Error).message.split('\n')[0]}`);
        continue;
      }
      rows.push(row);
      if (id === 'exact') Object.assign(exact, row);
      console.log(
        `${String(n).padEnd(7)} ${id.padEnd(12)} ${row.ms.toFixed(1).padStart(11)}  ${(row.peak / 2 ** 20).toFixed(0).padStart(7)}  ${(row.model / 2 ** 20).toFixed(0).padStart(8)}  ${(row.flops / 1e9).toFixed(1).padStart(6)}  ${(row.ms / exact.ms).toFixed(2).padStart(8)}  ${(row.peak / exact.peak).toFixed(3).padStart(10)}`,
      );
    }
  }
}

if (process.argv[2] === '--child') {
  child(process.argv[3], Number(process.argv[4])).catch((e) => {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  });
} else {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
