/**
 * Files in places others can write to: the hardware-profile cache lives in the per-user cache
 * folder and neither reads nor writes through a planted link; partial files of killed writers
 * are swept, a live writer's are not; and memory checks name the length that does not fit and
 * the largest one that does, from the variants' own memory formulas.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../common/errors';
import { checkMeasureSizes, checkSweepSizes } from '../../common/requestSizes';
import { localHardwareProfile } from '../../server/efficiency/localProbe';
import { sweepPartialFiles } from '../../server/files/atomicWrite';
import { privateFolderProblem, readCacheFile, userCacheDir } from '../../server/files/userCache';
import { checkLengthsPlausible, checkRunsFit, flagSubject, largestFitting, variantRunBytes } from '../../server/variants/memoryNeed';

const CACHE_FILE = 'attention-inspector-hardware.json';

describe('temp and cache files', function () {
  this.timeout(60000);
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'ai-tempfiles-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('the cache folder is per user: XDG_CACHE_HOME when absolute, ~/.cache otherwise; ~/Library/Caches, %LOCALAPPDATA%', () => {
    assert.equal(userCacheDir({ XDG_CACHE_HOME: '/x/cache' }, 'linux'), '/x/cache/attention-inspector');
    assert.equal(userCacheDir({ XDG_CACHE_HOME: 'relative' }, 'linux'), join(homedir(), '.cache', 'attention-inspector'));
    assert.equal(userCacheDir({}, 'darwin'), join(homedir(), 'Library', 'Caches', 'attention-inspector'));
    assert.equal(userCacheDir({ LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'win32'), join('C:\\Users\\u\\AppData\\Local', 'attention-inspector', 'Cache'));
    assert.ok(!userCacheDir().startsWith(`${tmpdir()}/attention-inspector`), 'not the machine-wide temp folder');
  });

  it('a cache file planted as a link is neither followed on write nor read through', async () => {
    const cache = join(root, 'cache');
    mkdirSync(cache);
    const victim = join(root, 'victim.json');
    writeFileSync(victim, 'do not overwrite');
    symlinkSync(victim, join(cache, CACHE_FILE));
    const profile = await localHardwareProfile({ cacheDir: cache, size: 64 });
    assert.equal(readFileSync(victim, 'utf8'), 'do not overwrite');
    assert.ok(lstatSync(join(cache, CACHE_FILE)).isFile(), 'the link was replaced by our own file');
    assert.equal(JSON.parse(readFileSync(join(cache, CACHE_FILE), 'utf8')).probe.measuredAt, profile.probe.measuredAt);
    // Read back from the cache (same measuredAt), not measured again.
    assert.equal((await localHardwareProfile({ cacheDir: cache, size: 64 })).probe.measuredAt, profile.probe.measuredAt);

    // A link to a file that would match is not read either.
    const other = join(root, 'cache2');
    mkdirSync(other);
    const planted = join(root, 'planted.json');
    writeFileSync(planted, JSON.stringify({ ...profile, name: 'planted' }));
    symlinkSync(planted, join(other, CACHE_FILE));
    assert.equal(readCacheFile(other, CACHE_FILE), undefined);
    assert.notEqual((await localHardwareProfile({ cacheDir: other, size: 64 })).name, 'planted');
  });

  it('a cache folder that is a link is not used at all', async () => {
    const victimDir = join(root, 'victim-dir');
    mkdirSync(victimDir);
    const link = join(root, 'cache-link');
    symlinkSync(victimDir, link);
    assert.match(privateFolderProblem(link) ?? '', /is a symbolic link/);
    const profile = await localHardwareProfile({ cacheDir: link, size: 64 });
    assert.ok(profile.peakFlops.fp32 > 0);
    assert.deepEqual(readdirSync(victimDir), []);
  });

  it('partial files of a writer that is gone are swept; a running writer\'s stay', () => {
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid;
    const dead = `.layer_0.npy.partial-${deadPid}-0123abcd`;
    const live = `.layer_1.npy.partial-${process.pid}-89abcdef`;
    const user = '.my-notes.partial';
    for (const f of [dead, live, user]) writeFileSync(join(root, f), 'x');
    assert.deepEqual(sweepPartialFiles(root), [dead]);
    assert.ok(!existsSync(join(root, dead)) && existsSync(join(root, live)) && existsSync(join(root, user)));
  });
});

describe('memory needed by variant runs, checked before work', () => {
  // exact keeps scores and probabilities: 4·h·(2n² + n·d) bytes (server/variants/exact.ts).
  const exactBytes = (n: number, h: number, d: number) => 4 * h * (2 * n * n + n * d);

  it('is the largest variant\'s intermediates plus Q, K, V, output and the two maps kept', () => {
    const n = 1000;
    const h = 4;
    const d = 16;
    const need = variantRunBytes(['exact', 'flash', 'linear'], n, { heads: h, d, maps: true });
    assert.equal(need.variant, 'exact');
    assert.equal(need.bytes, exactBytes(n, h, d) + 4 * 4 * h * n * d + 2 * 4 * h * n * n);
    const rerun = variantRunBytes(['exact'], n, { heads: h, d, maps: false, rerun: true });
    assert.equal(rerun.bytes, 2 * exactBytes(n, h, d) + 4 * 4 * h * n * d);
  });

  it('refuses the first length over the limit, naming it and the largest that fits', () => {
    const shape = () => ({ heads: 4, d: 16, maps: false });
    const need = (n: number) => variantRunBytes(['exact'], n, shape()).bytes;
    checkRunsFit([500, 1000], ['exact'], shape, {}, flagSubject('--seq-lengths'), need(1000));
    assert.throws(
      () => checkRunsFit([500, 1000], ['exact'], shape, {}, flagSubject('--seq-lengths'), need(1000) - 1),
      (e: unknown) => e instanceof UserError && e.message.startsWith('--seq-lengths 1000 needs 0.0 GiB (exact on 4 heads × 1000 tokens, head dim 16)') && e.message.endsWith('use --seq-lengths 999 or less'),
    );
    assert.equal(largestFitting(need, need(777), 5000), 777);
    assert.equal(largestFitting(need, 0, 5000), 0);
  });

  it('a length no machine could hold is refused without a model; 1e300 does not overflow into a pass', () => {
    for (const n of [1e8, 1e300, Infinity]) {
      assert.throws(() => checkLengthsPlausible([n], flagSubject('--seq-lengths'), 64 * 2 ** 30), /attention scores of a single head\), more than the 64\.0 GiB/);
    }
    checkLengthsPlausible([4096], flagSubject('--seq-lengths'), 64 * 2 ** 30);
  });

  it('efficiency request sizes: lists, counts and integers', () => {
    checkSweepSizes({ seqs: [128, 256], tableSeq: 4096, batch: 2 });
    checkMeasureSizes({ seqs: [128, 256], maxHeads: 8, variants: ['exact'] });
    const bad: [() => void, RegExp][] = [
      [() => checkSweepSizes({ seqs: Array(257).fill(1) }), /give 1 to 256 sequence lengths \(got 257\)/],
      [() => checkSweepSizes({ seqs: [] }), /give 1 to 256 sequence lengths \(got 0\)/],
      [() => checkSweepSizes({ seqs: 'many' }), /got string/],
      [() => checkSweepSizes({ seqs: [128, -1] }), /sequence length -1 is not an integer/],
      [() => checkSweepSizes({ tableSeq: 2 ** 40 }), /table length 1099511627776 is not an integer from 1 to 2147483648/],
      [() => checkSweepSizes({ batch: 0 }), /batch 0 is not an integer/],
      [() => checkMeasureSizes({ seqs: Array(17).fill(128) }), /give 1 to 16/],
      [() => checkMeasureSizes({ seqs: ['128'] }), /sequence length "128" is not an integer/],
      [() => checkMeasureSizes({ seqs: [128], maxHeads: 1e9 }), /maxHeads 1000000000 is not an integer from 1 to 256/],
      [() => checkMeasureSizes({ seqs: [128], variants: [{}] }), /variants must be a list of variant ids/],
    ];
    for (const [f, re] of bad) assert.throws(f, (e: unknown) => e instanceof UserError && re.test(e.message));
  });
});
