/**
 * The CLI under hostile use, as a user runs it (a child process): command lines of tens of kB
 * (onnxruntime's telemetry crashed on them with SIGSEGV before anything was printed), ids and
 * texts from files and standard input, bad --out and --text-file paths, a second capture into a
 * used folder, diff reading only what a summary lists, and lengths that cannot fit in memory
 * refused before any model is opened.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpy } from '../../server/capture/npy';
import { hfStyleGraph, referenceProbabilities, torchStyleGraph } from '../helpers/attentionGraphs';
import { cli, wordPieceTokenizer, type CliRun } from '../helpers/cliRun';
import { mountSmallDisk } from '../helpers/smallDisk';
import { telemetryLogWritten } from '../helpers/telemetryLog';

const ROOT = join(__dirname, '..', '..');

const WORDS = ['[PAD]', '[UNK]', 'the', 'cat', 'sat', 'on', 'mat', ...Array.from({ length: 9 }, (_, i) => `w${i}`)];

function assertMaps(out: string, reference: Float32Array[]): void {
  reference.forEach((ref, l) => {
    const { data } = readNpy(join(out, `layer_${l}.npy`));
    assert.equal(data.length, ref.length);
    for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(data[i] - ref[i]) < 1e-5, `layer ${l} cell ${i}`);
  });
}

describe('CLI under hostile use', function () {
  this.timeout(120000);
  let dir: string;
  let folderModel: string;
  const t = hfStyleGraph({ layers: 2, heads: 2, headDim: 4, vocab: WORDS.length, seed: 5 });
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ai-cli-hostile-'));
    folderModel = join(dir, 'model');
    mkdirSync(folderModel);
    writeFileSync(join(folderModel, 'model.onnx'), t.bytes);
    writeFileSync(join(folderModel, 'tokenizer.json'), JSON.stringify(wordPieceTokenizer(WORDS)));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a 40 kB --text captures (no SIGSEGV) and onnxruntime leaves no mat-debug-<pid>.log in /tmp', () => {
    const out = join(dir, 'long-text');
    const started = Date.now();
    const r = cli(['capture', '--model', folderModel, '--text', `the cat${' '.repeat(40000)}sat`, '--out', out, '--ep', 'cpu']);
    assert.equal(r.signal, null, 'the CLI was killed by a signal');
    assert.equal(r.code, 0, r.stderrLines.join('\n'));
    assert.deepEqual(JSON.parse(readFileSync(join(out, 'tokens.json'), 'utf8')).ids, [2, 3, 4]);
    assertMaps(out, referenceProbabilities(t, [2, 3, 4]));
    // The telemetry client writes here (a fixed /tmp/, not TMPDIR) when it is on.
    assert.ok(!telemetryLogWritten(r.pid!, started), 'onnxruntime telemetry log left in /tmp');
  });

  it('a 30 kB --ids, --ids-file (one id per line) and --ids-file - (standard input) give the same maps', () => {
    // The length of the command line is what matters: ids padded with zeros are still 3, 1, 4.
    const padded = ['3', '1', '4'].map((d) => `${'0'.repeat(10000)}${d}`).join(',');
    const a = join(dir, 'ids-argv');
    const r1 = cli(['capture', '--model', join(folderModel, 'model.onnx'), '--ids', padded, '--out', a, '--ep', 'cpu']);
    assert.equal(r1.code, 0, r1.stderrLines.join('\n'));
    const idsFile = join(dir, 'ids.txt');
    writeFileSync(idsFile, '3\n1\n4\n');
    const b = join(dir, 'ids-file');
    const r2 = cli(['capture', '--model', join(folderModel, 'model.onnx'), '--ids-file', idsFile, '--out', b, '--ep', 'cpu']);
    assert.equal(r2.code, 0, r2.stderrLines.join('\n'));
    const c = join(dir, 'ids-stdin');
    const r3 = cli(['capture', '--model', join(folderModel, 'model.onnx'), '--ids-file', '-', '--out', c, '--ep', 'cpu'], '3, 1,\t4');
    assert.equal(r3.code, 0, r3.stderrLines.join('\n'));
    const reference = referenceProbabilities(t, [3, 1, 4]);
    for (const out of [a, b, c]) {
      assert.deepEqual(JSON.parse(readFileSync(join(out, 'tokens.json'), 'utf8')).ids, [3, 1, 4]);
      assertMaps(out, reference);
    }
  });

  it('--text-file - reads the text from standard input', () => {
    const out = join(dir, 'text-stdin');
    const r = cli(['capture', '--model', folderModel, '--text-file', '-', '--out', out, '--ep', 'cpu'], 'the mat\n');
    assert.equal(r.code, 0, r.stderrLines.join('\n'));
    assert.deepEqual(JSON.parse(readFileSync(join(out, 'tokens.json'), 'utf8')).tokens, ['the', 'mat']);
  });

  describe('bad paths: one stderr line naming the path and the fix, never "internal error"', () => {
    const oneLine = (r: CliRun, code: number, pattern: RegExp) => {
      assert.equal(r.code, code, r.stderrLines.join('\n'));
      assert.equal(r.stderrLines.length, 1, r.stderrLines.join('\n'));
      assert.match(r.stderrLines[0], pattern);
      assert.doesNotMatch(r.stderrLines[0], /internal error/);
    };

    it('--text-file naming a folder', () => {
      oneLine(cli(['capture', '--model', folderModel, '--text-file', dir, '--out', join(dir, 'x1')]), 1, new RegExp(`${dir}: is a folder, not a file; give --text-file the file that holds the text`));
    });

    it('--ids-file that is missing, and one with a word among the ids', () => {
      oneLine(cli(['capture', '--model', folderModel, '--ids-file', join(dir, 'nope.txt'), '--out', join(dir, 'x2')]), 1, /nope\.txt: no such token ids file; check --ids-file/);
      const bad = join(dir, 'bad-ids.txt');
      writeFileSync(bad, '1,2,three');
      oneLine(cli(['capture', '--model', folderModel, '--ids-file', bad, '--out', join(dir, 'x3')]), 2, /--ids-file .*bad-ids\.txt needs comma-separated non-negative integers \("three" is not a non-negative integer\)/);
    });

    it('--out that is a file, or empty, before the model is even opened', () => {
      const file = join(dir, 'plain-file');
      writeFileSync(file, 'x');
      // A model path that does not exist: the --out error comes first, so no work was done.
      oneLine(cli(['capture', '--model', join(dir, 'no-model'), '--ids', '1', '--out', file]), 1, new RegExp(`${file}: is a file, not a folder; give --out a folder path`));
      oneLine(cli(['capture', '--model', join(dir, 'no-model'), '--ids', '1', '--out', '']), 2, /capture: --out needs a folder path/);
      assert.equal(readFileSync(file, 'utf8'), 'x');
    });

    it('a disk that fills during a capture: one line naming the layer file, no partial file, no summary', function () {
      const disk = mountSmallDisk(128);
      if (!disk) this.skip();
      try {
        const out = join(disk!.dir, 'cap');
        const wide = join(dir, 'wide.onnx');
        writeFileSync(wide, torchStyleGraph({ layers: 1, heads: 16, headDim: 2, vocab: 12, seed: 4 }).bytes);
        // 16 heads × 60² float32 = 225 KiB: the first layer alone overflows 128 KiB.
        const ids = Array.from({ length: 60 }, (_, i) => i % 12).join(',');
        const r = cli(['capture', '--model', wide, '--ids', ids, '--out', out, '--ep', 'cpu']);
        oneLine(r, 1, new RegExp(`${out}/layer_0\\.npy: cannot write: no space left on the device; free some space or write to another folder`));
        assert.deepEqual(readdirSync(out), []);
      } finally {
        disk!.unmount();
      }
    });

    it('compare --seq-lengths 1e8 and 1000000 are refused before the model is opened', () => {
      for (const len of ['1e8', '1000000']) {
        const r = cli(['compare', '--model', join(dir, 'no-model'), '--ids', '1,2', '--layer', '0', '--seq-lengths', `128,${len}`, '--out', join(dir, 'x4')]);
        oneLine(r, 1, new RegExp(`--seq-lengths ${Number(len)} needs at least [\\d.]+ GiB \\(the ${Number(len)} × ${Number(len)} attention scores of a single head\\), more than the [\\d.]+ GiB this machine can spare`));
      }
    });

    it('estimate --measure-seqs 1000000 is refused before anything is measured', () => {
      const r = cli(['estimate', '--config', join(ROOT, 'samples/configs/llama-2-7b/config.json'), '--seq', '128', '--measure', '--measure-seqs', '256,1000000']);
      oneLine(r, 1, /--measure-seqs 1000000 needs at least [\d.]+ GiB/);
    });
  });

  it('a second capture into a used folder: the first one\'s extra layers go, and diff reads only listed files', () => {
    const three = torchStyleGraph({ layers: 3, heads: 2, headDim: 3, vocab: 12, seed: 2 });
    const two = torchStyleGraph({ layers: 2, heads: 2, headDim: 3, vocab: 12, seed: 3 });
    writeFileSync(join(dir, 'three.onnx'), three.bytes);
    writeFileSync(join(dir, 'two.onnx'), two.bytes);
    const a = join(dir, 'cap-a');
    const b = join(dir, 'cap-b');
    assert.equal(cli(['capture', '--model', join(dir, 'three.onnx'), '--ids', '1,2,3', '--out', a, '--ep', 'cpu']).code, 0);
    assert.deepEqual(readdirSync(a).sort(), ['layer_0.npy', 'layer_1.npy', 'layer_2.npy', 'stats.json', 'summary.json', 'tokens.json']);
    const r = cli(['capture', '--model', join(dir, 'two.onnx'), '--ids', '1,2,3,4', '--out', a, '--ep', 'cpu']);
    assert.equal(r.code, 0, r.stderrLines.join('\n'));
    assert.deepEqual(readdirSync(a).sort(), ['layer_0.npy', 'layer_1.npy', 'stats.json', 'summary.json', 'tokens.json']);
    const summary = JSON.parse(readFileSync(join(a, 'summary.json'), 'utf8'));
    assert.deepEqual(summary.files, ['layer_0.npy', 'layer_1.npy', 'stats.json', 'tokens.json']);
    assertMaps(a, referenceProbabilities(two, [1, 2, 3, 4]));

    assert.equal(cli(['capture', '--model', join(dir, 'two.onnx'), '--ids', '1,2,3', '--out', b, '--ep', 'cpu']).code, 0);
    // A file planted beside a capture is not part of it: diff must not read it.
    writeFileSync(join(a, 'layer_7.npy'), readFileSync(join(a, 'layer_0.npy')));
    const out = join(dir, 'diff');
    const d = cli(['diff', '--a', a, '--b', b, '--out', out]);
    assert.equal(d.code, 0, d.stderrLines.join('\n'));
    assert.deepEqual(readdirSync(out).sort(), ['diff_0.npy', 'diff_1.npy', 'summary.json']);
    const diffSummary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    assert.deepEqual(diffSummary.files, ['diff_0.npy', 'diff_1.npy']);
    // diff_0 = A − B over the common 3 × 3 prefix, from the maps themselves.
    const A = readNpy(join(a, 'layer_0.npy'));
    const B = readNpy(join(b, 'layer_0.npy'));
    const D = readNpy(join(out, 'diff_0.npy'));
    assert.deepEqual(D.shape, [2, 3, 3]);
    for (let h = 0; h < 2; h++) for (let q = 0; q < 3; q++) for (let k = 0; k < 3; k++) {
      const want = A.data[(h * 4 + q) * 4 + k] - B.data[(h * 3 + q) * 3 + k];
      assert.ok(Math.abs(D.data[(h * 3 + q) * 3 + k] - want) < 1e-7);
    }
    // Without a summary the folder holds no complete capture.
    rmSync(join(b, 'summary.json'));
    const refused = cli(['diff', '--a', a, '--b', b, '--out', join(dir, 'diff2')]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderrLines[0], new RegExp(`${b}: no complete capture \\(no readable summary\\.json\\); run attention-inspector capture --out`));
    // --maps none into a folder of full maps: the earlier maps go, only the statistics stay.
    const c = join(dir, 'cap-c');
    assert.equal(cli(['capture', '--model', join(dir, 'two.onnx'), '--ids', '1,2,3', '--out', c, '--ep', 'cpu']).code, 0);
    assert.equal(cli(['capture', '--model', join(dir, 'two.onnx'), '--ids', '1,2,3', '--out', c, '--ep', 'cpu', '--maps', 'none']).code, 0);
    assert.deepEqual(readdirSync(c).sort(), ['stats.json', 'summary.json', 'tokens.json']);
  });
});
