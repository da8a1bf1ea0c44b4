/**
 * The ONNX capture engine against an independent computation: every layer's probabilities
 * from onnxruntime (found by graph structure, exposed by surgery) must equal the float64
 * reference from the same weights, for torch- and HF-style exports, with masks.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openModel } from '../../server/capture/openModel';
import type { LayerMap, OpenedModel } from '../../server/capture/types';
import { attentionOpGraph, hfStyleGraph, referenceProbabilities, saveWithExternalData, torchStyleGraph, type TinyTransformer } from '../helpers/attentionGraphs';

function assertMatches(maps: LayerMap[], reference: Float32Array[], n: number, heads: number): void {
  assert.equal(maps.length, reference.length);
  maps.forEach((m, l) => {
    assert.deepEqual([m.heads, m.queries, m.keys], [heads, n, n], `layer ${l} shape`);
    for (let i = 0; i < m.data.length; i++) {
      assert.ok(Math.abs(m.data[i] - reference[l][i]) < 1e-5, `layer ${l} cell ${i}: ${m.data[i]} vs ${reference[l][i]}`);
    }
    for (let r = 0; r < heads * n; r++) {
      let sum = 0;
      for (let c = 0; c < n; c++) sum += m.data[r * n + c];
      assert.ok(Math.abs(sum - 1) < 1e-5, `layer ${l} row ${r} sums to ${sum}`);
    }
  });
}

describe('ONNX capture engine', () => {
  let dir: string;
  const opened: OpenedModel[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ai-capture-'));
  });
  after(async () => {
    for (const m of opened) await m.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  async function open(t: TinyTransformer, name: string): Promise<OpenedModel> {
    const file = join(dir, `${name}.onnx`);
    writeFileSync(file, t.bytes);
    const m = await openModel(file, { executionProvider: 'cpu' });
    opened.push(m);
    return m;
  }

  async function captureIds(m: OpenedModel, ids: number[]): Promise<LayerMap[]> {
    const maps: LayerMap[] = [];
    const result = await m.capture({ ids }, { onLayer: (map) => void maps.push(map) });
    assert.equal(result.executionProvider, 'cpu');
    assert.equal(result.cancelled, false);
    assert.ok(result.peakRssBytes > 0);
    assert.deepEqual(result.layers.map((l) => l.index), maps.map((x) => x.index));
    return maps;
  }

  it('torch style [b*h, q, k]: 3 layers, causal additive mask, classifier softmax skipped', async () => {
    const t = torchStyleGraph({ layers: 3, heads: 3, headDim: 4, seed: 7 });
    const m = await open(t, 'torch');
    assert.equal(m.info.layers.length, 3, 'the classification softmax is not attention');
    assert.equal(m.info.heads, 3);
    assert.ok(m.info.layers.every((l) => l.kind === 'self' && l.heads === 3));
    const ids = [5, 1, 30, 7, 7, 2];
    assertMatches(await captureIds(m, ids), referenceProbabilities(t, ids), ids.length, 3);
  });

  it('HF style [b, h, q, k]: causal Where, attention_mask, position and token type ids fed', async () => {
    const t = hfStyleGraph({ layers: 2, heads: 4, headDim: 2, seed: 3 });
    const m = await open(t, 'hf');
    assert.equal(m.info.layers.length, 2);
    const ids = [3, 9, 27, 4, 11];
    const maps = await captureIds(m, ids);
    assertMatches(maps, referenceProbabilities(t, ids), ids.length, 4);
    // causal: nothing above the diagonal
    assert.equal(maps[1].data[0 * 25 + 0 * 5 + 4], 0);
  });

  it('ONNX Attention op (opset 23): probabilities from qk_matmul_output, causal', async () => {
    const t = attentionOpGraph({ layers: 2, heads: 2, headDim: 4, seed: 13 });
    const m = await open(t, 'attention-op');
    assert.deepEqual(m.info.layers.map((l) => [l.kind, l.heads]), [['self', 2], ['self', 2]]);
    const ids = [1, 17, 4, 4, 30];
    assertMatches(await captureIds(m, ids), referenceProbabilities(t, ids), ids.length, 2);
  });

  it('re-creates the session for another provider setting, rebuilding the model from its file', async () => {
    const t = torchStyleGraph({ layers: 2, seed: 19 });
    const m = await open(t, 'switch');
    const ids = [3, 1, 4, 1, 5];
    const maps: LayerMap[] = [];
    const r = await m.capture({ ids }, { executionProvider: 'auto', onLayer: (x) => void maps.push(x) });
    assert.ok(r.providerNotes.length > 0 || r.executionProvider !== 'cpu', 'auto explains why it did not use a GPU');
    assertMatches(maps, referenceProbabilities(t, ids), ids.length, 2);
  });

  it('stops between layers when cancelled', async () => {
    const t = torchStyleGraph({ layers: 3, seed: 11 });
    const m = await open(t, 'cancel');
    const seen: number[] = [];
    const r = await m.capture({ ids: [1, 2, 3] }, { onLayer: (map) => void seen.push(map.index), isCancelled: () => seen.length >= 1 });
    assert.deepEqual(seen, [0]);
    assert.equal(r.cancelled, true);
  });

  it('refuses more tokens than maxTokens, empty text, and text without a tokenizer', async () => {
    const m = await open(torchStyleGraph({ seed: 2 }), 'limits');
    await assert.rejects(m.capture({ ids: [1, 2, 3, 4] }, { maxTokens: 3 }), /4 tokens is more than the limit of 3/);
    await assert.rejects(m.capture({ text: '   ' }), /empty text/);
    await assert.rejects(m.capture({ text: 'hello' }), /no tokenizer\.json.*--ids/);
    await assert.rejects(m.capture({ ids: [1, 99] }), /token id 99 is outside the vocabulary \(32 ids\)/);
  });

  it('reads weights from external data without writing into the model folder', async () => {
    const t = hfStyleGraph({ layers: 2, seed: 5, tokenTypes: false });
    const folder = join(dir, 'external');
    const file = saveWithExternalData(t.model, folder);
    const before = readdirSync(folder).sort();
    assert.deepEqual(before, ['model.onnx', 'model.onnx.data']);
    const m = await openModel(folder, { executionProvider: 'cpu' });
    opened.push(m);
    const ids = [8, 0, 13, 2];
    assertMatches(await captureIds(m, ids), referenceProbabilities(t, ids), ids.length, 2);
    assert.deepEqual(readdirSync(folder).sort(), before);
    assert.ok(file.endsWith('model.onnx'));
  });
});
