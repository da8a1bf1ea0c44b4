/**
 * The runtime's streaming and discovery over LSP (dist/server.js, --node-ipc): a capture's
 * captureStarted (tokens, layers) arrives before its first layer for ONNX and Hugging Face
 * models; attention/listModels finds the fake Hugging Face cache named by HF_HUB_CACHE; a capture
 * past its memory budget spills its full maps to temp files that tiles are read from and that
 * go away with the capture and the process.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ExitNotification,
  ShutdownRequest,
  type ProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import { queryBlockRows } from '../../server/capture/layerMemory';
import { poolMaps } from '../../server/lsp/pooling';
import { decodeFloat32 } from '../../protocol/encoding';
import {
  CaptureRequest,
  CaptureStartedNotification,
  LayerNotification,
  ListModelsRequest,
  OpenModelRequest,
  TileRequest,
} from '../../protocol/runtime';
import { referenceProbabilities, torchStyleGraph } from '../helpers/attentionGraphs';
import { gpt2Fixture } from '../helpers/hfFixtures';
import { writeHfFolder } from '../helpers/writeCheckpoint';
import { spillFiles, startRuntime } from '../helpers/serverBundle';

const LAYERS = 4;
const HEADS = 2;
const IDS = [3, 1, 4, 1, 5, 9, 2, 6, 5];

describe('runtime streaming, model listing and spilled maps over LSP', function () {
  this.timeout(60000);
  const dir = mkdtempSync(join(tmpdir(), 'attn-stream-'));
  const model = torchStyleGraph({ layers: LAYERS, heads: HEADS, headDim: 4, seed: 11 });
  const reference = referenceProbabilities(model, IDS);
  const modelPath = join(dir, 'four-layers.onnx');
  const cache = join(dir, 'hub');
  let child: ChildProcess;
  let conn: ProtocolConnection;
  let modelId: string;
  const events: { kind: 'started' | 'layer'; captureId: string; p: unknown }[] = [];

  before(async () => {
    writeFileSync(modelPath, model.bytes);
    const snap = join(cache, 'models--acme--tiny', 'snapshots', '0123abcd');
    mkdirSync(snap, { recursive: true });
    writeFileSync(join(snap, 'config.json'), '{}');
    writeFileSync(join(snap, 'model.safetensors'), Buffer.alloc(128));
    mkdirSync(join(cache, 'models--acme--tiny', 'refs'));
    writeFileSync(join(cache, 'models--acme--tiny', 'refs', 'main'), '0123abcd');
    ({ child, conn } = await startRuntime({
      env: { ...process.env, HF_HUB_CACHE: cache },
      register: (c) => {
        c.onNotification(CaptureStartedNotification.type, (p) => {
          events.push({ kind: 'started', captureId: p.captureId, p });
        });
        c.onNotification(LayerNotification.type, (p) => {
          events.push({ kind: 'layer', captureId: p.captureId, p });
        });
      },
    }));
    modelId = (await conn.sendRequest(OpenModelRequest.type, { path: modelPath, executionProvider: 'cpu' })).modelId;
  });

  after(() => {
    if (child && child.exitCode === null) child.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends captureStarted with tokens and layers before the first layer (ONNX)', async () => {
    const r = await conn.sendRequest(CaptureRequest.type, { modelId, ids: IDS, captureId: 'onnx-1' });
    const mine = events.filter((e) => e.captureId === 'onnx-1');
    assert.deepEqual(mine.map((e) => e.kind), ['started', 'layer', 'layer', 'layer', 'layer']);
    const started = mine[0].p as CaptureStartedNotification.Params;
    assert.deepEqual(started.ids, IDS);
    assert.deepEqual(started.tokens, IDS.map(String), 'no tokenizer: ids stand in for tokens');
    assert.equal(started.modelId, modelId);
    assert.deepEqual(started.layers.map((l) => [l.index, l.kind, l.heads]), [0, 1, 2, 3].map((i) => [i, 'self', HEADS]));
    assert.equal(r.layers.length, LAYERS);
  });

  it('sends captureStarted before the first layer for a Hugging Face checkpoint too', async () => {
    const ckpt = join(dir, 'gpt2-ckpt');
    const { config, tensors } = gpt2Fixture();
    writeHfFolder(ckpt, config, tensors);
    const info = await conn.sendRequest(OpenModelRequest.type, { path: ckpt, executionProvider: 'cpu' });
    await conn.sendRequest(CaptureRequest.type, { modelId: info.modelId, ids: [1, 2, 3], captureId: 'hf-1' });
    const mine = events.filter((e) => e.captureId === 'hf-1');
    assert.equal(mine[0].kind, 'started');
    assert.equal(mine.length, 1 + info.layers.length);
    assert.deepEqual((mine[0].p as CaptureStartedNotification.Params).ids, [1, 2, 3]);
  });

  it('lists the Hugging Face cache named by HF_HUB_CACHE and the workspace folders given', async () => {
    const r = await conn.sendRequest(ListModelsRequest.type, { workspaceFolders: [dir] });
    assert.equal(r.hubCacheDir, cache);
    const hub = r.models.filter((m) => m.source === 'hub-cache');
    assert.deepEqual(hub.map((m) => [m.name, m.revision, m.format, m.sizeBytes]), [['acme/tiny', '0123abcd', 'huggingface', 128]]);
    const ws = r.models.filter((m) => m.source === 'workspace').map((m) => m.name);
    assert.ok(ws.includes('four-layers.onnx') && ws.includes('gpt2-ckpt'), ws.join(', '));
    await assert.rejects(conn.sendRequest(ListModelsRequest.type, { workspaceFolders: [3 as unknown as string] }), /workspaceFolders must be a list/);
  });

  it('spills maps past the memory budget to temp files, serves tiles from them, deletes them with the capture', async () => {
    const n = IDS.length;
    const layerBytes = HEADS * n * n * 4;
    // Room for one layer in memory: layers 1..3 go to disk.
    const before = spillFiles(child.pid!).length;
    await conn.sendRequest(CaptureRequest.type, { modelId, ids: IDS, captureId: 'spill-1', memoryBudgetBytes: layerBytes * 1.5, spillMaps: true });
    const files = spillFiles(child.pid!);
    assert.equal(files.length - before, LAYERS - 1);
    const tile = await conn.sendRequest(TileRequest.type, { captureId: 'spill-1', layer: 3, head: 1, q0: 2, q1: 8, k0: 1, k1: 7 });
    const expected: number[] = [];
    for (let q = 2; q < 8; q++) for (let k = 1; k < 7; k++) expected.push(reference[3][(1 * n + q) * n + k]);
    const got = decodeFloat32(tile.data);
    assert.deepEqual([tile.rows, tile.cols], [6, 6]);
    for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(got[i] - expected[i]) < 1e-5, `cell ${i}: ${got[i]} vs ${expected[i]}`);
    // The store keeps 3 captures: three more push spill-1 out, and its files with it.
    for (const id of ['e1', 'e2', 'e3']) await conn.sendRequest(CaptureRequest.type, { modelId, ids: [1, 2], captureId: id });
    assert.ok(files.every((f) => !existsSync(f)), 'evicted capture left spill files');
    await assert.rejects(conn.sendRequest(TileRequest.type, { captureId: 'spill-1', layer: 3, head: 0, q0: 0, q1: 1, k0: 0, k1: 1 }), /no longer held/);
  });

  it('recomputes a layer past the memory budget from its stored boundary for a tile, writing no spill file', async () => {
    const n = IDS.length;
    const layerBytes = HEADS * n * n * 4;
    const before = spillFiles(child.pid!).length;
    await conn.sendRequest(CaptureRequest.type, { modelId, ids: IDS, captureId: 'recompute-1', memoryBudgetBytes: layerBytes * 1.5 });
    assert.equal(spillFiles(child.pid!).length, before, 'maps past the budget are not written to disk');
    for (const layer of [3, 2]) {
      const tile = await conn.sendRequest(TileRequest.type, { captureId: 'recompute-1', layer, head: 1, q0: 2, q1: 8, k0: 1, k1: 7 });
      const got = decodeFloat32(tile.data);
      let i = 0;
      for (let q = 2; q < 8; q++) for (let k = 1; k < 7; k++, i++) {
        const want = reference[layer][(1 * n + q) * n + k];
        assert.ok(Math.abs(got[i] - want) < 1e-5, `layer ${layer} cell ${i}: ${got[i]} vs ${want}`);
      }
    }
  });

  it('a capture pooled for the send budget gets block maxima and exact statistics from the graph, and tiles from recomputed layers', async () => {
    const n = IDS.length;
    const before = spillFiles(child.pid!).length;
    // A send budget of a few cells per layer: every layer pools, so the model runs with maps 'none'.
    await conn.sendRequest(CaptureRequest.type, { modelId, ids: IDS, captureId: 'reduced-1', sendBudgetBytes: 4 * 64, memoryBudgetBytes: 1 });
    assert.equal(spillFiles(child.pid!).length, before);
    const layers = events.filter((e) => e.captureId === 'reduced-1' && e.kind === 'layer').map((e) => e.p as LayerNotification.Params);
    assert.equal(layers.length, LAYERS);
    for (const l of layers) {
      const pooled = poolMaps(reference[l.layer], HEADS, n, n, l.pool);
      assert.ok(l.pool > 1);
      const got = decodeFloat32(l.data);
      pooled.max.forEach((v, i) => assert.ok(Math.abs(got[i] - v) < 1e-6, `layer ${l.layer} block ${i}`));
      assert.ok(l.stats, 'statistics ride with the layer');
      for (let h = 0; h < HEADS; h++) {
        let self = 0;
        for (let q = 0; q < n; q++) self += reference[l.layer][(h * n + q) * n + q];
        assert.ok(Math.abs(l.stats.self[h]! - self / n) < 1e-6, `layer ${l.layer} head ${h} self`);
      }
      // The mass each key receives per head and the block means, summed here from the full map.
      assert.ok(l.keyMass && l.blockMeans, 'key mass and block means ride with the layer');
      const keyMass = decodeFloat32(l.keyMass);
      assert.equal(keyMass.length, HEADS * n);
      for (let h = 0; h < HEADS; h++) for (let k = 0; k < n; k++) {
        let sum = 0;
        for (let q = 0; q < n; q++) sum += reference[l.layer][(h * n + q) * n + k];
        assert.ok(Math.abs(keyMass[h * n + k] - sum / n) < 1e-6, `layer ${l.layer} head ${h} key ${k}: ${keyMass[h * n + k]} vs ${sum / n}`);
      }
      const cells = Math.ceil(n / l.pool);
      const blockMeans = decodeFloat32(l.blockMeans);
      assert.equal(blockMeans.length, cells * cells);
      for (let r = 0; r < cells; r++) for (let c = 0; c < cells; c++) {
        let sum = 0;
        let count = 0;
        for (let h = 0; h < HEADS; h++) for (let q = r * l.pool; q < Math.min(n, (r + 1) * l.pool); q++) for (let k = c * l.pool; k < Math.min(n, (c + 1) * l.pool); k++) {
          sum += reference[l.layer][(h * n + q) * n + k];
          count++;
        }
        assert.ok(Math.abs(blockMeans[r * cells + c] - sum / count) < 1e-6, `layer ${l.layer} block ${r},${c}`);
      }
    }
    const tile = await conn.sendRequest(TileRequest.type, { captureId: 'reduced-1', layer: 1, head: 0, q0: 0, q1: n, k0: 0, k1: n });
    const got = decodeFloat32(tile.data);
    for (let i = 0; i < n * n; i++) assert.ok(Math.abs(got[i] - reference[1][i]) < 1e-5, `tile cell ${i}`);
  });

  it('a tile of a pooled long input whose layers run by query blocks returns exact cells, recomputing only its rows', async () => {
    const ids = Array.from({ length: 64 }, (_, i) => (i * 7 + 3) % 16);
    const n = ids.length;
    const long = referenceProbabilities(model, ids);
    // 8 query rows per block: each layer's [heads, n, n] tensors pass this budget, so it runs by blocks.
    const memoryBudgetBytes = 4 * HEADS * n * 4 * 8;
    assert.equal(queryBlockRows(HEADS, n, n, memoryBudgetBytes), 8);
    const before = spillFiles(child.pid!).length;
    await conn.sendRequest(CaptureRequest.type, { modelId, ids, captureId: 'blocked-1', sendBudgetBytes: 4 * 256, memoryBudgetBytes });
    assert.equal(spillFiles(child.pid!).length, before, 'a blocked layer is recomputed for tiles, not spilled');
    const layers = events.filter((e) => e.captureId === 'blocked-1' && e.kind === 'layer').map((e) => e.p as LayerNotification.Params);
    assert.ok(layers.length === LAYERS && layers.every((l) => l.pool > 1), 'the grid got pooled maps');
    // Rows across block boundaries, then other keys of the same rows (served from the same recompute).
    for (const [layer, head, q0, q1, k0, k1] of [[2, 1, 13, 30, 0, n], [2, 1, 20, 29, 5, 40], [0, 0, 60, 64, 50, 64]]) {
      const tile = await conn.sendRequest(TileRequest.type, { captureId: 'blocked-1', layer, head, q0, q1, k0, k1 });
      assert.deepEqual([tile.rows, tile.cols], [q1 - q0, k1 - k0]);
      const got = decodeFloat32(tile.data);
      let i = 0;
      for (let q = q0; q < q1; q++) for (let k = k0; k < k1; k++, i++) {
        const want = long[layer][(head * n + q) * n + k];
        assert.ok(Math.abs(got[i] - want) < 1e-5, `layer ${layer} head ${head} cell (${q}, ${k}): ${got[i]} vs ${want}`);
      }
    }
  });

  it('leaves no spill files behind when the process exits', async () => {
    await conn.sendRequest(CaptureRequest.type, { modelId, ids: IDS, captureId: 'spill-2', memoryBudgetBytes: 1, spillMaps: true });
    const pid = child.pid!;
    assert.equal(spillFiles(pid).length, LAYERS);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await conn.sendRequest(ShutdownRequest.type);
    await conn.sendNotification(ExitNotification.type);
    assert.equal(await exited, 0);
    assert.deepEqual(spillFiles(pid), []);
    conn.dispose();
  });
});
