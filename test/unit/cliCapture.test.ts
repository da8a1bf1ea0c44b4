/**
 * The capture CLI as a user runs it (a child process), on models generated here and never
 * seen before: maps written as .npy must equal the independent reference, tokens must come
 * from the folder's tokenizer.json, and every bad input ends with exactly one stderr line
 * naming the file.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeFloat32 } from '../../protocol/encoding';
import type { HostToWebview } from '../../protocol/webview';
import { readNpy } from '../../server/capture/npy';
import { GraphBuilder } from '../../server/onnx/graphBuilder';
import { hfStyleGraph, referenceProbabilities, torchStyleGraph } from '../helpers/attentionGraphs';

const ROOT = join(__dirname, '..', '..');

function cli(args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderrLines: string[] } {
  const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', join(ROOT, 'server', 'cli.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ATTENTION_INSPECTOR_DEBUG: '', ...env },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderrLines: r.stderr.split('\n').filter((l) => l.length > 0) };
}

/** A WordPiece tokenizer.json over a 32-word vocabulary, no special tokens added. */
const WORDS = ['[PAD]', '[UNK]', 'the', 'cat', 'sat', 'on', 'mat', 'a', 'dog', 'ran', ...Array.from({ length: 20 }, (_, i) => `w${i}`), '##s', '.'];
function tokenizerJson(): object {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: { type: 'Lowercase' },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: null,
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(WORDS.map((w, i) => [w, i])) },
  };
}

function assertLayers(out: string, reference: Float32Array[], heads: number, n: number): void {
  reference.forEach((ref, l) => {
    const { data, shape } = readNpy(join(out, `layer_${l}.npy`));
    assert.deepEqual(shape, [heads, n, n]);
    for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(data[i] - ref[i]) < 1e-5, `layer ${l} cell ${i}`);
  });
}

