/**
 * Hostile input: thousands of seeded mutations of real files (an ONNX export, a safetensors
 * checkpoint, config.json, tokenizer.json) and of webview messages. Every mutated file must
 * load or be refused with a one-line UserError that names it; no other exception, no hang.
 * FUZZ_SEED=<n> replays another run; FUZZ_SCALE=<k> multiplies the counts.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import { CAPTURE_ID } from '../../protocol/internals';
import { parseWebviewMessage } from '../../protocol/webview';
import { UserError } from '../../common/errors';
import { loadModelShape, KEY_ALIASES } from '../../server/efficiency/modelShape';
import { readHfConfig } from '../../server/hf/config';
import { SafetensorsFile } from '../../server/hf/safetensors';
import { findAttention } from '../../server/onnx/attentionFinder';
import { readOnnxModel } from '../../server/onnx/modelFile';
import { loadTokenizer } from '../../server/tokenizer';
import { torchStyleGraph } from '../helpers/attentionGraphs';
import { checkOutcomes, fuzz, fuzzSeed, hostileValue, int, mutateBytes, mutateJson, pickOne, scaled, seeded, type Rand } from '../helpers/fuzz';
import { rawSafetensors, safetensorsBytes } from '../helpers/writeCheckpoint';

const SEED = fuzzSeed(20261127);
const repo = join(__dirname, '..', '..');

let root: string;

describe('fuzz: hostile files and messages', function () {
  this.timeout(120_000);
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'fuzz-'));
    console.log(`      fuzz seed ${SEED} (FUZZ_SEED to replay)`);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('ONNX loader and attention finder: mutated bytes and mutated graphs', async () => {
    const r = seeded(SEED);
    const seed = torchStyleGraph({ layers: 2, heads: 2, headDim: 4, vocab: 12, seed: 7 });
    const file = join(root, 'model.onnx');
    writeFileSync(join(root, 'weights.bin'), new Uint8Array(64));
    const OPS = ['Softmax', 'MatMul', 'Attention', 'Transpose', 'Add', 'Mul', 'Div', 'Reshape', 'Where', 'Einsum', 'MultiHeadAttention', ''];
    const graphMutation = (): Uint8Array => {
      const m = onnx.ModelProto.decode(seed.bytes);
      const g = m.graph!;
      for (let t = 1 + int(r, 3); t > 0; t--) {
        const nodes = (g.node ??= []);
        const node = nodes.length ? pickOne(r, nodes) : undefined;
        const ins = node ? (node.input ??= []) : [];
        const names = nodes.flatMap((x) => [...(x.input ?? []), ...(x.output ?? [])]);
        switch (int(r, 8)) {
          case 0: if (node) node.opType = pickOne(r, OPS); break;
          case 1: if (node) node.input = ins.slice(0, int(r, ins.length + 1)); break;
          case 2: if (node && names.length) ins[int(r, ins.length + 1)] = pickOne(r, names); break; // may close a cycle
          case 3: if (nodes.length) nodes.splice(int(r, nodes.length), 1); break;
          case 4: if (node) node.domain = pickOne(r, ['', 'ai.onnx', 'com.microsoft', 'x']); break;
          case 5: if (node) (node.attribute ??= []).push(onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: pickOne(r, [-1, 99, -99, 2 ** 31]) })); break;
          case 6: if (g.initializer?.length) {
            const init = pickOne(r, g.initializer);
            init.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
            init.externalData = [onnx.StringStringEntryProto.create({ key: 'location', value: pickOne(r, ['weights.bin', 'missing.bin', '../x.bin', '/etc/passwd', '']) })];
          } break;
          default: for (let k = int(r, 80); k > 0; k--) (g.input ??= []).push(onnx.ValueInfoProto.create({ name: `extra${k}` }));
        }
      }
      return onnx.ModelProto.encode(m).finish();
    };
    const c = await fuzz(scaled(1000), file, () => writeFileSync(file, r() < 0.5 ? mutateBytes(r, seed.bytes) : graphMutation()), () => {
      const m = readOnnxModel(file);
      return findAttention(m.model, file);
    });
    checkOutcomes('onnx', c);
  });

  it('safetensors header parser: mutated headers, lengths and bytes', async () => {
    const r = seeded(SEED + 1);
    const tensors = { 'a.weight': { shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => i) }, 'b.bias': { shape: [4], data: new Float32Array(4) } };
    const seed = safetensorsBytes(tensors, 'F16');
    const headerLen = Number(seed.readBigUInt64LE(0));
    const header = JSON.parse(seed.subarray(8, 8 + headerLen).toString('utf8'));
    const data = seed.subarray(8 + headerLen);
    const file = join(root, 'model.safetensors');
    const make = () => {
      const k = int(r, 3);
      if (k === 0) return writeFileSync(file, mutateBytes(r, seed));
      const h = mutateJson(r, header, ['c', '__metadata__', 'a.weight']);
      const len = k === 2 ? pickOne(r, [0n, 1n, 2n ** 40n, 2n ** 64n - 1n, BigInt(JSON.stringify(h).length) + 1n, 100n * 2n ** 20n]) : undefined;
      writeFileSync(file, rawSafetensors(h, data, len));
    };
    const c = await fuzz(scaled(2000), file, make, async () => {
      const st = await SafetensorsFile.open(file);
      try {
        for (const name of st.tensors.keys()) await st.read(name);
      } finally {
        await st.close();
      }
    });
    checkOutcomes('safetensors', c);
  });

  it('safetensors refuses a header claiming a terabyte before allocating it', async () => {
    const file = join(root, 'huge.safetensors');
    const cases: [string, Buffer][] = [
      ['header length 1 TB', rawSafetensors({}, new Uint8Array(0), 2n ** 40n)],
      ['tensor of 1 TB', rawSafetensors({ w: { dtype: 'F32', shape: [2 ** 18, 2 ** 20], data_offsets: [0, 2 ** 40] } }, new Uint8Array(16))],
      ['shape of 1 TB, small offsets', rawSafetensors({ w: { dtype: 'F32', shape: [2 ** 18, 2 ** 20], data_offsets: [0, 16] } }, new Uint8Array(16))],
      ['header length 99 MB in a small file', rawSafetensors({}, new Uint8Array(0), 99n * 2n ** 20n)],
    ];
    for (const [what, bytes] of cases) {
      writeFileSync(file, bytes);
      const before = process.memoryUsage();
      let err: unknown;
      try {
        await SafetensorsFile.open(file);
      } catch (e) {
        err = e;
      }
      const after = process.memoryUsage();
      assert.ok(err instanceof UserError, `${what}: ${String(err)}`);
      assert.match(err.message, /huge\.safetensors/);
      // A 99 MB or 1 TB buffer would show here; the refusal comes from the header alone.
      const grew = (after.arrayBuffers - before.arrayBuffers) / 2 ** 20;
      assert.ok(grew < 16, `${what}: array buffers grew by ${grew.toFixed(1)} MiB`);
      console.log(`      ${what}: refused ("${err.message.slice(0, 90)}…"), array buffers +${grew.toFixed(2)} MiB`);
    }
  });

  it('config.json: normaliseConfig (HF loader) and readModelShape (cost model)', async () => {
    const r = seeded(SEED + 2);
    const dirs = ['llama-3-8b', 'gpt2', 'bert-base-uncased', 'qwen2-7b', 'gemma-2-9b', 'mistral-7b-v0.1', 't5-base', 'falcon-7b'];
    const seeds = dirs.map((d) => JSON.parse(readFileSync(join(repo, 'samples/configs', d, 'config.json'), 'utf8')));
    const keys = [...Object.values(KEY_ALIASES).flat(), 'model_type', 'rope_scaling', 'attention_types', 'layer_types', 'text_config',
      'use_sliding_window', 'max_window_layers', 'sliding_window_pattern', 'encoder_layers', 'decoder_layers', 'num_decoder_layers'];
    const folder = join(root, 'cfg');
    mkdirSync(folder);
    const file = join(folder, 'config.json');
    const make = () => {
      const doc = mutateJson(r, pickOne(r, seeds), keys);
      const text = JSON.stringify(doc);
      writeFileSync(file, r() < 0.25 ? mutateBytes(r, Buffer.from(text)) : text);
    };
    const hf = await fuzz(scaled(1500), file, make, () => readHfConfig(folder));
    checkOutcomes('config.json (normaliseConfig)', hf);
    const shape = await fuzz(scaled(1500), file, make, () => loadModelShape(file));
    checkOutcomes('config.json (readModelShape)', shape);
  });

  it('tokenizer.json: loadTokenizer and encoding with the loaded tokenizer', async () => {
    const r = seeded(SEED + 3);
    const src = join(repo, 'samples/tiny-gpt');
    const seed = JSON.parse(readFileSync(join(src, 'tokenizer.json'), 'utf8'));
    const folder = join(root, 'tok');
    mkdirSync(folder);
    writeFileSync(join(folder, 'tokenizer_config.json'), readFileSync(join(src, 'tokenizer_config.json')));
    const file = join(folder, 'tokenizer.json');
    const make = () => {
      const text = JSON.stringify(mutateJson(r, seed, ['model', 'normalizer', 'pre_tokenizer', 'post_processor', 'decoder', 'added_tokens']));
      writeFileSync(file, r() < 0.25 ? mutateBytes(r, Buffer.from(text)) : text);
    };
    // 400, not more: each file starts its own tokenizer worker thread (server/tokenize/).
    const c = await fuzz(scaled(400), file, make, async () => {
      const tok = loadTokenizer(folder);
      try {
        await tok.encode('the cat sat on the mat . zebra');
        return tok.tokensFor([0, 1, 2, 99999]);
      } finally {
        tok.dispose();
      }
    });
    checkOutcomes('tokenizer.json', c);
  });

  it('webview messages: parseWebviewMessage accepts only well-formed messages and never throws', () => {
    const r: Rand = seeded(SEED + 4);
    const types = ['ready', 'selectHead', 'requestTile', 'inspect', 'log', 'tile', 'x', '', 'constructor', '__proto__'];
    const fields = ['requestId', 'captureId', 'layer', 'head', 'q0', 'q1', 'k0', 'k1', 'text', 'level', 'message', 'path'];
    const good = { requestId: 1, captureId: 'x1-ab', layer: 0, head: 1, q0: 0, q1: 4, k0: 0, k1: 4, text: 'hi', level: 'info', message: 'm' };
    let accepted = 0;
    let rejected = 0;
    const total = scaled(20000);
    for (let i = 0; i < total; i++) {
      let msg: unknown;
      if (r() < 0.1) msg = hostileValue(r);
      else {
        const m: Record<string, unknown> = { ...good, type: pickOne(r, types) };
        for (let k = int(r, 4); k > 0; k--) m[pickOne(r, fields)] = r() < 0.5 ? hostileValue(r) : pickOne(r, [-1, 0, 1, 2 ** 24, 2 ** 24 + 1, 2 ** 31, 0.5, '1']);
        msg = r() < 0.1 ? JSON.parse(JSON.stringify(m).replace('"type"', '"__proto__":{"type":"ready"},"type"')) : m;
      }
      const out = parseWebviewMessage(msg);
      if (!out) {
        rejected++;
        continue;
      }
      accepted++;
      // What comes out is what the host relies on: ids by pattern, indices in range, no file paths.
      assert.ok(!('path' in out), 'a message carried a path through');
      if (out.type === 'requestTile') {
        assert.match(out.captureId, CAPTURE_ID);
        for (const v of [out.requestId, out.layer, out.head, out.q0, out.q1, out.k0, out.k1]) assert.ok(Number.isSafeInteger(v) && v >= 0);
        assert.ok(out.q1 > out.q0 && out.k1 > out.k0);
      }
      if (out.type === 'selectHead') assert.ok(Number.isSafeInteger(out.layer) && Number.isSafeInteger(out.head));
      if (out.type === 'inspect') assert.ok(typeof out.text === 'string' && out.text.trim() !== '');
      if (out.type === 'log') assert.ok(!/[\r\n]/.test(out.message) && out.message.length <= 2000);
    }
    console.log(`      webview messages: ${total} tried, ${accepted} accepted, ${rejected} rejected, 0 crashes`);
    assert.ok(accepted > 0 && rejected > 0);
  });
});
