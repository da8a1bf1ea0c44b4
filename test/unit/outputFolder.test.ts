/**
 * Output folders that never look complete when they are not: files appear whole or not at all,
 * summary.json comes last and lists the run's files, an earlier run's leftovers go, a planted
 * link is replaced rather than written through, and a bad --out fails before any work.
 * Disk-full and read-only cases run on a real small tmpfs (test/helpers/smallDisk.ts).
 */
import { strict as assert } from 'node:assert';
import { closeSync, existsSync, lstatSync, openSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpy } from '../../server/capture/npy';
import { UserError } from '../../common/errors';
import { UsageError } from '../../server/cli/args';
import { CAPTURE_FILES } from '../../server/cli/captureRun';
import { captureMapFiles } from '../../server/cli/diff';
import { OutputFolder, summaryFiles } from '../../server/cli/outputFolder';
import { writeChunks, writePartial } from '../../server/files/atomicWrite';
import { pendingExitCleanup } from '../../server/files/exitCleanup';
import { mountSmallDisk, type SmallDisk } from '../helpers/smallDisk';
import { encodeNpy } from '../../common/npy';

const open = (dir: string) => OutputFolder.open(dir, { command: 'capture', owns: CAPTURE_FILES });
const values = (n: number, base = 0) => Float32Array.from({ length: n }, (_, i) => base + i * 0.5);