describe('attention-inspector capture (CLI)', function () {
  this.timeout(120000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ai-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('captures a bare .onnx file with --ids: layer_<i>.npy equal the reference, summary and tokens written', () => {
    const t = torchStyleGraph({ layers: 2, heads: 2, headDim: 3, seed: 21 });
    const file = join(dir, 'never-seen.onnx');
    writeFileSync(file, t.bytes);
    const out = join(dir, 'out-ids');
    const ids = [4, 0, 19, 19, 8];
    const r = cli(['capture', '--model', file, '--ids', ids.join(','), '--out', out, '--ep', 'cpu']);
    assert.equal(r.code, 0, r.stderrLines.join('\n'));
    assert.deepEqual(r.stderrLines, []);
    assert.match(r.stdout, /2 attention layers x 2 heads over 5 tokens on cpu/);
    assertLayers(out, referenceProbabilities(t, ids), 2, ids.length);
    assert.deepEqual(JSON.parse(readFileSync(join(out, 'tokens.json'), 'utf8')), { tokens: ids.map(String), ids });
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    assert.equal(summary.layers, 2);
    assert.equal(summary.heads, 2);
    assert.equal(summary.executionProvider, 'cpu');
    assert.ok(summary.peakRssBytes > 0 && summary.timings.totalMs >= 0);
  });

  it('captures a folder with model.onnx + tokenizer.json from --text (auto provider)', () => {
    const t = hfStyleGraph({ layers: 3, heads: 2, headDim: 4, seed: 9 });
    const folder = join(dir, 'hf-model');
    mkdirSync(folder);
    writeFileSync(join(folder, 'model.onnx'), t.bytes);
    writeFileSync(join(folder, 'tokenizer.json'), JSON.stringify(tokenizerJson()));
    const out = join(dir, 'out-text');
    const r = cli(['capture', '--model', folder, '--text', 'The cat sat on the mats.', '--out', out]);
    assert.equal(r.code, 0, r.stderrLines.join('\n'));
    const tokens = JSON.parse(readFileSync(join(out, 'tokens.json'), 'utf8'));
    assert.deepEqual(tokens.tokens, ['the', 'cat', 'sat', 'on', 'the', 'mat', '##s', '.']);
    assert.deepEqual(tokens.ids, [2, 3, 4, 5, 2, 6, 30, 31]);
    assertLayers(out, referenceProbabilities(t, tokens.ids), 2, 8);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    assert.equal(summary.layers, 3);
    assert.equal(summary.executionProvider, 'cpu', 'no GPU provider starts on this machine');
    assert.ok(summary.providerNotes.length > 0, 'skipped providers are explained');
  });

  it('demo writes report.html replaying the panel messages: tokens, every layer, done (needs npm run build)', () => {
    const t = hfStyleGraph({ layers: 2, heads: 2, headDim: 4, seed: 4 });
    const folder = join(dir, 'demo-model');
    mkdirSync(folder);
    writeFileSync(join(folder, 'model.onnx'), t.bytes);
    writeFileSync(join(folder, 'tokenizer.json'), JSON.stringify(tokenizerJson()));
    const textFile = join(dir, 'demo.txt');
    writeFileSync(textFile, 'a dog ran on the mat\n');
    const out = join(dir, 'out-demo');
    const r = cli(['demo', '--model', folder, '--text-file', textFile, '--out', out, '--ep', 'cpu']);
    assert.equal(r.code, 0, r.stderrLines.join('\n'));
    const [reportPath, summary] = r.stdout.trim().split('\n');
    assert.equal(reportPath, join(out, 'report.html'));
    assert.match(summary, /demo-model: 2 attention layers x 2 heads over 6 tokens on cpu/);
    const html = readFileSync(reportPath, 'utf8');
    const json = /<script type="application\/json" id="attention-report">([^<]*)<\/script>/.exec(html)?.[1];
    const messages = JSON.parse(json ?? 'null') as HostToWebview[];
    assert.deepEqual(messages.map((m) => m.type), ['captureStarted', 'layer', 'layer', 'captureDone']);
    const started = messages[0] as Extract<HostToWebview, { type: 'captureStarted' }>;
    assert.deepEqual(started.tokens.map((x) => x.text), ['a', 'dog', 'ran', 'on', 'the', 'mat']);
    const ids = started.tokens.map((x) => x.id);
    const reference = referenceProbabilities(t, ids);
    messages.slice(1, 3).forEach((m, l) => {
      const layer = m as Extract<HostToWebview, { type: 'layer' }>;
      assert.deepEqual([layer.layer, layer.heads, layer.queries, layer.keys, layer.pool], [l, 2, 6, 6, 1]);
      decodeFloat32(layer.data).forEach((v, i) => assert.ok(Math.abs(v - reference[l][i]) < 1e-5, `layer ${l} cell ${i}`));
    });
  });

  describe('bad inputs: exit code and one stderr line naming the file', () => {
    const expectOneLine = (args: string[], code: number, pattern: RegExp): void => {
      const r = cli(args);
      assert.equal(r.code, code, r.stderrLines.join('\n'));
      assert.equal(r.stderrLines.length, 1, r.stderrLines.join('\n'));
      assert.match(r.stderrLines[0], pattern);
      assert.doesNotMatch(r.stderrLines[0], /\bat .*\.ts:\d+/);
    };

    it('missing model file', () => {
      const missing = join(dir, 'nope', 'model.onnx');
      expectOneLine(['capture', '--model', missing, '--ids', '1,2', '--out', join(dir, 'o1')], 1, new RegExp(`${missing}.*no such file`));
    });

    it('a file that is not ONNX', () => {
      const file = join(dir, 'notes.onnx');
      writeFileSync(file, 'these are my notes, not a model\n');
      expectOneLine(['capture', '--model', file, '--ids', '1,2', '--out', join(dir, 'o2')], 1, new RegExp(`${file}: not an ONNX model`));
    });

    it('a model without attention (only a classifier softmax)', () => {
      const g = new GraphBuilder('classifier');
      const ids = g.input('input_ids', 'int64', [1, 'n']);
      const x = g.node('Gather', [g.f32('embed', [4, 2], [1, 2, 3, 4, 5, 6, 7, 8]), ids], { attrs: { axis: 0 } });
      g.node('Softmax', [g.node('MatMul', [x, g.f32('w', [2, 3], [1, 0, 1, 0, 1, 1])])], { attrs: { axis: -1 }, outputs: ['probs'] });
      g.output('probs');
      const file = join(dir, 'classifier.onnx');
      writeFileSync(file, g.toBytes());
      expectOneLine(['capture', '--model', file, '--ids', '1,2', '--out', join(dir, 'o3')], 1, new RegExp(`${file}: no attention found`));
    });

    it('an empty text file', () => {
      const file = join(dir, 'empty.txt');
      writeFileSync(file, '  \n');
      const model = join(dir, 'never-seen.onnx');
      expectOneLine(['capture', '--model', model, '--text-file', file, '--out', join(dir, 'o4')], 1, new RegExp(`${file}: the text file is empty`));
    });

    it('a pickle checkpoint', () => {
      const file = join(dir, 'pytorch_model.bin');
      writeFileSync(file, Buffer.from([0x80, 0x02, 0x7d, 0x71, 0x00]));
      expectOneLine(['capture', '--model', file, '--ids', '1', '--out', join(dir, 'o5')], 1, new RegExp(`${file}: PyTorch pickle.*safetensors`));
    });

    it('text for a model without tokenizer.json suggests --ids', () => {
      const model = join(dir, 'never-seen.onnx');
      expectOneLine(['capture', '--model', model, '--text', 'hello', '--out', join(dir, 'o6')], 1, /never-seen\.onnx: no tokenizer\.json.*--ids/);
    });

    it('usage errors exit 2', () => {
      expectOneLine(['capture', '--model', 'x.onnx', '--ids', '1'], 2, /--out <dir> is required/);
      expectOneLine(['capture', '--bogus'], 2, /unknown option --bogus/);
    });
  });

  it('--help prints the options and exits 0', () => {
    const r = cli(['capture', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--max-tokens/);
  });
});
