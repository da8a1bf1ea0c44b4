/**
 * attention/internals, attention/internalsCorpus and attention/ablate over LSP (dist/server.js
 * forked with --node-ipc) on samples/tiny-gpt: the queries and keys reproduce the map the
 * capture streamed, value norms arrive per layer, a corpus returns only the heads asked for, the
 * ablation has one value per head, and bad input gets one line.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { ProtocolConnection } from 'vscode-languageserver-protocol/node';
import { decodeFloat32 } from '../../protocol/encoding';
import { AblationRequest, CorpusInternalsRequest, InternalsRequest } from '../../protocol/internals';
import { CaptureRequest, LayerNotification, OpenModelRequest } from '../../protocol/runtime';
import { repoRoot, startRuntime } from '../helpers/serverBundle';

const SAMPLE = join(repoRoot, 'samples', 'tiny-gpt');
const TEXT = 'the cat sat on the mat and the cat sat on the dog';

describe('head internals over LSP (samples/tiny-gpt)', function () {
  this.timeout(60000);
  let child: ChildProcess;
  let conn: ProtocolConnection;
  let modelId: string;
  const layers: LayerNotification.Params[] = [];

  before(async () => {
    ({ child, conn } = await startRuntime({ register: (c) => c.onNotification(LayerNotification.type, (p) => void layers.push(p)) }));
    modelId = (await conn.sendRequest(OpenModelRequest.type, { path: SAMPLE, executionProvider: 'cpu' })).modelId;
  });
  after(() => {
    if (child && child.exitCode === null) child.kill();
    conn?.dispose();
  });

  it('q and k reproduce the streamed map; value norms and mixing ratios come per layer', async () => {
    const cap = await conn.sendRequest(CaptureRequest.type, { modelId, text: TEXT, executionProvider: 'cpu' });
    const res = await conn.sendRequest(InternalsRequest.type, { modelId, ids: cap.ids, layers: [0, 1], qk: true });
    assert.deepEqual(res.map((x) => x.layer), [0, 1]);
    for (const x of res) {
      const map = decodeFloat32(layers.find((l) => l.layer === x.layer && l.captureId === cap.captureId)!.data);
      const q = decodeFloat32(x.q!);
      const k = decodeFloat32(x.k!);
      const { n, dHead: d } = x;
      assert.equal(n, cap.ids.length);
      for (let h = 0; h < x.heads; h++) {
        for (let i = 0; i < n; i++) {
          const s = Array.from({ length: n }, (_, j) => (x.causal && j > i ? -Infinity : x.scale * Array.from({ length: d }, (_, c) => q[(h * n + i) * d + c] * k[(h * n + j) * d + c]).reduce((a, b) => a + b, 0)));
          const mx = Math.max(...s);
          const z = s.reduce((a, v) => a + Math.exp(v - mx), 0);
          s.forEach((v, j) => assert.ok(Math.abs(Math.exp(v - mx) / z - map[(h * n + i) * n + j]) < 1e-5, `layer ${x.layer} head ${h} (${i}, ${j})`));
        }
      }
      assert.equal(decodeFloat32(x.valueNorms!).length, x.heads * n);
      assert.equal(decodeFloat32(x.mixing!).length, n);
    }
    const bare = await conn.sendRequest(InternalsRequest.type, { modelId, ids: cap.ids, layers: [1], qk: false });
    assert.equal(bare[0].q, undefined);
    assert.equal(bare[0].valueNorms, res[1].valueNorms);
  });

  it('a corpus returns every text through one layer, with the heads asked for', async () => {
    const r = await conn.sendRequest(CorpusInternalsRequest.type, { modelId, texts: ['the cat sat', '', 'on the mat and the dog'], layer: 1, heads: [2] });
    assert.equal(r.texts.length, 2);
    for (const t of r.texts) {
      assert.deepEqual(t.data.qkHeads, [2]);
      assert.equal(decodeFloat32(t.data.q!).length, t.tokens.length * t.data.dHead);
      assert.equal(t.data.valueNorms, undefined);
    }
  });

  it('ablation gives one value per head of every layer, at the last position', async () => {
    const ids = [2, 5, 9, 12, 5, 9];
    const r = await conn.sendRequest(AblationRequest.type, { modelId, ids });
    assert.equal(r.metric, 'kl');
    assert.equal(r.position, ids.length - 1);
    assert.deepEqual(r.layers.map((row) => row.length), [4, 4]);
    assert.ok(r.layers.flat().every((v) => Number.isFinite(v) && v >= 0));
  });

  it('answers bad input with one line', async () => {
    await assert.rejects(conn.sendRequest(InternalsRequest.type, { modelId, ids: [1, 2], layers: [9], qk: false }), (e: Error) => /layer 9 is out of range \(the model has 2 attention layers/.test(e.message) && !e.message.includes('\n'));
    await assert.rejects(conn.sendRequest(InternalsRequest.type, { modelId, ids: [], layers: [0], qk: false }), /ids must be a non-empty list/);
    await assert.rejects(conn.sendRequest(AblationRequest.type, { modelId: 'nope', ids: [1] }), /model nope is not open/);
    await assert.rejects(conn.sendRequest(CorpusInternalsRequest.type, { modelId, texts: ['  '], layer: 0 }), /the corpus file has no text/);
  });
});
