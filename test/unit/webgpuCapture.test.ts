/**
 * The WebGPU provider runs the same segmented capture as the CPU provider, reductions in the graph
 * included (statistics, mass per key, pooled maps; whole and by query blocks), and gets the same
 * figures. CI has no GPU: .ci/run installs Mesa's lavapipe, a Vulkan driver that runs on the CPU
 * (bookworm-backports' mesa-vulkan-drivers; bookworm's own lacks a feature Dawn requires), so
 * onnxruntime's WebGPU provider really runs here, slowly (speed is bench/device/'s business).
 * Without a WebGPU adapter the WebGPU cases are skipped and say why.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { firstLine } from '../../common/errors';
import { createSession, gpuDevicePresent } from '../../server/capture/executionProvider';
import type { LayerReductions } from '../../server/capture/layerReductions';
import { openModel } from '../../server/capture/openModel';
import type { CaptureOptions, LayerMap, OpenedModel } from '../../server/capture/types';
import { openHuggingFaceModel } from '../../server/hf/hfModel';
import { llamaFixture } from '../helpers/hfFixtures';
import { maxDiff, segmentsOf } from '../helpers/segmentCheck';
import { writeHfFolder } from '../helpers/writeCheckpoint';

type Ep = 'cpu' | 'webgpu';

/** GPU float arithmetic is not the CPU's: figures agree to 1e-5 of their size (at least 1). */
function close(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) {
    const tolerance = 1e-5 * Math.max(1, Math.abs(b[i]));
    assert.ok(Number.isNaN(b[i]) ? Number.isNaN(a[i]) : Math.abs(a[i] - b[i]) <= tolerance, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
  }
}

async function reduced(model: OpenedModel, ep: Ep, ids: number[], options: CaptureOptions): Promise<{ reductions: LayerReductions[]; provider: string }> {
  const reductions: LayerReductions[] = [];
  const r = await model.capture({ ids }, { ...options, executionProvider: ep, maps: 'none', poolFactor: () => 2, onReductions: (x) => void reductions.push(x) });
  return { reductions, provider: r.executionProvider };
}

