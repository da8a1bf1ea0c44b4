/**
 * The heads and kv commands as a user runs them (a child process): the output files' exact
 * fields, the probe's seed and BOS in tokens.json, figures that follow from their definitions
 * (a budget above the text keeps everything and saves nothing), and one stderr line, exit
 * code 2, for every bad argument.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkSimulationSize } from '../../server/serving/kvSimulation';
import { torchStyleGraph } from '../helpers/attentionGraphs';

const ROOT = join(__dirname, '..', '..');
const TINY = join(ROOT, 'samples', 'tiny-gpt');

function cli(args: string[]): { code: number; stdout: string; stderrLines: string[] } {
  const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', join(ROOT, 'server', 'cli.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ATTENTION_INSPECTOR_DEBUG: '' },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderrLines: r.stderr.split('\n').filter((l) => l.length > 0) };
}

let out: string;
before(() => (out = mkdtempSync(join(tmpdir(), 'cli-serving-'))));
after(() => rmSync(out, { recursive: true, force: true }));

const json = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

describe('CLI: heads and kv', () => {
  it('heads --repeat N --seed S writes heads.json (exact shape) and the probe with its seed and BOS', () => {
    const dir = join(out, 'heads');
    const r = cli(['heads', '--model', TINY, '--repeat', '12', '--seed', '5', '--out', dir]);
    assert.equal(r.code, 0, r.stderrLines.join('\n'));
    assert.match(r.stdout, /seed=5/);
    const heads = json(join(dir, 'heads.json'));
    assert.deepEqual(Object.keys(heads), ['layers']);
    assert.equal(heads.layers.length, 2);
    for (const l of heads.layers) {
      assert.deepEqual(Object.keys(l).sort(), ['duplicateToken', 'induction', 'previousToken', 'sink']);
      for (const v of Object.values(l) as number[][]) assert.equal(v.length, 4);
    }
    const tokens = json(join(dir, 'tokens.json'));
    assert.deepEqual(tokens.probe, { repeat: 12, seed: 5, bos: 2 });
    assert.equal(tokens.ids.length, 25);
    assert.deepEqual(tokens.ids.slice(1, 13), tokens.ids.slice(13));
    assert.ok(heads.layers[1].induction[0] > 0.9, 'L1H0 is the induction head');
  });

  it('heads --repeat on a bare ONNX file (no tokenizer, no config) draws from the embedding rows, without BOS', () => {
    const dir = join(out, 'bare');
    mkdirSync(dir);
    const file = join(dir, 'model.onnx');
    writeFileSync(file, torchStyleGraph({ layers: 1, heads: 2, headDim: 4, vocab: 20, seed: 4 }).bytes);
    const r = cli(['heads', '--model', file, '--repeat', '6', '--seed', '9', '--out', join(out, 'heads-bare')]);
    assert.equal(r.code, 0, r.stderrLines.join('\n'));
    const tokens = json(join(out, 'heads-bare', 'tokens.json'));
    assert.deepEqual(tokens.probe, { repeat: 6, seed: 9, bos: null });
    assert.equal(tokens.ids.length, 12);
    assert.ok(tokens.ids.every((id: number) => id < 20));
  });

  it('heads --ids without repeats writes null for duplicate-token and induction', () => {
    const dir = join(out, 'heads-ids');
    assert.equal(cli(['heads', '--model', TINY, '--ids', '2,10,11,12,13', '--out', dir]).code, 0);
    const heads = json(join(dir, 'heads.json'));
    assert.deepEqual(heads.layers[0].induction, [null, null, null, null]);
    assert.deepEqual(heads.layers[0].duplicateToken, [null, null, null, null]);
  });

  it('kv writes kv.json with exactly the contract fields; StreamingLLM on tiny-gpt loses mass and changes predictions', () => {
    const dir = join(out, 'kv');
    const r = cli(['kv', '--model', TINY, '--text-file', join(ROOT, 'samples', 'texts', 'induction.txt'), '--policy', 'streaming', '--budget', '8', '--sinks', '2', '--out', dir]);
    assert.equal(r.code, 0, r.stderrLines.join('\n'));
    const kv = json(join(dir, 'kv.json'));
    assert.deepEqual(Object.keys(kv), ['policy', 'budget', 'sinks', 'layers', 'nextTokenKL', 'top1Agreement', 'kvBytesSaved']);
    assert.equal(kv.policy, 'streaming');
    assert.equal(kv.budget, 8);
    assert.equal(kv.sinks, 2);
    assert.deepEqual(Object.keys(kv.layers[0]), ['massKept']);
    // Previous-token head L0H0 lives in the window: all its mass is kept.
    assert.ok(Math.abs(kv.layers[0].massKept[0] - 1) < 1e-6);
    // The uniform head L0H3 loses most of its mass on a 69-token text.
    assert.ok(kv.layers[0].massKept[3] < 0.6);
    assert.ok(kv.nextTokenKL > 0 && kv.top1Agreement < 1);
    const n = json(join(dir, 'kv-details.json')).ids.length;
    // tiny-gpt: 2 layers, 4 K/V heads of 119 dims, fp32: 2 * 2 * 4 * 119 * 4 bytes per token.
    assert.equal(kv.kvBytesSaved, (n - 8) * 2 * 2 * 4 * 119 * 4);
  });

  it('kv with a budget above the text keeps everything: mass 1, no positions to score, nothing saved', () => {
    const dir = join(out, 'kv-big');
    assert.equal(cli(['kv', '--model', TINY, '--text', 'the cat sat', '--policy', 'h2o', '--budget', '64', '--out', dir]).code, 0);
    const kv = json(join(dir, 'kv.json'));
    assert.equal(kv.sinks, null);
    assert.ok(kv.layers.every((l: { massKept: number[] }) => l.massKept.every((x) => x === 1)));
    assert.equal(kv.nextTokenKL, null);
    assert.equal(kv.top1Agreement, null);
    assert.equal(kv.kvBytesSaved, 0);
  });

  const bad: [string, string[], RegExp][] = [
    ['budget 0', ['kv', '--model', TINY, '--text', 'a', '--policy', 'tova', '--budget', '0', '--out', 'x'], /--budget must be a whole number of tokens ≥ 1/],
    ['budget not a number', ['kv', '--model', TINY, '--text', 'a', '--policy', 'tova', '--budget', 'ten', '--out', 'x'], /--budget needs a whole number, got "ten"/],
    ['sinks equal to budget', ['kv', '--model', TINY, '--text', 'a', '--policy', 'streaming', '--budget', '4', '--sinks', '4', '--out', 'x'], /--sinks \(4\) must be below --budget \(4\)/],
    ['sinks on h2o', ['kv', '--model', TINY, '--text', 'a', '--policy', 'h2o', '--budget', '4', '--sinks', '1', '--out', 'x'], /--sinks applies to --policy streaming only/],
    ['unknown policy', ['kv', '--model', TINY, '--text', 'a', '--policy', 'lru', '--budget', '4', '--out', 'x'], /--policy must be one of streaming, h2o, snapkv, tova/],
    ['no budget', ['kv', '--model', TINY, '--text', 'a', '--policy', 'tova', '--out', 'x'], /--budget B .* is required/],
    ['text and ids', ['kv', '--model', TINY, '--text', 'a', '--ids', '1', '--policy', 'tova', '--budget', '2', '--out', 'x'], /exactly one of --text/],
    ['seed without repeat', ['heads', '--model', TINY, '--text', 'a', '--seed', '1', '--out', 'x'], /--seed goes with --repeat/],
    ['repeat and text', ['heads', '--model', TINY, '--text', 'a', '--repeat', '3', '--out', 'x'], /not both/],
    ['repeat 0', ['heads', '--model', TINY, '--repeat', '0', '--out', 'x'], /--repeat needs a positive integer/],
    ['negative seed', ['heads', '--model', TINY, '--repeat', '3', '--seed', '-1', '--out', 'x'], /--seed needs a whole number/],
  ];
  for (const [name, args, message] of bad) {
    it(`refuses ${name} with one line and exit code 2, before making the output folder`, () => {
      const refused = join(out, 'refused');
      const r = cli(args.map((a) => (a === 'x' ? refused : a)));
      assert.equal(r.code, 2, r.stderrLines.join('\n'));
      assert.equal(r.stderrLines.length, 1, r.stderrLines.join('\n'));
      assert.match(r.stderrLines[0], message);
      assert.equal(existsSync(refused), false, 'an output folder for a refused command line');
    });
  }

  it('refuses a missing model folder with one line naming it (exit 1)', () => {
    const r = cli(['kv', '--model', join(ROOT, 'samples', 'nonexistent'), '--text', 'a', '--policy', 'tova', '--budget', '2', '--out', join(out, 'none')]);
    assert.equal(r.code, 1);
    assert.equal(r.stderrLines.length, 1);
    assert.match(r.stderrLines[0], /nonexistent: no such file or folder/);
  });
});

describe('CLI: size bounds of the simulations', () => {
  it('a text whose maps exceed the bound is refused before any run, naming the longest text that fits', () => {
    // tiny-gpt: 2 layers x 4 heads = 8 cells per token pair.
    assert.doesNotThrow(() => checkSimulationSize([4, 4], 100, 'm', 8 * 100 * 100));
    assert.throws(() => checkSimulationSize([4, 4], 101, 'm', 8 * 100 * 100), /m: 101 tokens make 8\.16e\+4 attention cells over 2 layers.*use at most 100 tokens/);
  });
});
