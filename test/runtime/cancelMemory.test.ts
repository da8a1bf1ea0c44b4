/**
 * A cancelled capture frees its memory (dist/server.js over --node-ipc, a generated 8-layer
 * model, 512 tokens: 4 MiB of maps per layer, 32 MiB per run). After a cancel the response says
 * cancelled, the store no longer holds the capture (its tiles fail with a one-line error), its
 * spill files are gone, and the runtime's resident memory after a full GC does not grow run
 * after run. The GC and the RSS reading come from a test-only preload (test/helpers/gcProbe.cjs).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CancellationTokenSource,
  type ProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import { CaptureRequest, LayerNotification, OpenModelRequest, TileRequest, type CaptureSummary } from '../../protocol/runtime';
import { torchStyleGraph } from '../helpers/attentionGraphs';
import { repoRoot, spillFiles, startRuntime } from '../helpers/serverBundle';

const LAYERS = 8;
const HEADS = 4;
const TOKENS = 512;
const VOCAB = 64;
const IDS = Array.from({ length: TOKENS }, (_, i) => (i * 7 + 3) % VOCAB);
const LAYER_BYTES = HEADS * TOKENS * TOKENS * 4;
const RUN_BYTES = LAYERS * LAYER_BYTES;

const MiB = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

describe('a cancelled capture frees its memory (runtime over LSP)', function () {
  this.timeout(60000);
  const dir = mkdtempSync(join(tmpdir(), 'attn-cancel-mem-'));
  const modelPath = join(dir, 'eight-layers.onnx');
  let child: ChildProcess;
  let conn: ProtocolConnection;
  let modelId: string;
  let stderr = '';
  let onLayer: ((captureId: string, layer: number) => void) | undefined;

  /** Resident bytes of the runtime after two full GCs (the preload answers SIGUSR2 on stderr). */
  async function rssAfterGc(): Promise<number> {
    const from = stderr.length;
    child.kill('SIGUSR2');
    for (;;) {
      const m = /gc-rss (\d+)\n/.exec(stderr.slice(from));
      if (m) return Number(m[1]);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** One capture cancelled as its first layer arrives; the response. */
  async function cancelledRun(captureId: string, memoryBudgetBytes?: number): Promise<CaptureSummary> {
    const cts = new CancellationTokenSource();
    onLayer = (id) => {
      if (id === captureId) cts.cancel();
    };
    try {
      return await conn.sendRequest(CaptureRequest.type, { modelId, ids: IDS, captureId, memoryBudgetBytes, spillMaps: true }, cts.token);
    } finally {
      onLayer = undefined;
    }
  }

  before(async () => {
    const model = torchStyleGraph({ layers: LAYERS, heads: HEADS, headDim: 4, vocab: VOCAB, seed: 5 });
    writeFileSync(modelPath, model.bytes);
    ({ child, conn } = await startRuntime({
      execArgv: ['--expose-gc', '-r', join(repoRoot, 'test/helpers/gcProbe.cjs')],
      // A fixed mmap threshold: freed map buffers go back to the kernel, so RSS follows what is live.
      env: { ...process.env, MALLOC_MMAP_THRESHOLD_: '131072' },
      register: (c, proc) => {
        proc.stderr!.on('data', (d) => (stderr += d));
        c.onNotification(LayerNotification.type, (p) => onLayer?.(p.captureId, p.layer));
      },
      // A pause after each layer, so the cancel sent on layer 0 lands before the last layer.
      initializationOptions: { layerPauseMs: 30 },
    }));
    modelId = (await conn.sendRequest(OpenModelRequest.type, { path: modelPath, executionProvider: 'cpu' })).modelId;
  });

  after(() => {
    if (child && child.exitCode === null) child.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('says cancelled and keeps nothing of the run: its tiles fail with a one-line error', async () => {
    const r = await cancelledRun('cancel-a');
    assert.equal(r.cancelled, true);
    assert.ok(r.layers.length >= 1 && r.layers.length < LAYERS, `${r.layers.length} layers ran`);
    assert.equal(r.ids.length, TOKENS);
    const err = await conn.sendRequest(TileRequest.type, { captureId: 'cancel-a', layer: 0, head: 0, q0: 0, q1: 1, k0: 0, k1: 1 }).then(
      () => undefined,
      (e: Error) => e.message,
    );
    assert.ok(err, 'a tile of the cancelled capture was served');
    assert.match(err, /capture cancel-a is no longer held by the runtime/);
    assert.equal(err.split('\n').length, 1, err);
  });

  it('deletes the spill files of a cancelled capture', async () => {
    const pid = child.pid!;
    const seen: string[] = [];
    const cts = new CancellationTokenSource();
    // Budget of one byte: every layer goes to disk; the file of layer 0 exists when it arrives.
    onLayer = (id) => {
      if (id !== 'cancel-spill') return;
      seen.push(...spillFiles(pid));
      cts.cancel();
    };
    const r = await conn.sendRequest(CaptureRequest.type, { modelId, ids: IDS, captureId: 'cancel-spill', memoryBudgetBytes: 1, spillMaps: true }, cts.token);
    onLayer = undefined;
    assert.equal(r.cancelled, true);
    assert.ok(seen.length >= 1, 'no spill file while the capture ran');
    assert.deepEqual(seen.filter((f) => existsSync(f)), [], 'spill files of the cancelled capture are left');
    assert.deepEqual(spillFiles(pid), []);
  });

  it('returns to its resident memory after each cancelled run: five runs grow it far less than one run\'s maps', async () => {
    // A completed capture first, held by the store: proof the process does hold maps it keeps.
    const baseline = await rssAfterGc();
    const done = await conn.sendRequest(CaptureRequest.type, { modelId, ids: IDS, captureId: 'kept' });
    assert.equal(done.cancelled, false);
    const holding = await rssAfterGc();
    // Once warm (onnxruntime's arena sized), a cancelled run leaves the runtime where it was.
    await cancelledRun('warm-up');
    const start = await rssAfterGc();
    const after: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await cancelledRun(`cancel-${i}`);
      assert.equal(r.cancelled, true);
      after.push(await rssAfterGc());
    }
    const growth = after[after.length - 1] - start;
    console.log(`      runtime RSS after GC: baseline ${MiB(baseline)}, holding one capture ${MiB(holding)}, ` +
      `after warm-up cancel ${MiB(start)}, after 5 cancels ${after.map(MiB).join(', ')}; one run's maps ${MiB(RUN_BYTES)}`);
    assert.ok(holding - baseline > RUN_BYTES / 2, `a kept capture of ${MiB(RUN_BYTES)} raised RSS by only ${MiB(holding - baseline)}`);
    assert.ok(growth < RUN_BYTES / 2, `5 cancelled runs grew RSS by ${MiB(growth)} (one run's maps: ${MiB(RUN_BYTES)})`);
  });
});
