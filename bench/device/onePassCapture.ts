/**
 * A prepared one-shot check for a machine with a GPU (run by hand, never by CI or `npm test`):
 * the segmented, reduced capture (maps 'none': statistics, mass per key and block-max maps
 * computed in the graph) on the CPU and WebGPU providers, against each provider's plain forward
 * (logits only), on a GPT-2-small-shaped model at 512, 2,048, 4,096 and 8,192 tokens; and the
 * largest difference between the two providers' statistics. Targets (docs/device-checks.md):
 * WebGPU panel capture <= 1.5 x the WebGPU plain forward; >= 5 x faster than CPU at 4,096.
 *
 * Usage: npx tsx bench/device/onePassCapture.ts <outDir> [--cpu-only] [--lengths 512,2048]
 * (or bundled with esbuild, onnxruntime-node external, and run with a bare node).
 * --cpu-only runs the CPU columns alone: what a machine without a GPU can check of this script.
 */
import * as ort from 'onnxruntime-node';
import type { LayerReductions } from '../../server/capture/layerReductions';
import { openModel } from '../../server/capture/openModel';
import { poolFor } from '../../server/lsp/captureHandler';
import { makeGpt2SmallShaped } from '../../samples/scripts/make-bench-model';
import { endWithLauncher, relaunchEnv, runAgain } from '../../server/cli/relaunch';

type Ep = 'cpu' | 'webgpu';
const LAYERS = 12;
/** The extension's default send budget: the pool the panel's grid would get. */
const SEND_BUDGET = 32 * 2 ** 20;

const ids = (n: number) => Array.from({ length: n }, (_, i) => (i * 7919) % 512);

/** Median of `runs` plain forwards after one warm-up (shader compilation on WebGPU). */
async function plain(file: string, ep: Ep, n: number, runs: number): Promise<number> {
  const session = await ort.InferenceSession.create(file, { executionProviders: [ep], logSeverityLevel: 3 });
  try {
    const feeds = { input_ids: new ort.Tensor('int64', BigInt64Array.from(ids(n).map(BigInt)), [1, n]) };
    await session.run(feeds);
    const times: number[] = [];
    for (let r = 0; r < runs; r++) {
      const t = performance.now();
      await session.run(feeds);
      times.push(performance.now() - t);
    }
    return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
  } finally {
    await session.release();
  }
}

async function panel(file: string, ep: Ep, n: number, runs: number): Promise<{ ms: number; reductions: LayerReductions[]; provider: string }> {
  const model = await openModel(file, { executionProvider: ep });
  try {
    let reductions: LayerReductions[] = [];
    let provider = '';
    const times: number[] = [];
    for (let r = 0; r <= runs; r++) {
      const got: LayerReductions[] = [];
      const t = performance.now();
      const res = await model.capture(
        { ids: ids(n) },
        { maps: 'none', poolFactor: (_, h, q, k) => poolFor({ sendBudgetBytes: SEND_BUDGET }, h, q, k, LAYERS), onReductions: (x) => void got.push(x) },
      );
      if (r > 0) times.push(performance.now() - t);
      reductions = got;
      provider = res.executionProvider;
    }
    return { ms: times.sort((a, b) => a - b)[Math.floor(times.length / 2)], reductions, provider };
  } finally {
    await model.dispose();
  }
}

/** Largest |a - b| over every statistic of every head of every layer. */
function statsDiff(a: LayerReductions[], b: LayerReductions[]): number {
  let worst = 0;
  a.forEach((la, l) => {
    for (const key of ['entropy', 'distance', 'first', 'previous', 'self', 'topk'] as const) {
      la.stats[key].forEach((v, h) => {
        const w = b[l].stats[key][h];
        if (Number.isFinite(v) || Number.isFinite(w)) worst = Math.max(worst, Math.abs(v - w));
      });
    }
  });
  return worst;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const out = args.find((a) => !a.startsWith('--')) ?? 'out/device';
  const cpuOnly = args.includes('--cpu-only');
  const li = args.indexOf('--lengths');
  const lengths = li >= 0 ? args[li + 1].split(',').map(Number) : [512, 2048, 4096, 8192];
  const file = await makeGpt2SmallShaped(out, { maxPositions: Math.max(4096, ...lengths) });
  console.log(`backends ${JSON.stringify(ort.listSupportedBackends())}; model ${file}`);
  console.log('tokens  cpu plain  cpu panel  cpu ratio  webgpu plain  webgpu panel  webgpu ratio  cpu/webgpu panel  max |Δ stats|');
  for (const n of lengths) {
    const runs = n >= 4096 ? 1 : 3;
    const cp = await plain(file, 'cpu', n, runs);
    const cc = await panel(file, 'cpu', n, runs);
    const row: string[] = [String(n), cp.toFixed(0), cc.ms.toFixed(0), (cc.ms / cp).toFixed(2)];
    if (cpuOnly) {
      row.push('-', '-', '-', '-', '-');
    } else {
      try {
        const gp = await plain(file, 'webgpu', n, runs);
        const gc = await panel(file, 'webgpu', n, runs);
        if (gc.provider !== 'webgpu') throw new Error(`capture ran on ${gc.provider}`);
        row.push(gp.toFixed(0), gc.ms.toFixed(0), (gc.ms / gp).toFixed(2), (cc.ms / gc.ms).toFixed(2), statsDiff(cc.reductions, gc.reductions).toExponential(2));
      } catch (e) {
        row.push(`webgpu failed: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`);
      }
    }
    console.log(row.join('  '));
  }
  console.log('targets: webgpu ratio <= 1.5; cpu/webgpu panel >= 5 at 4096');
}

// As the runtime and the CLI run (huge pages on Linux, common/mallocTunables.ts); the plain
// forwards share the process, so both columns run under the same malloc settings.
const env = relaunchEnv();
if (env) runAgain(env);
else {
  endWithLauncher();
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
