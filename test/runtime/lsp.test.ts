/**
 * The runtime as the extension sees it: dist/server.js forked with --node-ipc, spoken to over
 * LSP. Maps arrive per layer before the response, equal the plain-TypeScript reference, pool
 * and tile correctly, and a cancel stops the run between layers.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CancellationTokenSource,
  ExitNotification,
  ShutdownRequest,
  type ProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import { decodeFloat32 } from '../../protocol/encoding';
import { CaptureRequest, LayerNotification, OpenModelRequest, RuntimeStatusNotification, TileRequest } from '../../protocol/runtime';
import { referenceProbabilities, torchStyleGraph } from '../helpers/attentionGraphs';
import { maxDiff } from '../helpers/segmentCheck';
import { recordProgress, startRuntime } from '../helpers/serverBundle';

const LAYERS = 6;
const HEADS = 2;
const IDS = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5];

describe('runtime over LSP (dist/server.js, --node-ipc)', function () {
  this.timeout(60000);
  const dir = mkdtempSync(join(tmpdir(), 'attn-lsp-'));
  const model = torchStyleGraph({ layers: LAYERS, heads: HEADS, headDim: 4, seed: 7 });
  const reference = referenceProbabilities(model, IDS);
  const modelPath = join(dir, 'six-layers.onnx');
  let child: ChildProcess;
  let conn: ProtocolConnection;
  let modelId: string;
  /** Everything the server sent, in arrival order, to check ordering against responses. */
  const events: { kind: string; params: unknown }[] = [];
  const statuses: RuntimeStatusNotification.Params[] = [];
  let onLayer: ((p: LayerNotification.Params) => void) | undefined;

  before(async () => {
    writeFileSync(modelPath, model.bytes);
    const runtime = await startRuntime({
      // One handler per method (a second registration would replace it); tests hook in via onLayer.
      register: (c) => {
        c.onNotification(LayerNotification.type, (p) => {
          events.push({ kind: 'layer', params: p });
          onLayer?.(p);
        });
        c.onNotification(RuntimeStatusNotification.type, (p) => {
          statuses.push(p);
        });
      },
      capabilities: { window: { workDoneProgress: true } },
      // Pace the layers so the cancel below lands between two of them on this tiny model.
      initializationOptions: { layerPauseMs: 40 },
    });
    ({ child, conn } = runtime);
    assert.equal(runtime.init.serverInfo?.name, 'attention-inspector-runtime');
  });

  after(async () => {
    if (child && child.exitCode === null) child.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens a model and reports its layers', async () => {
    const info = await conn.sendRequest(OpenModelRequest.type, { path: modelPath, executionProvider: 'cpu' });
    modelId = info.modelId;
    assert.equal(info.layers.length, LAYERS);
    assert.deepEqual(info.layers.map((l) => l.heads), Array(LAYERS).fill(HEADS));
    const again = await conn.sendRequest(OpenModelRequest.type, { path: modelPath, executionProvider: 'cpu' });
    assert.equal(again.modelId, modelId);
    assert.ok(statuses.some((s) => s.state === 'loading'));
  });

  it('streams one layer per notification before the response, with work-done progress', async () => {
    events.length = 0;
    const token = 'capture-1';
    const { progress, reports: progressReports, dispose } = recordProgress(conn, token, (p) => events.push({ kind: `progress-${p.kind}`, params: p }));
    const result = await conn.sendRequest(CaptureRequest.type, { modelId, ids: IDS, workDoneToken: token });
    events.push({ kind: 'response', params: result });
    dispose();

    assert.equal(result.cancelled, false);
    assert.equal(result.layers.length, LAYERS);
    assert.deepEqual(result.ids, IDS);
    assert.equal(result.executionProvider, 'cpu');
    const layers = events.filter((e) => e.kind === 'layer').map((e) => e.params as LayerNotification.Params);
    assert.deepEqual(layers.map((l) => l.layer), [0, 1, 2, 3, 4, 5]);
    const responseAt = events.findIndex((e) => e.kind === 'response');
    const lastLayerAt = events.map((e) => e.kind).lastIndexOf('layer');
    assert.ok(lastLayerAt < responseAt, 'every layer notification precedes the response');
    for (const l of layers) {
      assert.equal(l.captureId, result.captureId);
      assert.deepEqual([l.heads, l.queries, l.keys, l.pool], [HEADS, IDS.length, IDS.length, 1]);
      const diff = maxDiff(decodeFloat32(l.data), reference[l.layer]);
      assert.ok(diff < 1e-5, `layer ${l.layer} differs from the reference by ${diff}`);
    }
    assert.equal(progress[0].kind, 'begin');
    assert.equal(progress.at(-1)!.kind, 'end');
    const reports = progressReports();
    assert.equal(reports.length, LAYERS);
    assert.equal(reports.at(-1)!.message, `layer ${LAYERS} of ${LAYERS}`);
    assert.equal(reports.at(-1)!.percentage, 100);
    assert.equal(statuses.at(-1)?.state, 'idle');
    assert.equal(statuses.at(-1)?.executionProvider, 'cpu');
  });

  it('pools above the memory budget and serves full-resolution tiles', async () => {
    events.length = 0;
    const n = IDS.length;
    // Full maps take 2*11*11*4 = 968 bytes a layer; 200 a layer forces pooling (b = 4: 2*2*3*3*4 = 144).
    const result = await conn.sendRequest(CaptureRequest.type, { modelId, ids: IDS, memoryBudgetBytes: 200 * LAYERS, means: true, captureId: 'pooled-1' });
    assert.equal(result.captureId, 'pooled-1');
    const layers = events.filter((e) => e.kind === 'layer').map((e) => e.params as LayerNotification.Params);
    assert.equal(layers.length, LAYERS);
    for (const l of layers) {
      const b = l.pool;
      assert.equal(b, 4);
      const rows = Math.ceil(n / b);
      const max = decodeFloat32(l.data);
      const mean = decodeFloat32(l.meanData!);
      const ref = reference[l.layer];
      for (let h = 0; h < HEADS; h++) {
        for (let r = 0; r < rows; r++) {
          for (let c = 0; c < rows; c++) {
            let m = -Infinity;
            let s = 0;
            let count = 0;
            for (let q = r * b; q < Math.min(n, r * b + b); q++) {
              for (let k = c * b; k < Math.min(n, c * b + b); k++) {
                const v = ref[(h * n + q) * n + k];
                m = Math.max(m, v);
                s += v;
                count++;
              }
            }
            const cell = (h * rows + r) * rows + c;
            assert.ok(Math.abs(max[cell] - m) < 1e-5, `max at ${h},${r},${c}`);
            assert.ok(Math.abs(mean[cell] - s / count) < 1e-5, `mean at ${h},${r},${c}`);
          }
        }
      }
    }
    const tile = await conn.sendRequest(TileRequest.type, { captureId: 'pooled-1', layer: 4, head: 1, q0: 2, q1: 9, k0: 1, k1: 6 });
    assert.deepEqual([tile.rows, tile.cols], [7, 5]);
    const expected: number[] = [];
    for (let q = 2; q < 9; q++) for (let k = 1; k < 6; k++) expected.push(reference[4][(1 * n + q) * n + k]);
    assert.ok(maxDiff(decodeFloat32(tile.data), expected) < 1e-5);
    await assert.rejects(
      conn.sendRequest(TileRequest.type, { captureId: 'pooled-1', layer: 4, head: 2, q0: 0, q1: 1, k0: 0, k1: 1 }),
      /head 2 is outside layer 4 \(2 heads\)/,
    );
  });

  it('pools to the send budget, maxima only unless means are asked for, and serves full tiles', async () => {
    events.length = 0;
    const n = IDS.length;
    // 130 bytes a layer: maxima alone fit at b = 3 (2*4*4*4 = 128); with means b = 3 would take 256.
    await conn.sendRequest(CaptureRequest.type, { modelId, ids: IDS, memoryBudgetBytes: 1 << 30, sendBudgetBytes: 130 * LAYERS, captureId: 'send-1' });
    const layers = events.filter((e) => e.kind === 'layer').map((e) => e.params as LayerNotification.Params);
    assert.equal(layers.length, LAYERS);
    for (const l of layers) {
      assert.equal(l.pool, 3);
      assert.equal(l.meanData, undefined);
      const rows = Math.ceil(n / 3);
      const max = decodeFloat32(l.data);
      assert.equal(max.length, HEADS * rows * rows);
      const ref = reference[l.layer];
      for (let h = 0; h < HEADS; h++) {
        for (let r = 0; r < rows; r++) {
          for (let c = 0; c < rows; c++) {
            let m = -Infinity;
            for (let q = r * 3; q < Math.min(n, r * 3 + 3); q++) for (let k = c * 3; k < Math.min(n, c * 3 + 3); k++) m = Math.max(m, ref[(h * n + q) * n + k]);
            assert.ok(Math.abs(max[(h * rows + r) * rows + c] - m) < 1e-5, `max at ${h},${r},${c}`);
          }
        }
      }
    }
    const tile = await conn.sendRequest(TileRequest.type, { captureId: 'send-1', layer: 2, head: 0, q0: 0, q1: n, k0: 0, k1: n });
    assert.ok(maxDiff(decodeFloat32(tile.data), reference[2].slice(0, n * n)) < 1e-5);
    await assert.rejects(
      conn.sendRequest(CaptureRequest.type, { modelId, ids: IDS, sendBudgetBytes: -1 }),
      /sendBudgetBytes -1 is not a positive number; fix attentionInspector.sendBudgetMB/,
    );
  });

  it('stops between layers when the request is cancelled', async () => {
    events.length = 0;
    const cts = new CancellationTokenSource();
    onLayer = (p) => {
      if (p.captureId === 'cancel-1') cts.cancel();
    };
    const result = await conn.sendRequest(CaptureRequest.type, { modelId, ids: IDS, captureId: 'cancel-1' }, cts.token);
    onLayer = undefined;
    const layers = events.filter((e) => e.kind === 'layer');
    assert.equal(result.cancelled, true);
    assert.ok(result.layers.length >= 1 && result.layers.length < LAYERS, `${result.layers.length} layers ran`);
    assert.equal(layers.length, result.layers.length);
  });

  it('tokenizes text with the sample model\'s tokenizer; its bag-of-words head is uniform over the prefix', async () => {
    events.length = 0;
    const sample = join(__dirname, '..', '..', 'samples', 'tiny-gpt');
    const info = await conn.sendRequest(OpenModelRequest.type, { path: sample, executionProvider: 'cpu' });
    assert.equal(info.hasTokenizer, true);
    assert.deepEqual(info.layers.map((l) => l.heads), [4, 4]);
    const result = await conn.sendRequest(CaptureRequest.type, { modelId: info.modelId, text: 'the cat sat on the dog', maxTokens: 64 });
    assert.equal(result.tokens[0], '[BOS]');
    assert.deepEqual(result.tokens.slice(1), ['the', 'cat', 'sat', 'on', 'the', 'dog']);
    const l0 = events.map((e) => e.params as LayerNotification.Params).find((p) => p.captureId === result.captureId && p.layer === 0)!;
    const n = result.tokens.length;
    const maps = decodeFloat32(l0.data);
    // README: L0 H3 gives every key of the prefix the same score, so row i is 1/(i+1) up to i.
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const want = j <= i ? 1 / (i + 1) : 0;
        assert.ok(Math.abs(maps[(3 * n + i) * n + j] - want) < 1e-5, `L0 H3 [${i}, ${j}]`);
      }
    }
    await assert.rejects(
      conn.sendRequest(CaptureRequest.type, { modelId: info.modelId, text: 'the cat sat on the dog', maxTokens: 3 }),
      /7 tokens is more than the limit of 3/,
    );
  });

  it('answers a bad path with a one-line error naming it', async () => {
    const bad = join(dir, 'missing', 'model.onnx');
    const err = await conn.sendRequest(OpenModelRequest.type, { path: bad }).then(
      () => assert.fail('expected an error'),
      (e: Error) => e,
    );
    assert.ok(err.message.includes(bad), err.message);
    assert.ok(!err.message.includes('\n'), 'one line');
    assert.ok(!/\bat \S+:\d+/.test(err.message), 'no stack frames');
    await assert.rejects(conn.sendRequest(CaptureRequest.type, { modelId: 'nope', ids: [1] }), /model nope is not open/);
  });

  it('ends the process on shutdown and exit', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await conn.sendRequest(ShutdownRequest.type);
    await conn.sendNotification(ExitNotification.type);
    assert.equal(await exited, 0);
    conn.dispose();
  });
});
