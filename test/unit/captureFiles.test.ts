/**
 * The small pieces around a capture: .npy layout (checked byte by byte against the format
 * numpy writes), execution provider choice on this machine, model path dispatch and the
 * tokenizer's refusals.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { createSession } from '../../server/capture/executionProvider';
import { readNpy, writeNpy } from '../../server/capture/npy';
import { openModel } from '../../server/capture/openModel';
import { UserError } from '../../common/errors';
import { loadTokenizer } from '../../server/tokenizer';
import { torchStyleGraph } from '../helpers/attentionGraphs';
import { encodeNpy } from '../../common/npy';

const isUserError = (pattern: RegExp) => (e: Error) => e instanceof UserError && pattern.test(e.message) && !e.message.includes('\n');

describe('capture files and setup', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ai-files-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes npy v1.0 as numpy.save does: 64-byte aligned header, <f4 little-endian C order', () => {
    const buf = encodeNpy(Float32Array.of(1, -2.5, 0.25, 3, 4, 5), [1, 2, 3]);
    const expectedHeader = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3), }";
    assert.deepEqual([...buf.subarray(0, 8)], [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    const headerLen = buf.readUInt16LE(8);
    assert.equal((10 + headerLen) % 64, 0);
    assert.equal(buf.subarray(10, 10 + expectedHeader.length).toString('latin1'), expectedHeader);
    assert.equal(buf[10 + headerLen - 1], 0x0a);
    assert.equal(buf.length, 10 + headerLen + 24);
    assert.equal(buf.readFloatLE(10 + headerLen + 4), -2.5);
    const file = join(dir, 'a.npy');
    writeNpy(file, Float32Array.of(0.5, 7), [2]);
    assert.deepEqual(readNpy(file), { data: Float32Array.of(0.5, 7), shape: [2] });
    assert.ok(readFileSync(file).subarray(10, 80).toString('latin1').includes("'shape': (2,)"));
  });

  it('auto falls back to cpu here and says why each GPU provider was skipped', async () => {
    const { session, provider, notes } = await createSession(torchStyleGraph().bytes, 'auto');
    await session.release();
    const gpus = ort.listSupportedBackends().filter((b) => b.name !== 'cpu' && b.name !== 'tensorrt');
    if (provider === 'cpu') {
      assert.equal(notes.length, gpus.length, notes.join(' | '));
      for (const g of gpus) assert.ok(notes.some((n) => n.startsWith(`${g.name}: `)), `note for ${g.name}`);
    }
    await assert.rejects(createSession(torchStyleGraph().bytes, 'coreml'), isUserError(/coreml: not available/));
  });

  it('dispatches paths: pickle-only folder, safetensors without config, several .onnx, config.json file', async () => {
    const pickles = join(dir, 'pickles');
    mkdirSync(pickles);
    writeFileSync(join(pickles, 'config.json'), '{}');
    writeFileSync(join(pickles, 'pytorch_model.bin'), Buffer.from([0x80, 0x02]));
    await assert.rejects(openModel(pickles), isUserError(/pytorch_model\.bin: PyTorch pickle.*safetensors/));
    const noConfig = join(dir, 'noconfig');
    mkdirSync(noConfig);
    writeFileSync(join(noConfig, 'model.safetensors'), '');
    await assert.rejects(openModel(noConfig), isUserError(/noconfig: has \*\.safetensors but no config\.json/));
    const several = join(dir, 'several');
    mkdirSync(several);
    writeFileSync(join(several, 'a.onnx'), '');
    writeFileSync(join(several, 'b.onnx'), '');
    await assert.rejects(openModel(several), isUserError(/several \.onnx files/));
    await assert.rejects(openModel(join(pickles, 'config.json')), isUserError(/open the folder holding config\.json/));
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    await assert.rejects(openModel(empty), isUserError(/empty: no model\.onnx/));
  });

  it('refuses a missing or corrupt tokenizer.json naming the file and suggesting --ids', () => {
    const folder = join(dir, 'tok');
    mkdirSync(folder);
    assert.throws(() => loadTokenizer(folder), isUserError(/tok\/tokenizer\.json: no tokenizer\.json.*--ids/));
    writeFileSync(join(folder, 'tokenizer.json'), '{"model": {');
    assert.throws(() => loadTokenizer(folder), isUserError(/tok\/tokenizer\.json: not valid JSON.*--ids/));
    writeFileSync(join(folder, 'tokenizer.json'), '{"vocab": []}');
    assert.throws(() => loadTokenizer(folder), isUserError(/not a Hugging Face tokenizer\.json.*--ids/));
  });
});