describe('output folders', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'ai-outdir-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('a second run with fewer layers removes the first run\'s extra layers; summary lists exactly its files', () => {
    const out = join(root, 'cap');
    const first = open(out);
    for (let i = 0; i < 3; i++) first.writeNpy(`layer_${i}.npy`, values(8, i), [2, 2, 2]);
    first.writeJson('tokens.json', { tokens: ['a'] });
    first.finish({ run: 1 });
    assert.deepEqual(summaryFiles(out), ['layer_0.npy', 'layer_1.npy', 'layer_2.npy', 'tokens.json']);
    writeFileSync(join(out, 'notes.txt'), 'the user\'s own file');

    const second = open(out);
    for (let i = 0; i < 2; i++) second.writeNpy(`layer_${i}.npy`, values(8, 10 + i), [2, 2, 2]);
    second.writeJson('tokens.json', { tokens: ['b'] });
    const stale = second.finish({ run: 2 });
    assert.deepEqual(stale, ['layer_2.npy']);
    assert.deepEqual(readdirSync(out).sort(), ['layer_0.npy', 'layer_1.npy', 'notes.txt', 'summary.json', 'tokens.json']);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    assert.equal(summary.run, 2);
    assert.deepEqual(summary.files, ['layer_0.npy', 'layer_1.npy', 'tokens.json']);
    assert.deepEqual(Array.from(readNpy(join(out, 'layer_1.npy')).data), Array.from(values(8, 11)));
    assert.deepEqual(captureMapFiles(out), ['layer_0.npy', 'layer_1.npy']);
  });

  it('a run that fails after its first file leaves a folder that reads as incomplete, and no partial file', () => {
    const out = join(root, 'cap');
    const first = open(out);
    first.writeNpy('layer_0.npy', values(8), [2, 2, 2]);
    first.finish({});
    const before = pendingExitCleanup().length;
    const second = open(out);
    second.writeNpy('layer_0.npy', values(8, 1), [2, 2, 2]);
    // The second file fails half-way (a chunk source that throws, as a failing write would).
    function* failing(): Generator<Uint8Array> {
      yield new Uint8Array(100);
      throw Object.assign(new Error('write failed'), { code: 'ENOSPC' });
    }
    assert.throws(() => writePartial(second.path('layer_1.npy'), failing()), (e: unknown) => e instanceof UserError && /layer_1\.npy: cannot write: no space left/.test(e.message));
    assert.deepEqual(readdirSync(out).sort(), ['layer_0.npy'], 'no summary, no partial, no layer_1');
    assert.equal(pendingExitCleanup().length, before, 'nothing left registered for exit cleanup');
    assert.throws(() => captureMapFiles(out), /no complete capture \(no readable summary\.json\)/);
  });

  it('an earlier run stays whole until the new run commits its first file', () => {
    const out = join(root, 'cap');
    const first = open(out);
    first.writeNpy('layer_0.npy', values(8), [2, 2, 2]);
    first.finish({});
    open(out); // a run that fails before writing anything (a bad model, say)
    assert.deepEqual(captureMapFiles(out), ['layer_0.npy']);
  });

  it('summary.json planted as a symbolic link is replaced, its target untouched', () => {
    const out = join(root, 'cap');
    const victim = join(root, 'victim.txt');
    writeFileSync(victim, 'precious');
    const folder = open(out);
    symlinkSync(victim, join(out, 'summary.json'));
    symlinkSync(victim, join(out, 'layer_0.npy'));
    assert.equal(summaryFiles(out), undefined, 'a link is never read through');
    folder.writeNpy('layer_0.npy', values(8), [2, 2, 2]);
    folder.finish({});
    assert.equal(readFileSync(victim, 'utf8'), 'precious');
    assert.ok(lstatSync(join(out, 'summary.json')).isFile());
    assert.ok(lstatSync(join(out, 'layer_0.npy')).isFile());
  });

  it('--out that is a file, empty, or below a file is refused before any work, in one line', () => {
    const file = join(root, 'a-file');
    writeFileSync(file, 'x');
    assert.throws(() => open(file), (e: unknown) => e instanceof UserError && e.message === `${file}: is a file, not a folder; give --out a folder path (it is created if missing)`);
    assert.throws(() => open(''), (e: unknown) => e instanceof UsageError && /--out needs a folder path/.test(e.message));
    assert.throws(() => open(join(file, 'sub')), (e: unknown) => e instanceof UserError && /a-file\/sub: cannot write: a part of the path is a file/.test(e.message) && !e.message.includes('\n'));
  });

  it('.npy files are written in pieces: with 7-byte pieces the bytes still equal encodeNpy', () => {
    const data = values(1000, -3);
    const target = join(root, 'm.npy');
    const temp = writePartial(target, [encodeNpy(data, [10, 100])], 7);
    assert.deepEqual(readFileSync(temp), encodeNpy(data, [10, 100]));
    const fd = openSync(join(root, 'piece-check'), 'w');
    assert.equal(writeChunks(fd, [new Uint8Array(10), encodeNpy(data, [1000])], 64), 10 + encodeNpy(data, [1000]).length);
    closeSync(fd);
    assert.deepEqual(readNpy(temp).shape, [10, 100]);
    rmSync(temp);
  });

  it('a truncated .npy is refused by readNpy, never read as a shorter array', () => {
    const file = join(root, 't.npy');
    const full = encodeNpy(values(64), [4, 4, 4]);
    writeFileSync(file, full.subarray(0, full.length - 4));
    assert.throws(() => readNpy(file), /t\.npy: truncated \(252 data bytes for 64 float32 values\)/);
    // A damaged header's bytes are quoted, so the message stays one line (found by the fuzz).
    writeFileSync(file, Buffer.from(full.toString('latin1').replace('(4, 4, 4)', '(4,\n4x, 4)'), 'latin1'));
    assert.throws(() => readNpy(file), (e: unknown) => e instanceof UserError && e.message === `${file}: bad shape "4,\\n4x, 4" in the .npy header`);
  });

  describe('on a real small disk', function () {
    let disk: SmallDisk | undefined;
    before(function () {
      disk = mountSmallDisk(256);
      if (!disk) this.skip();
    });
    after(() => disk?.unmount());

    it('a full disk fails with one line, leaves no partial file, and the space comes back', () => {
      const out = join(disk!.dir, 'cap');
      const folder = open(out);
      assert.throws(() => folder.writeNpy('layer_0.npy', values(128 * 1024), [1, 128, 1024]), (e: unknown) => e instanceof UserError && /layer_0\.npy: cannot write: no space left on the device/.test(e.message));
      assert.deepEqual(readdirSync(out), []);
      // The space is free again: a file of most of the disk fits.
      folder.writeNpy('layer_0.npy', values(40 * 1024), [1, 40, 1024]);
      folder.finish({});
      assert.deepEqual(summaryFiles(out), ['layer_0.npy']);
    });

    it('a read-only target is refused at open, in one line', () => {
      disk!.readOnly();
      const fresh = join(disk!.dir, 'fresh');
      assert.throws(() => open(fresh), (e: unknown) => e instanceof UserError && e.message === `${fresh}: cannot write: the file system is read-only; write to another folder (--out)`);
      // An existing folder on it: the same line, naming the folder.
      const cap = join(disk!.dir, 'cap');
      assert.throws(() => open(cap), (e: unknown) => e instanceof UserError && e.message === `${cap}: cannot write: the file system is read-only; write to another folder (--out)`);
      assert.ok(!existsSync(fresh));
    });
  });
});
