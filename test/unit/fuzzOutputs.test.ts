/**
 * Fuzz of what surrounds the loaders: long command lines, writes that fail at a seeded byte,
 * truncated and mutated .npy files, and writers killed with SIGKILL mid-write. Every case must
 * end in a correct result or a one-line UserError naming the file, and no interrupted write may
 * leave a file under its real name. FUZZ_SEED=<n> replays another run; FUZZ_SCALE=<k> multiplies
 * the counts (test/helpers/fuzz.ts).
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpy } from '../../server/capture/npy';
import { UserError } from '../../common/errors';
import { UsageError } from '../../server/cli/args';
import { CAPTURE_FILES } from '../../server/cli/captureRun';
import { captureMapFiles } from '../../server/cli/diff';
import { parseIdList } from '../../server/cli/inputFiles';
import { OutputFolder, summaryFiles } from '../../server/cli/outputFolder';
import { commitPartial, writePartial } from '../../server/files/atomicWrite';
import { pendingExitCleanup } from '../../server/files/exitCleanup';
import { hfStyleGraph, referenceProbabilities } from '../helpers/attentionGraphs';
import { cli, wordPieceTokenizer } from '../helpers/cliRun';
import { checkOutcomes, fuzz, fuzzSeed, int, mutateBytes, pickOne, scaled, seeded } from '../helpers/fuzz';
import { encodeNpy, npyChunks } from '../../common/npy';

const SEED = fuzzSeed(20261203);
const WORDS = ['[PAD]', '[UNK]', 'the', 'cat', 'sat', 'on', 'mat', 'a', 'dog', 'ran'];

describe('fuzz: long command lines and interrupted writes', function () {
  this.timeout(180_000);
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'fuzz-out-'));
    console.log(`      fuzz seed ${SEED} (FUZZ_SEED to replay)`);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('command lines of 20 to 120 kB (--text padded with whitespace, --ids padded with zeros) capture the right tokens', () => {
    const r = seeded(SEED);
    const t = hfStyleGraph({ layers: 1, heads: 2, headDim: 4, vocab: WORDS.length, seed: 8 });
    const model = join(root, 'model');
    mkdirSync(model);
    writeFileSync(join(model, 'model.onnx'), t.bytes);
    writeFileSync(join(model, 'tokenizer.json'), JSON.stringify(wordPieceTokenizer(WORDS)));
    const runs = scaled(4);
    for (let i = 0; i < runs; i++) {
      const bytes = 20_000 + int(r, 100_000);
      const ids = Array.from({ length: 2 + int(r, 4) }, () => 2 + int(r, WORDS.length - 2));
      const asText = i % 2 === 0;
      const arg = asText
        ? ids.map((id) => WORDS[id]).join(pickOne(r, [' ', '\t', '\n', ' \n ']).repeat(Math.ceil(bytes / ids.length / 2)))
        : ids.map((id) => `${'0'.repeat(Math.ceil(bytes / ids.length))}${id}`).join(',');
      const out = join(root, `long-${i}`);
      const run = cli(['capture', '--model', asText ? model : join(model, 'model.onnx'), asText ? '--text' : '--ids', arg, '--out', out, '--ep', 'cpu']);
      assert.equal(run.signal, null, `#${i}: ${arg.length}-byte ${asText ? '--text' : '--ids'} killed the CLI by ${run.signal}`);
      assert.equal(run.code, 0, `#${i}: ${run.stderrLines.join('\n')}`);
      assert.deepEqual(JSON.parse(readFileSync(join(out, 'tokens.json'), 'utf8')).ids, ids, `#${i}`);
      const ref = referenceProbabilities(t, ids)[0];
      const got = readNpy(join(out, 'layer_0.npy')).data;
      ref.forEach((v, k) => assert.ok(Math.abs(got[k] - v) < 1e-5, `#${i} cell ${k}`));
    }
    console.log(`      long command lines: ${runs} runs of 20-120 kB, ${runs} captured, 0 crashes`);
  });

  it('id lists: parseIdList returns exactly the integers given or a one-line UsageError, never anything else', () => {
    const r = seeded(SEED + 1);
    const pieces = ['1', '17', '007', '-3', '1.5', 'x', '', ' ', ',', '\n', '\t', '1e3', '0x1f', '9007199254740993', '٣', '\u0000', ',,'];
    let ok = 0;
    let refused = 0;
    const total = scaled(5000);
    for (let i = 0; i < total; i++) {
      const text = Array.from({ length: int(r, 12) }, () => pickOne(r, pieces)).join(pickOne(r, [',', ' ', '']));
      try {
        const ids = parseIdList(text, '--ids');
        const expected = text.split(/[\s,]+/).filter((s) => s).map(Number);
        assert.deepEqual(ids, expected, JSON.stringify(text));
        assert.ok(ids.length > 0 && ids.every((x) => Number.isSafeInteger(x) && x >= 0));
        ok++;
      } catch (e) {
        assert.ok(e instanceof UsageError, `${JSON.stringify(text)}: ${e}`);
        assert.ok(!e.message.includes('\n') && e.message.startsWith('--ids needs'), e.message);
        refused++;
      }
    }
    console.log(`      id lists: ${total} tried, ${ok} parsed, ${refused} usage errors, 0 crashes`);
    assert.ok(ok > 0 && refused > 0);
  });

  it('writes that fail at a seeded byte leave the previous file or nothing, and no partial file', async () => {
    const r = seeded(SEED + 2);
    const dir = join(root, 'writes');
    mkdirSync(dir);
    const target = join(dir, 'layer_0.npy');
    let previous: Buffer | undefined;
    let bytes: Uint8Array[] = [];
    let failAt = 0;
    const pending = pendingExitCleanup().length;
    const c = await fuzz(scaled(300), target, () => {
      rmSync(target, { force: true });
      previous = undefined;
      if (r() < 0.5) {
        previous = encodeNpy(Float32Array.of(int(r, 100)), [1]);
        writeFileSync(target, previous);
      }
      const count = 1 + int(r, 5000);
      bytes = npyChunks(Float32Array.from({ length: count }, () => r()), [count]);
      const total = bytes.reduce((a, b) => a + b.length, 0);
      failAt = r() < 0.1 ? total + 1 : int(r, total + 1);
    }, () => {
      const code = pickOne(r, ['ENOSPC', 'EIO', 'EDQUOT', 'EFBIG']);
      function* failing(): Generator<Uint8Array> {
        const all = Buffer.concat(bytes);
        if (failAt > all.length) return yield all;
        yield all.subarray(0, failAt);
        throw Object.assign(new Error(`${code}: simulated`), { code });
      }
      try {
        commitPartial(writePartial(target, failing(), 1 + int(r, 4096)), target);
        assert.deepEqual(readFileSync(target), Buffer.concat(bytes));
      } finally {
        assert.deepEqual(readdirSync(dir).filter((f) => f !== 'layer_0.npy'), [], 'a partial file was left');
        if (existsSync(target) && failAt <= Buffer.concat(bytes).length) assert.deepEqual(readFileSync(target), previous, 'the previous file changed');
        if (!previous && failAt <= Buffer.concat(bytes).length) assert.ok(!existsSync(target), 'a file appeared under the real name');
        assert.equal(pendingExitCleanup().length, pending, 'exit cleanup still holds a path');
      }
    });
    checkOutcomes('interrupted writes', c);
  });

  it('truncated and mutated .npy files: readNpy returns the array or refuses in one line naming the file', async () => {
    const r = seeded(SEED + 3);
    const file = join(root, 'mutated.npy');
    const good = encodeNpy(Float32Array.from({ length: 2 * 5 * 7 }, (_, i) => i / 7), [2, 5, 7]);
    let truncatedOnly = false;
    let cut = 0;
    const c = await fuzz(scaled(600), file, (i) => {
      truncatedOnly = i % 3 === 0;
      cut = int(r, good.length);
      writeFileSync(file, truncatedOnly ? good.subarray(0, cut) : mutateBytes(r, good));
    }, () => {
      const { data, shape } = readNpy(file);
      assert.ok(!truncatedOnly, `a ${cut}-byte prefix of a ${good.length}-byte file was read as [${shape}]`);
      assert.equal(data.length, shape.reduce((a, b) => a * b, 1));
    });
    checkOutcomes('.npy reads', c);
  });

  it('writers killed with SIGKILL mid-write leave no file under a real name, and the next open sweeps the partial', async () => {
    const r = seeded(SEED + 4);
    const runs = scaled(3);
    const helper = join(__dirname, '..', 'helpers', 'writeAndHang.ts');
    for (let i = 0; i < runs; i++) {
      const out = join(root, `killed-${i}`);
      // A complete earlier capture of 4 layers in the folder.
      const earlier = OutputFolder.open(out, { command: 'capture', owns: CAPTURE_FILES });
      for (let l = 0; l < 4; l++) earlier.writeNpy(`layer_${l}.npy`, Float32Array.of(100 + l), [1]);
      earlier.finish({});
      const layers = 1 + int(r, 3);
      const total = encodeNpy(new Float32Array(2 * 64 * 64), [2, 64, 64]).length;
      const cut = int(r, total);
      const child = spawn(process.execPath, ['--require', 'tsx/cjs', helper, out, String(layers), String(cut)], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('mid') && resolve());
        child.once('exit', (code) => reject(new Error(`writer ended before the cut (code ${code})`)));
      });
      const ended = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await ended;
      const names = readdirSync(out);
      const partials = names.filter((f) => f.startsWith(`.layer_${layers - 1}.npy.partial-${child.pid}-`));
      assert.equal(partials.length, 1, `#${i}: ${names}`);
      if (layers === 1) {
        // Nothing was committed: the earlier capture is still whole and still listed.
        assert.deepEqual(captureMapFiles(out), ['layer_0.npy', 'layer_1.npy', 'layer_2.npy', 'layer_3.npy']);
        assert.deepEqual(Array.from(readNpy(join(out, 'layer_0.npy')).data), [100]);
      } else {
        assert.equal(summaryFiles(out), undefined, `#${i}: a summary survived the new run's first commit`);
        assert.throws(() => captureMapFiles(out), /no complete capture/);
        for (let l = 0; l < layers - 1; l++) assert.deepEqual(readNpy(join(out, `layer_${l}.npy`)).shape, [2, 64, 64]);
      }
      OutputFolder.open(out, { command: 'capture', owns: CAPTURE_FILES });
      assert.deepEqual(readdirSync(out).filter((f) => f.includes('.partial-')), [], `#${i}: the partial was not swept`);
    }
    console.log(`      SIGKILL mid-write: ${runs} writers killed at seeded bytes, 0 files under a real name, ${runs} partials swept`);
  });

  it('a UserError from a failed write is one line that names the file', () => {
    const dir = join(root, 'gone');
    assert.throws(() => writePartial(join(dir, 'x.npy'), [new Uint8Array(4)]), (e: unknown) => e instanceof UserError && e.message === `${join(dir, 'x.npy')}: cannot write: the folder disappeared while writing; check the path`);
  });
});
