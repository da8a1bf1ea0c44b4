/**
 * A prepared one-shot check for a machine with a GPU (run by hand, never by CI or `npm test`):
 * does onnxruntime-node's bundled WebGPU provider start there, do its attention maps equal the
 * CPU's, and how do capture times compare on a GPT-2-small-shaped model. Bundled with esbuild
 * (onnxruntime-node external) so it runs with a bare `node` next to onnxruntime-node.
 * Usage: node webgpuProbe.js <samples/tiny-gpt> <outDir>
 */
import * as ort from 'onnxruntime-node';
import { openModel } from '../../server/capture/openModel';
import type { LayerMap } from '../../server/capture/types';
import { makeGpt2SmallShaped } from '../../samples/scripts/make-bench-model';

async function captureMaps(path: string, ep: 'cpu' | 'webgpu', ids: number[]) {
  const model = await openModel(path, { executionProvider: ep, log: (l) => console.log(`  [${ep}] ${l}`) });
  const maps: LayerMap[] = [];
  const t0 = performance.now();
  const r = await model.capture({ ids }, { executionProvider: ep, onLayer: (m) => void maps.push(m) });
  const ms = performance.now() - t0;
  await model.dispose();
  return { maps, ms, provider: r.executionProvider, notes: r.providerNotes };
}

function maxAbsDiff(a: LayerMap[], b: LayerMap[]): number {
  let worst = 0;
  for (let l = 0; l < a.length; l++) {
    for (let i = 0; i < a[l].data.length; i++) worst = Math.max(worst, Math.abs(a[l].data[i] - b[l].data[i]));
  }
  return worst;
}

async function main() {
  const [tiny, out] = process.argv.slice(2);
  console.log('backends', JSON.stringify((ort as unknown as { listSupportedBackends(): unknown }).listSupportedBackends()));
  const tinyIds = [2, ...Array.from({ length: 63 }, (_, i) => 5 + ((i * 7) % 40))];
  const cpu = await captureMaps(tiny, 'cpu', tinyIds);
  try {
    const gpu = await captureMaps(tiny, 'webgpu', tinyIds);
    console.log(`tiny-gpt: cpu ${cpu.ms.toFixed(1)} ms, ${gpu.provider} ${gpu.ms.toFixed(1)} ms, max |Δ| ${maxAbsDiff(cpu.maps, gpu.maps).toExponential(2)}`);
  } catch (e) {
    console.log(`tiny-gpt on webgpu failed: ${(e as Error).message}`);
    return;
  }
  const bench = await makeGpt2SmallShaped(out, { maxPositions: 2048 });
  console.log('tokens  cpu ms  webgpu ms  ratio  max|Δ|');
  for (const n of [128, 512, 1024]) {
    const ids = Array.from({ length: n }, (_, i) => (i * 31) % 500);
    const c = await captureMaps(bench, 'cpu', ids);
    const g = await captureMaps(bench, 'webgpu', ids);
    const g2 = await captureMaps(bench, 'webgpu', ids); // second run: shaders compiled
    console.log(`${n}  ${c.ms.toFixed(0)}  ${g2.ms.toFixed(0)} (first ${g.ms.toFixed(0)})  ${(c.ms / g2.ms).toFixed(2)}  ${maxAbsDiff(c.maps, g2.maps).toExponential(2)}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
