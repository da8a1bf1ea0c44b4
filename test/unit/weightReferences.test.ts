/**
 * Large float weights left in the .onnx file (server/onnx/weightReferences.ts): the references
 * point at the right bytes, the decoded model keeps no view of the file's buffer, captures equal
 * onnxruntime's own run of the file, and a file changed after opening is refused in one line.
 */
import * as assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, openSync, readFileSync, readSync, closeSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { segmentExtra } from '../../server/capture/executionProvider';
import { openModel } from '../../server/capture/openModel';
import { ModelRegistry } from '../../server/lsp/models';
import { openWholeGraph } from '../../server/capture/wholeGraph';
import { openInternalsGraph } from '../../server/internals/internalsGraph';
import { buildFullModel, familyGraph } from '../../server/hf/buildModel';
import { openCheckpoint } from '../../server/hf/checkpoint';
import { readHfConfig } from '../../server/hf/config';
import { openHuggingFaceModel } from '../../server/hf/hfModel';
import { gpt2Fixture, llamaFixture } from '../helpers/hfFixtures';
import { wholeBuiltMaps } from '../helpers/segmentCheck';
import { writeHfFolder } from '../helpers/writeCheckpoint';
import type { LayerMap } from '../../server/capture/types';
import { readOnnxModel } from '../../server/onnx/modelFile';
import { inlineBytes, REFERENCED_WEIGHT_BYTES } from '../../server/onnx/weightReferences';
import { makeGpt2SmallShaped } from '../../samples/scripts/make-bench-model';

const EXTERNAL = onnx.TensorProto.DataLocation.EXTERNAL;
const entry = (t: onnx.ITensorProto, key: string) => (t.externalData ?? []).find((e) => e.key === key)?.value ?? '';

