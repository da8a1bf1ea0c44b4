/**
 * `internals` and `ablate` as a user runs them (a child process): the files the contract names,
 * with the shapes it names, and one stderr line for every bad input. Also the host's validation
 * of the panel's internals messages.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseWebviewMessage } from '../../protocol/webview';
import { readNpy } from '../../server/capture/npy';

const ROOT = join(__dirname, '..', '..');
const SAMPLE = join(ROOT, 'samples', 'tiny-gpt');

function cli(args: string[]): { code: number; stdout: string; stderrLines: string[] } {
  const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', join(ROOT, 'server', 'cli.ts'), ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ATTENTION_INSPECTOR_DEBUG: '' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderrLines: r.stderr.split('\n').filter((l) => l.length > 0 && !l.startsWith('npm warn')) };
}

describe('CLI internals and ablate', function () {
  this.timeout(60000);
  let out: string;
  before(() => (out = mkdtempSync(join(tmpdir(), 'internals-cli-'))));
  after(() => rmSync(out, { recursive: true, force: true }));

  it('internals writes q.npy, k.npy, value_norms.npy and internals.json, and nothing half-written', () => {
    const dir = join(out, 'int');
    const r = cli(['internals', '--model', SAMPLE, '--text', 'the cat sat on the mat', '--layer', '1', '--out', dir, '--ep', 'cpu']);
    assert.equal(r.code, 0, r.stderrLines.join('\n'));
    const meta = JSON.parse(readFileSync(join(dir, 'internals.json'), 'utf8'));
    assert.deepEqual(Object.keys(meta).slice(0, 4), ['layer', 'heads', 'dHead', 'scale']);
    assert.equal(meta.layer, 1);
    const n = meta.n;
    assert.deepEqual(readNpy(join(dir, 'q.npy')).shape, [meta.heads, n, meta.dHead]);
    assert.deepEqual(readNpy(join(dir, 'k.npy')).shape, [meta.heads, n, meta.dHead]);
    assert.deepEqual(readNpy(join(dir, 'value_norms.npy')).shape, [meta.heads, n, n]);
    assert.deepEqual(readdirSync(dir).sort(), ['internals.json', 'k.npy', 'q.npy', 'summary.json', 'value_norms.npy']);
  });

  it('ablate writes ablation.json with one array per layer, in nats', () => {
    const dir = join(out, 'abl');
    const r = cli(['ablate', '--model', SAMPLE, '--ids', '2,5,9,12,5,9', '--out', dir, '--ep', 'cpu']);
    assert.equal(r.code, 0, r.stderrLines.join('\n'));
    const a = JSON.parse(readFileSync(join(dir, 'ablation.json'), 'utf8'));
    assert.equal(a.position, 5);
    assert.equal(a.unit, 'nats');
    assert.deepEqual(a.layers.map((l: number[]) => l.length), [4, 4]);
  });

  it('bad input ends with one line naming the value and the fix', () => {
    const cases: [string[], RegExp, number][] = [
      [['internals', '--model', SAMPLE, '--text', 'the cat', '--out', join(out, 'x')], /--layer L is required/, 2],
      [['internals', '--model', SAMPLE, '--text', 'the cat', '--layer', '7', '--out', join(out, 'x'), '--ep', 'cpu'], /layer 7 is out of range \(the model has 2 attention layers, 0-1\)/, 1],
      [['internals', '--model', SAMPLE, '--text', 'the cat', '--layer', '-1', '--out', join(out, 'x')], /--layer needs a non-negative integer/, 2],
      [['ablate', '--model', join(out, 'missing'), '--text', 'a', '--out', join(out, 'x')], /missing: no such file or folder; check --model/, 1],
      [['ablate', '--model', SAMPLE, '--text', 'a', '--ids', '1', '--out', join(out, 'x')], /give exactly one of --text, --text-file, --ids/, 2],
      [['ablate', '--model', SAMPLE, '--text', 'a', '--rerun', 'half', '--out', join(out, 'x')], /--rerun must be one of auto, from-layer, whole, got "half"/, 2],
    ];
    for (const [args, want, code] of cases) {
      const r = cli(args);
      assert.equal(r.code, code, `${args.join(' ')}: exit ${r.code}`);
      assert.equal(r.stderrLines.length, 1, r.stderrLines.join('\n'));
      assert.match(r.stderrLines[0], want);
    }
    assert.equal(existsSync(join(out, 'x')), false, 'no output folder for a refused run');
  });

  it('the host accepts well-formed internals messages from the panel and nothing else', () => {
    const ok = [
      { type: 'requestInternals', requestId: 1000000, captureId: 'c1-ab', layers: [0, 3], qk: true },
      { type: 'requestCorpus', requestId: 1000001, captureId: 'c1-ab', layer: 2, heads: [1] },
      { type: 'requestCorpus', requestId: 1000001, captureId: 'c1-ab', layer: 2 },
      { type: 'requestAblation', requestId: 1000002, captureId: 'c1-ab' },
    ];
    for (const m of ok) assert.deepEqual(parseWebviewMessage(m), m);
    const bad = [
      { type: 'requestInternals', requestId: 1, captureId: '../x', layers: [0], qk: true },
      { type: 'requestInternals', requestId: 1, captureId: 'c1', layers: [], qk: true },
      { type: 'requestInternals', requestId: 1, captureId: 'c1', layers: [-1], qk: true },
      { type: 'requestCorpus', requestId: 1, captureId: 'c1', layer: 1.5 },
      { type: 'requestCorpus', requestId: 1, captureId: 'c1', layer: 1, heads: 'all' },
      { type: 'requestAblation', requestId: -1, captureId: 'c1' },
    ];
    for (const m of bad) assert.equal(parseWebviewMessage(m), undefined, JSON.stringify(m));
  });
});
