/**
 * The malloc settings model-running processes start with (common/mallocTunables.ts): how they
 * join a user's own GLIBC_TUNABLES, and the CLI starting itself again with them, as a user runs
 * it (dist/cli.js): the summary records what the capture ran under, exit codes and stdin pass
 * through, and killing the launcher with SIGKILL ends the process that runs the model.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MALLOC_VARIABLE, HUGE_PAGES_TUNABLE, withHugePages } from '../../common/mallocTunables';
import { relaunchEnv } from '../../server/cli/relaunch';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const MODEL = join(ROOT, 'samples', 'tiny-gpt');

/** The environment without anything that chooses malloc settings. */
function bareEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ATTENTION_INSPECTOR_DEBUG: '', ...extra };
  if (!('GLIBC_TUNABLES' in extra)) delete env.GLIBC_TUNABLES;
  if (!(DEFAULT_MALLOC_VARIABLE in extra)) delete env[DEFAULT_MALLOC_VARIABLE];
  return env;
}

/** The child processes of `pid` whose command line holds `word` (Linux /proc; tsx has children of its own). */
function childrenOf(pid: number, word: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        // Field 4 of /proc/<pid>/stat is the parent pid; the command name (field 2) may hold spaces.
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid && readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(word);
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function until(what: string, test: () => boolean, deadlineMs = 60_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!test()) {
    if (Date.now() > end) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('malloc settings of the processes that run models', () => {
  it('adds huge pages on Linux, after any tunables the user set, and leaves a user choice, an opt-out and other systems alone', () => {
    const none = {};
    assert.equal(withHugePages(none, 'linux').GLIBC_TUNABLES, HUGE_PAGES_TUNABLE);
    assert.equal(Object.hasOwn(none, 'GLIBC_TUNABLES'), false, 'the given environment is not modified');
    assert.equal(withHugePages({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, 'linux').GLIBC_TUNABLES, `glibc.malloc.arena_max=2:${HUGE_PAGES_TUNABLE}`);
    for (const own of [{ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }, { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=2' }, { [DEFAULT_MALLOC_VARIABLE]: '1' }]) {
      assert.equal(withHugePages(own, 'linux'), own, JSON.stringify(own));
    }
    // A tunable whose name merely ends the same way is not the user's choice of this one.
    assert.equal(withHugePages({ GLIBC_TUNABLES: 'x.glibc.malloc.hugetlb=0' }, 'linux').GLIBC_TUNABLES, `x.glibc.malloc.hugetlb=0:${HUGE_PAGES_TUNABLE}`);
    for (const platform of ['darwin', 'win32'] as const) assert.equal(withHugePages(none, platform), none);
  });

  it('the CLI starts again only when the setting is missing, and not under a debugger', function () {
    if (process.platform !== 'linux') return this.skip();
    assert.equal(relaunchEnv({}, [])?.GLIBC_TUNABLES, HUGE_PAGES_TUNABLE);
    assert.equal(relaunchEnv({ GLIBC_TUNABLES: HUGE_PAGES_TUNABLE }, []), undefined);
    // The debugger is attached to the first process: the command runs there.
    assert.equal(relaunchEnv({}, ['--inspect-brk=9230']), undefined);
    assert.equal(relaunchEnv({}, ['--inspect']), undefined);
  });

  describe('the CLI (dist/cli.js)', function () {
    if (process.platform !== 'linux') return;
    const out = mkdtempSync(join(tmpdir(), 'attn-malloc-'));
    after(() => rmSync(out, { recursive: true, force: true }));
    const summary = (dir: string) => JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as { glibcTunables: string | null; tokens: number };

    it('runs the capture under huge pages, appended to the user\'s tunables, or as it is when opted out; stdin and exit codes pass through', () => {
      const cases: [Record<string, string>, string | null][] = [
        [{}, HUGE_PAGES_TUNABLE],
        [{ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, `glibc.malloc.arena_max=2:${HUGE_PAGES_TUNABLE}`],
        [{ [DEFAULT_MALLOC_VARIABLE]: '1' }, null],
      ];
      for (const [i, [extra, want]] of cases.entries()) {
        const dir = join(out, `c${i}`);
        const r = spawnSync(process.execPath, [CLI, 'capture', '--model', MODEL, '--text-file', '-', '--out', dir], { env: bareEnv(extra), input: 'the cat sat on the mat', encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`-> ${dir}`));
        assert.equal(summary(dir).glibcTunables, want, JSON.stringify(extra));
        assert.ok(summary(dir).tokens > 1, 'the text came through stdin');
      }
      const bad = spawnSync(process.execPath, [CLI, 'no-such-command'], { env: bareEnv(), encoding: 'utf8' });
      assert.equal(bad.status, 2);
      assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    });

    it('ends the process running the command when the launcher is killed with SIGKILL', async () => {
      // The relaunch of dist/cli.js, in a command whose second process would wait for ever.
      const probe = join(ROOT, 'test', 'helpers', 'relaunchProbe.ts');
      const launcher = spawn(process.execPath, ['--require', 'tsx/cjs', probe], { env: bareEnv(), stdio: 'ignore' });
      let worker = 0;
      await until('the probe starts again', () => (worker = childrenOf(launcher.pid!, 'relaunchProbe')[0] ?? 0) > 0);
      const gone = new Promise((r) => launcher.once('exit', r));
      launcher.kill('SIGKILL');
      await gone;
      await until(`process ${worker} ends`, () => !existsSync(`/proc/${worker}`) || readFileSync(`/proc/${worker}/stat`, 'utf8').includes(') Z '));
    });
  });
});
