/**
 * Safetensors parsing and checkpoint-folder refusals: every defect is one UserError line that
 * names the file, raised from the header before any tensor buffer exists.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../common/errors';
import { openCheckpoint } from '../../server/hf/checkpoint';
import { openHuggingFaceModel } from '../../server/hf/hfModel';
import { bf16ToF32, f16ToF32, SafetensorsFile } from '../../server/hf/safetensors';
import { gpt2Fixture } from '../helpers/hfFixtures';
import { rawSafetensors, roundBf16, roundF16, safetensorsBytes, writeHfFolder } from '../helpers/writeCheckpoint';

let root: string;
before(() => (root = mkdtempSync(join(tmpdir(), 'hf-st-'))));
after(() => rmSync(root, { recursive: true, force: true }));

async function refused(p: Promise<unknown>, ...parts: (string | RegExp)[]): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof UserError, `expected a UserError, got ${(e as Error).stack}`);
    assert.ok(!e.message.includes('\n'), `not one line: ${e.message}`);
    for (const part of parts) assert.match(e.message, typeof part === 'string' ? new RegExp(part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : part);
    return e.message;
  }
  assert.fail('expected a refusal');
}

function file(name: string, bytes: Uint8Array): string {
  const f = join(root, name);
  writeFileSync(f, bytes);
  return f;
}

const f32 = (n: number) => new Uint8Array(n * 4);

describe('safetensors reader', () => {
  it('reads F32, F16 and BF16 tensors and row ranges by offset', async () => {
    const values = Float32Array.from([1, -2, 0.1, 3.14159, 1e-6, -65504]);
    for (const dtype of ['F32', 'F16', 'BF16'] as const) {
      const f = file(`ok_${dtype}.safetensors`, safetensorsBytes({ a: { shape: [1], data: Float32Array.of(7) }, t: { shape: [3, 2], data: values } }, dtype));
      const st = await SafetensorsFile.open(f);
      const round = dtype === 'F32' ? Math.fround : dtype === 'F16' ? roundF16 : roundBf16;
      assert.deepEqual(Array.from(await st.read('t')), Array.from(values, (v) => Math.fround(round(v))));
      assert.deepEqual(Array.from(await st.readRows('t', 1, 2)), Array.from(values.slice(2, 4), (v) => Math.fround(round(v))));
      await st.close();
    }
  });

  it('decodes half precision bit patterns to their known values', () => {
    const h = f16ToF32(Uint16Array.of(0x3c00, 0xc000, 0x0001, 0x7bff, 0x3555, 0x7c00, 0x8000));
    assert.deepEqual(Array.from(h), [1, -2, 2 ** -24, 65504, Math.fround(0.333251953125), Infinity, -0]);
    const b = bf16ToF32(Uint16Array.of(0x3f80, 0x4049, 0xc2f7, 0x0001));
    assert.deepEqual(Array.from(b), [1, 3.140625, -123.5, Math.fround(2 ** -133)]);
  });

  const cases: [string, () => Uint8Array, string][] = [
    ['absurd header length', () => rawSafetensors({}, f32(4), 1n << 62n), 'exceeds the 104857600-byte limit'],
    ['header longer than the file', () => rawSafetensors({}, f32(1), 4096n), 'exceeds the file size'],
    ['header not JSON', () => Buffer.concat([Buffer.from([5, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{"a":')]), 'not valid JSON'],
    ['offsets past the end', () => rawSafetensors({ t: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, f32(2)), 'outside the file'],
    ['shape and bytes disagree', () => rawSafetensors({ t: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 20] } }, f32(6)), 'does not match its 20 bytes'],
    ['overlapping tensors', () => rawSafetensors({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] }, b: { dtype: 'F32', shape: [4], data_offsets: [8, 24] } }, f32(6)), 'overlap'],
    ['unknown dtype', () => rawSafetensors({ t: { dtype: 'Q4', shape: [2], data_offsets: [0, 1] } }, f32(1)), 'unknown dtype "Q4"'],
    ['absurd shape', () => rawSafetensors({ t: { dtype: 'F32', shape: [1e15, 1e15], data_offsets: [0, 16] } }, f32(4)), 'larger than the file'],
    ['negative offsets', () => rawSafetensors({ t: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }, f32(1)), 'invalid data_offsets'],
    ['shorter than 8 bytes', () => Uint8Array.of(1, 2, 3), 'only 3 bytes'],
  ];
  for (const [what, make, message] of cases) {
    it(`refuses ${what} in one line naming the file`, async () => {
      const before = process.memoryUsage().arrayBuffers;
      await refused(SafetensorsFile.open(file(`bad.safetensors`, make())), 'bad.safetensors', message);
      assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024);
    });
  }

  it('parses integer buffers (e.g. position_ids) but refuses to read them as weights', async () => {
    const st = await SafetensorsFile.open(file('int.safetensors', rawSafetensors({ ids: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, new Uint8Array(16))));
    await refused(st.read('ids'), 'int.safetensors', 'I64');
    await st.close();
  });
});

describe('Hugging Face folders that are refused', () => {
  it('an unsupported model_type lists the supported ones', async () => {
    const dir = join(root, 't5');
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 't5' }));
    writeFileSync(join(dir, 'model.safetensors'), safetensorsBytes({}, 'F32'));
    await refused(openHuggingFaceModel(dir), 'config.json', 'model_type "t5" is not supported', 'gpt2, bert, roberta, llama, mistral, qwen2');
  });

  it('a pickle-only folder is refused with the way to safetensors, nothing unpickled', async () => {
    const dir = join(root, 'pickle');
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(gpt2Fixture().config));
    writeFileSync(join(dir, 'pytorch_model.bin'), 'not a pickle at all');
    await refused(openHuggingFaceModel(dir), 'pytorch_model.bin', 'safetensors');
  });

  it('an index naming a shard outside the folder, or a missing shard, is refused', async () => {
    const dir = join(root, 'index');
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { w: '../evil.safetensors' } }));
    await refused(openCheckpoint(dir), 'model.safetensors.index.json', 'not a shard file in this folder');
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { w: 'model-00002-of-00002.safetensors' } }));
    await refused(openCheckpoint(dir), 'model-00002-of-00002.safetensors is missing');
  });

  it('weights that do not match config.json name the missing tensor', async () => {
    const { config, tensors } = gpt2Fixture();
    writeHfFolder(join(root, 'short'), { ...config, n_layer: 3 }, tensors);
    await refused(openHuggingFaceModel(join(root, 'short')), 'short', 'h.2.ln_1.weight');
  });
});