describe('weights referenced in the model file', function () {
  this.timeout(120_000);
  let dir: string;
  let file: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ai-weight-refs-'));
    // Two GPT-2-small-shaped layers: 768-wide weights (2.4 MB and up), the probabilities exposed.
    file = await makeGpt2SmallShaped(dir, { layers: 2, maxPositions: 64, exposeProbabilities: true });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('points every large float initializer at its own bytes in the file, and copies the rest', () => {
    const plain = readOnnxModel(file).model;
    const referenced = readOnnxModel(file, { referenceWeights: true });
    const before = new Map((plain.graph?.initializer ?? []).map((t) => [t.name ?? '', t]));
    const fd = openSync(file, 'r');
    let count = 0;
    try {
      for (const t of referenced.model.graph?.initializer ?? []) {
        const original = before.get(t.name ?? '')!;
        const big = (original.rawData?.length ?? 0) >= REFERENCED_WEIGHT_BYTES && original.dataType === onnx.TensorProto.DataType.FLOAT;
        if (!big) {
          assert.notEqual(t.dataLocation, EXTERNAL, `${t.name} stays inline`);
          assert.deepEqual(Buffer.from(t.rawData ?? []), Buffer.from(original.rawData ?? []), `${t.name}: same bytes`);
          continue;
        }
        count++;
        assert.equal(t.dataLocation, EXTERNAL, `${t.name} is referenced`);
        assert.equal(t.rawData?.length ?? 0, 0, `${t.name} carries no bytes`);
        assert.equal(entry(t, 'location'), basename(file));
        const [offset, length] = [Number(entry(t, 'offset')), Number(entry(t, 'length'))];
        const bytes = Buffer.alloc(length);
        readSync(fd, bytes, 0, length, offset);
        assert.ok(bytes.equals(Buffer.from(original.rawData!)), `${t.name}: the file's bytes at ${offset} are its weights`);
      }
    } finally {
      closeSync(fd);
    }
    // wte, wpe, lm_head and per layer c_attn, attn c_proj, c_fc and mlp c_proj (biases and
    // layer norms are 3 to 12 KB).
    assert.equal(count, 3 + 2 * 4);
    assert.deepEqual(referenced.externalFiles, [basename(file)]);
    // What the runtime keeps of the graph: the small tensors only (the weights are 30 MB).
    const small = (plain.graph?.initializer ?? []).filter((t) => !((t.rawData?.length ?? 0) >= REFERENCED_WEIGHT_BYTES && t.dataType === 1));
    assert.equal(inlineBytes(referenced.model), small.reduce((a, t) => a + (t.rawData?.length ?? 0), 0));
    assert.ok(inlineBytes(referenced.model) < 2 ** 20 && inlineBytes(plain) > 25 * 2 ** 20, `${inlineBytes(referenced.model)} of ${inlineBytes(plain)} bytes kept`);
    assert.deepEqual(referenced.referenced.map(([f, stamp]) => [f, stamp.size]), [[referenced.path, statSync(file).size]]);
    // Nothing decoded is a view of the file's buffer any more (the buffer can be freed).
    const size = statSync(file).size;
    for (const t of referenced.model.graph?.initializer ?? []) {
      assert.ok(!t.rawData || t.rawData.buffer.byteLength < size, `${t.name} does not keep the file's buffer alive`);
    }
  });

  it('a capture from the referenced weights equals onnxruntime run on the file itself', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => (i * 31) % 512);
    const session = await ort.InferenceSession.create(file, { logSeverityLevel: 3 });
    const out = await session.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]) });
    const probsNames = session.outputNames.filter((n) => /probs|Softmax/i.test(n));
    await session.release();
    assert.equal(probsNames.length, 2, `probability outputs: ${session.outputNames.join(', ')}`);
    const model = await openModel(file, { executionProvider: 'cpu' });
    try {
      const maps: LayerMap[] = [];
      await model.capture({ ids }, { onLayer: (m) => void maps.push(m) });
      assert.equal(maps.length, 2);
      maps.forEach((m, l) => {
        const ref = out[probsNames[l]].data as Float32Array;
        assert.equal(m.data.length, ref.length);
        let worst = 0;
        for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(m.data[i] - ref[i]));
        assert.ok(worst <= 1e-6, `layer ${l}: largest difference ${worst}`);
      });
    } finally {
      await model.dispose();
    }
  });

  it('the whole-graph readers (variants, internals, ablation) run from the referenced weights, and see a changed file', async () => {
    const copy = join(dir, 'whole.onnx');
    copyFileSync(file, copy);
    const ids = [5, 9, 200, 31, 7, 64];
    const feeds = { input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]) };
    const direct = await ort.InferenceSession.create(copy, { logSeverityLevel: 3 });
    const want = (await direct.run(feeds)).logits.data as Float32Array;
    await direct.release();
    const whole = await openWholeGraph(copy);
    const referenced = (whole.model.graph?.initializer ?? []).filter((t) => t.dataLocation === EXTERNAL).length;
    assert.equal(referenced, 11);
    const session = await ort.InferenceSession.create(onnx.ModelProto.encode(whole.model).finish(), whole.options);
    const got = (await session.run(whole.feedsFor(ids))).logits.data as Float32Array;
    await session.release();
    assert.equal(got.length, want.length);
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-5 * Math.max(1, Math.abs(want[i])), `logit ${i}: ${got[i]} vs ${want[i]}`);
    // Internals read weights' values (W_O, scales) from the file at the references' offsets.
    const internals = await openInternalsGraph(copy);
    const plain = readOnnxModel(copy).model.graph!.initializer!.find((t) => t.name === 'transformer.h.1.attn.c_proj.weight')!;
    const wo = internals.constants.get('transformer.h.1.attn.c_proj.weight')!;
    assert.deepEqual(Array.from(wo.data.subarray(0, 64)), Array.from(new Float32Array(Uint8Array.from(plain.rawData!).buffer).subarray(0, 64)));
    assert.equal(whole.changed(), false);
    assert.equal(internals.changed(), false);
    const later = new Date(statSync(copy).mtimeMs + 5_000);
    utimesSync(copy, later, later);
    assert.equal(whole.changed(), true, 'a newer file is seen');
    assert.equal(internals.changed(), true, 'the runtime reads it again before the next internals request');
  });

  it('opening a changed file again in the runtime reads it again (the refusal says to open it again)', async () => {
    const copy = join(dir, 'reopened.onnx');
    copyFileSync(file, copy);
    const models = new ModelRegistry();
    try {
      const first = await models.open(copy, 'cpu', () => undefined);
      assert.equal(await models.open(copy, 'cpu', () => undefined), first, 'an unchanged file reuses the open model');
      assert.equal(first.changed?.(), false);
      const later = new Date(statSync(copy).mtimeMs + 5_000);
      utimesSync(copy, later, later);
      assert.equal(first.changed?.(), true);
      const second = await models.open(copy, 'cpu', () => undefined);
      assert.notEqual(second, first, 'a changed file is opened again');
      assert.equal(models.get(second.info.modelId), second);
      const r = await second.capture({ ids: [1, 2, 3] }, { maps: 'none', onReductions: () => undefined });
      assert.equal(r.layers.length, 2);
    } finally {
      await models.disposeAll();
    }
  });

  it('a file changed after opening is refused in one line when a session is made from it', async () => {
    const copy = join(dir, 'changed.onnx');
    copyFileSync(file, copy);
    const before = readFileSync(copy);
    const model = await openModel(copy, { executionProvider: 'cpu' });
    try {
      // Opening made the sessions that return full maps; a panel capture makes new ones.
      const later = new Date(statSync(copy).mtimeMs + 5_000);
      utimesSync(copy, later, later);
      const refused = (e: Error) => /changed\.onnx: changed on disk since the model was opened; open the model again$/.test(e.message) && !e.message.includes('\n');
      await assert.rejects(model.capture({ ids: [1, 2, 3] }, { maps: 'none', onReductions: () => undefined }), refused);
      // The next capture is refused the same way (no half-made state, no other error).
      await assert.rejects(model.capture({ ids: [1, 2, 3] }), refused);
    } finally {
      await model.dispose();
    }
    assert.ok(readFileSync(copy).equals(before), 'the model file is only read');
  });
});