describe('the WebGPU provider', function () {
  this.timeout(300000);
  const dir = mkdtempSync(join(tmpdir(), 'attn-webgpu-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let adapter: string | undefined;
  before(async () => {
    try {
      const s = await ort.InferenceSession.create('samples/tiny-gpt/model.onnx', { executionProviders: ['webgpu'], logSeverityLevel: 4 });
      await s.release();
      adapter = 'webgpu';
    } catch (e) {
      console.log(`      (no WebGPU adapter here: ${firstLine(e).slice(0, 160)}; .ci/run installs Mesa's lavapipe)`);
    }
  });

  const forms: [string, () => Promise<(ep: Ep) => Promise<OpenedModel>>][] = [
    ['the sample model', async () => (ep) => openModel('samples/tiny-gpt/model.onnx', { executionProvider: ep })],
    ['the torch-exported Llama (GQA, RoPE)', async () => (ep) => openModel('test/fixtures/torch-exports/llama-gqa-sdpa/model.onnx', { executionProvider: ep })],
    ['the transformers 4.x-style GPT-2 export', async () => (ep) => openModel('test/fixtures/torch-exports/gpt2-legacy-1024/model.onnx', { executionProvider: ep })],
    ['the built llama graph', async () => {
      const f = llamaFixture({ heads: 4, kvHeads: 2 });
      const folder = join(dir, 'llama');
      mkdirSync(folder, { recursive: true });
      writeHfFolder(folder, f.config, f.tensors, {}, []);
      return (ep) => openHuggingFaceModel(folder, { executionProvider: ep, layerByLayer: false });
    }],
  ];
  for (const [name, make] of forms) {
    it(`${name}: statistics, mass per key and pooled maps equal the CPU provider's, whole and by query blocks`, async function () {
      if (!adapter) this.skip();
      const open = await make();
      const ids = [3, 17, 5, 0, 22, 9, 31, 5, 12, 1, 7];
      const blocks = { memoryBudgetBytes: 4 * 4 * ids.length * 4 * 3 };
      const figures: Record<Ep, LayerReductions[][]> = { cpu: [], webgpu: [] };
      for (const ep of ['cpu', 'webgpu'] as const) {
        const model = await open(ep);
        try {
          for (const options of [{}, blocks]) {
            const r = await reduced(model, ep, ids, options);
            assert.equal(r.provider, ep);
            figures[ep].push(r.reductions);
          }
          assert.ok(segmentsOf(model).blockRuns.some((b) => b > 1), 'the second capture ran by blocks');
        } finally {
          await model.dispose();
        }
      }
      figures.cpu.forEach((layers, c) =>
        layers.forEach((want, l) => {
          const got = figures.webgpu[c][l];
          const what = `${c ? 'blocked' : 'whole'} layer ${l}`;
          for (const key of Object.keys(want.stats) as (keyof LayerReductions['stats'])[]) close(got.stats[key], want.stats[key], `${what} ${key}`);
          close(got.columnMeans, want.columnMeans, `${what} mass per key`);
          close(got.pooled!.max, want.pooled!.max, `${what} pooled maxima`);
          close(got.pooled!.headMean, want.pooled!.headMean, `${what} mean over heads`);
        }),
      );
    });
  }

  it('full maps equal the CPU provider\'s', async function () {
    if (!adapter) this.skip();
    const ids = [2, 9, 4, 30, 1, 5, 7, 11, 3];
    const maps: Record<Ep, LayerMap[]> = { cpu: [], webgpu: [] };
    for (const ep of ['cpu', 'webgpu'] as const) {
      const model = await openModel('samples/tiny-gpt/model.onnx', { executionProvider: ep });
      try {
        await model.capture({ ids }, { executionProvider: ep, onLayer: (m) => void maps[ep].push(m) });
      } finally {
        await model.dispose();
      }
    }
    assert.equal(maps.webgpu.length, maps.cpu.length);
    maps.cpu.forEach((m, i) => assert.ok(maxDiff(maps.webgpu[i].data, m.data) < 1e-5, `layer ${i}: ${maxDiff(maps.webgpu[i].data, m.data)}`));
  });

  it('auto leaves WebGPU out on a Linux machine with no GPU device (a Vulkan driver there runs on the CPU)', async () => {
    const dev = join(dir, 'dev');
    mkdirSync(join(dev, 'dri'), { recursive: true });
    assert.equal(gpuDevicePresent(dev), false, 'an empty /dev');
    mkdirSync(join(dev, 'dri', 'card0'));
    assert.equal(gpuDevicePresent(dev), false, 'a display card without a render node');
    mkdirSync(join(dev, 'dri', 'renderD128'));
    assert.equal(gpuDevicePresent(dev), true, 'a DRM render node');
    const nvidia = join(dir, 'dev-nvidia');
    mkdirSync(join(nvidia, 'nvidia0'), { recursive: true });
    assert.equal(gpuDevicePresent(nvidia), true, "NVIDIA's driver node");
    mkdirSync(join(dir, 'dev-wsl', 'dxg'), { recursive: true });
    assert.equal(gpuDevicePresent(join(dir, 'dev-wsl')), true, "WSL2's GPU");
    if (process.platform !== 'linux' || gpuDevicePresent()) return;
    // This machine: no GPU device; with a Vulkan driver installed (CI's lavapipe) auto would
    // otherwise have taken WebGPU.
    const { provider, notes } = await createSession(new Uint8Array(readFileSync('samples/tiny-gpt/model.onnx')), 'auto');
    assert.equal(provider, 'cpu');
    if (adapter) assert.ok(notes.some((n) => n.startsWith('webgpu: no GPU device here')), notes.join('\n'));
  });
});