describe('segment session config entries', () => {
  it("keep spinning off beside a caller's own session entries (the external data folder)", () => {
    // A shallow merge let the caller's `session` object replace the spinning entry: every
    // segment of a model with external data (its own, or its referenced weights) spun.
    assert.deepEqual(segmentExtra({ session: { model_external_initializers_file_folder_path: '/models/gpt2' } }), {
      session: { intra_op: { allow_spinning: '0' }, model_external_initializers_file_folder_path: '/models/gpt2' },
    });
    assert.deepEqual(segmentExtra(), { session: { intra_op: { allow_spinning: '0' } } });
    assert.deepEqual(segmentExtra({ session: { intra_op: { spin_duration_us: '10' } }, ep: { x: '1' } }), {
      session: { intra_op: { allow_spinning: '0', spin_duration_us: '10' } },
      ep: { x: '1' },
    });
  });
});

describe('Hugging Face float32 weights read from the safetensors files', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'ai-hf-refs-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const built = async (folder: string) => {
    const cfg = readHfConfig(folder);
    const src = await openCheckpoint(folder);
    try {
      const b = await buildFullModel(cfg, familyGraph(cfg, src, folder), src, folder);
      return { b, model: onnx.ModelProto.decode(b.bytes) };
    } finally {
      await src.close();
    }
  };

  it('float32 shards: every weight names its bytes in its shard; the capture equals the graph with the weights inline', async () => {
    const folder = join(dir, 'gpt2-f32');
    const { config, tensors } = gpt2Fixture();
    writeHfFolder(folder, config, tensors, { shards: 2, prefix: 'transformer.' }, ['lm_head.weight']);
    const written = new Set(Object.values(tensors).map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('base64')));
    const { b, model } = await built(folder);
    const weights = (model.graph?.initializer ?? []).filter((t) => t.dataType === onnx.TensorProto.DataType.FLOAT && (t.dims ?? []).length > 0);
    assert.ok(weights.length >= 20, `${weights.length} float initializers`);
    const fd = new Map<string, number>();
    try {
      for (const t of weights) {
        assert.equal(t.dataLocation, EXTERNAL, `${t.name} is read from the checkpoint`);
        const location = entry(t, 'location');
        assert.match(location, /^model-0000[12]-of-00002\.safetensors$/);
        const [offset, length] = [Number(entry(t, 'offset')), Number(entry(t, 'length'))];
        assert.equal(length, (t.dims ?? []).reduce((a, d) => a * Number(d), 1) * 4);
        if (!fd.has(location)) fd.set(location, openSync(join(folder, location), 'r'));
        const bytes = Buffer.alloc(length);
        readSync(fd.get(location)!, bytes, 0, length, offset);
        assert.ok(written.has(bytes.toString('base64')), `${t.name}: the bytes at ${offset} of ${location} are one of the written tensors`);
      }
    } finally {
      for (const f of fd.values()) closeSync(f);
    }
    assert.deepEqual(b.referenced.map(([f]) => basename(f)).sort(), ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    const ids = [3, 17, 8, 30, 1, 22, 9];
    const want = await wholeBuiltMaps(folder, ids); // the same graph built with every weight inline
    const m = await openHuggingFaceModel(folder, { executionProvider: 'cpu', layerByLayer: false });
    try {
      const maps: LayerMap[] = [];
      await m.capture({ ids }, { onLayer: (x) => void maps.push(x) });
      assert.equal(maps.length, want.length);
      maps.forEach((x, l) => {
        let worst = 0;
        for (let i = 0; i < want[l].length; i++) worst = Math.max(worst, Math.abs(x.data[i] - want[l][i]));
        assert.ok(worst <= 1e-6, `layer ${l}: largest difference ${worst}`);
      });
      // A shard changed after opening: the next session made from the graph is refused.
      const shard = join(folder, 'model-00002-of-00002.safetensors');
      assert.equal(m.changed?.(), false);
      const later = new Date(statSync(shard).mtimeMs + 5_000);
      utimesSync(shard, later, later);
      assert.equal(m.changed?.(), true, 'the runtime opens it again on the next open');
      await assert.rejects(
        m.capture({ ids }, { maps: 'none', onReductions: () => undefined }),
        (e: Error) => /gpt2-f32\/model-00002-of-00002\.safetensors: changed on disk since the model was opened; open the model again$/.test(e.message),
      );
    } finally {
      await m.dispose();
    }
  });

  it('bfloat16 weights are converted into the graph, not referenced', async () => {
    const folder = join(dir, 'llama-bf16');
    const { config, tensors } = llamaFixture();
    writeHfFolder(folder, config, tensors, { dtype: 'BF16' });
    const { b, model } = await built(folder);
    assert.equal((model.graph?.initializer ?? []).filter((t) => t.dataLocation === EXTERNAL).length, 0);
    assert.deepEqual(b.referenced, []);
  });
});
