/**
 * Config values that would give NaN maps or a silently different model are refused by name,
 * prototype keys ("__proto__", "constructor") are unknown names rather than Object's own
 * members, estimate refuses figures that would overflow, and a config.json with one hostile
 * value (nested 200,000 deep, or a million numbers) still gets its hovers, lenses and
 * diagnostics for the other keys.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { UserError } from '../../common/errors';
import { main as cliMain } from '../../server/cli';
import { UsageError } from '../../server/cli/args';
import { parseEstimateArgs } from '../../server/cli/estimate';
import { configCodeLenses } from '../../server/config/codeLens';
import { configDiagnostics } from '../../server/config/diagnostics';
import { configHover } from '../../server/config/hover';
import { estimate } from '../../server/efficiency/estimate';
import { readModelShape } from '../../server/efficiency/modelShape';
import { normaliseConfig, type HfConfig } from '../../server/hf/config';
import { openHuggingFaceModel } from '../../server/hf/hfModel';
import { inverseFrequencies } from '../../server/hf/rope';
import { gpt2Fixture, llamaFixture } from '../helpers/hfFixtures';
import { writeHfFolder } from '../helpers/writeCheckpoint';

const FILE = '/models/x/config.json';

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof UserError, `not a UserError: ${String(e)}`);
    assert.ok(!e.message.includes('\n'), e.message);
    return e.message;
  }
  assert.fail('accepted');
}

describe('config values that make results NaN or wrong', () => {
  const llama = llamaFixture().config;
  const gpt2 = gpt2Fixture().config;

  it('rope_theta 0 or below is refused by name; the check is needed: unchecked, the rotary frequencies are not finite', () => {
    const ok = normaliseConfig(FILE, llama);
    const unchecked: HfConfig = { ...ok, ropeTheta: 0 };
    assert.ok(Array.from(inverseFrequencies(unchecked)).some((f) => !Number.isFinite(f)), 'rope_theta 0 gives finite frequencies');
    for (const v of [0, -10000, 'NaN', null]) {
      assert.match(refusal(() => normaliseConfig(FILE, { ...llama, rope_theta: v })), /config\.json: "rope_theta" (must be above 0|must be a non-negative number|is null)/);
    }
  });

  it('rope_scaling factors of 0, negative or not numbers are refused by name; llama3 needs high_freq_factor above low_freq_factor', () => {
    const unchecked: HfConfig = { ...normaliseConfig(FILE, llama), ropeScaling: { type: 'linear', factor: 0, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 } };
    assert.ok(Array.from(inverseFrequencies(unchecked)).some((f) => !Number.isFinite(f)), 'factor 0 gives finite frequencies');
    assert.match(refusal(() => normaliseConfig(FILE, { ...llama, rope_scaling: { rope_type: 'linear', factor: 0 } })), /rope_scaling\.factor must be a number above 0 \(found 0\)/);
    assert.match(refusal(() => normaliseConfig(FILE, { ...llama, rope_scaling: { type: 'linear', factor: '2' } })), /rope_scaling\.factor must be a number above 0 \(found "2"\)/);
    assert.match(refusal(() => normaliseConfig(FILE, { ...llama, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 4, high_freq_factor: 4 } })), /high_freq_factor \(4\) must be above low_freq_factor \(4\)/);
    assert.match(refusal(() => normaliseConfig(FILE, { ...llama, rope_scaling: 'linear' })), /rope_scaling must be an object/);
    // Llama 3.1's own values pass, and its frequencies are finite.
    const l31 = normaliseConfig(FILE, { ...llama, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } });
    assert.ok(Array.from(inverseFrequencies(l31)).every(Number.isFinite));
  });

  it('counts must be whole numbers: "n_layer: 2.5" is named as such; "n_head: null" is not read as the default 12', () => {
    assert.match(refusal(() => normaliseConfig(FILE, { ...gpt2, n_layer: 2.5 })), /"n_layer" must be a whole number of at least 1 \(found 2\.5\)/);
    assert.match(refusal(() => normaliseConfig(FILE, { ...gpt2, n_head: null })), /"n_head" is null; give its value or remove the key/);
    assert.match(refusal(() => normaliseConfig(FILE, { ...llama, num_attention_heads: 0 })), /"num_attention_heads" must be a whole number of at least 1/);
    assert.match(refusal(() => normaliseConfig(FILE, { ...llama, hidden_size: 16.5 })), /"hidden_size" must be a whole number/);
    assert.match(refusal(() => normaliseConfig(FILE, { ...llama, num_key_value_heads: null })), /"num_key_value_heads" is null/);
    assert.match(refusal(() => normaliseConfig(FILE, { ...llama, head_dim: 3, num_attention_heads: 4, num_key_value_heads: 4 })), /head dimension 3 is odd/);
    // A key left out still takes transformers' default (12 heads, which 16 does not divide into).
    const { n_head: _dropped, ...noHead } = gpt2;
    assert.match(refusal(() => normaliseConfig(FILE, noHead)), /hidden size 16 does not divide into 12 heads/);
  });

  it('a real checkpoint folder with n_layer 2.5 is refused for that value, not reported as a missing tensor', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'attn-cfgval-'));
    try {
      const { config, tensors } = gpt2Fixture();
      writeHfFolder(dir, { ...config, n_layer: 2.5 }, tensors);
      const err = await openHuggingFaceModel(dir).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof UserError, String(err));
      assert.match(err.message, /config\.json: "n_layer" must be a whole number/);
      assert.doesNotMatch(err.message, /tensor/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prototype keys are unknown names: model_type, hidden_act, estimate --dtype, the CLI command', async () => {
    for (const t of ['__proto__', 'constructor', 'toString']) {
      assert.match(refusal(() => normaliseConfig(FILE, { ...llama, model_type: t })), new RegExp(`model_type "${t}" is not supported; supported: gpt2, bert`));
      assert.match(refusal(() => normaliseConfig(FILE, { ...llama, hidden_act: t })), new RegExp(`hidden_act "${t}" is not supported`));
      assert.match(refusal(() => parseEstimateArgs(['--dtype', t])), /--dtype must be one of fp32, fp16, bf16/);
      const err = await cliMain([t]).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof UsageError, String(err));
      assert.match(err.message, new RegExp(`unknown command "${t}"`));
    }
  });

  it('estimate refuses --seq 1e300 and --dtype __proto__ before computing; at the bound every figure is finite', () => {
    const shape = readModelShape({ model_type: 'llama', hidden_size: 4096, num_attention_heads: 32, num_key_value_heads: 8, num_hidden_layers: 32 });
    assert.match(refusal(() => parseEstimateArgs(['--seq', '1e300']).seq && estimate(shape, { seq: 1e300 })), /--seq must be a whole number from 1 to 1e\+8 \(got 1e\+300\)/);
    assert.match(refusal(() => estimate(shape, { seq: 128, dtype: '__proto__' as never })), /--dtype must be one of/);
    assert.match(refusal(() => estimate(shape, { seq: 128, batch: 1e300 })), /--batch must be a whole number from 1 to 1e\+6/);
    const numbers: number[] = [];
    const walk = (v: unknown): void => {
      if (typeof v === 'number') numbers.push(v);
      else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    };
    walk(estimate(shape, { seq: 1e8, batch: 1e6 }));
    assert.ok(numbers.length > 50 && numbers.every(Number.isFinite), 'a figure overflowed');
    // An independent figure: KV cache per token = 2 × 32 layers × 8 KV heads × 128 × 2 B (bf16 given).
    assert.equal(estimate(shape, { seq: 4096, dtype: 'bf16' }).kvCacheBytesPerToken, 2 * 32 * 8 * 128 * 2);
  });
});

describe('a hostile config.json in the hover path', () => {
  const base = '{\n  "model_type": "llama",\n  "num_attention_heads": 32,\n  "num_key_value_heads": 8,\n  "hidden_size": 4096,\n  "num_hidden_layers": 32,\n  "torch_dtype": "bfloat16",\n';
  const cases: [string, string][] = [
    ['arrays nested 200,000 deep', `  "junk": ${'['.repeat(200_000)}${']'.repeat(200_000)}\n}`],
    ['objects nested 100,000 deep, unclosed', `  "junk": ${'{"a":'.repeat(100_000)}`],
    ['a million numbers as sliding_window', `  "junk": 1,\n  "sliding_window": [${Array.from({ length: 1_000_000 }, () => 4).join(',')}]\n}`],
  ];
  // 2 (K and V) × 32 layers × 8 KV heads × 128 head dim × 2 B (bf16) = 128 KiB.
  const perToken = 2 * 32 * 8 * (4096 / 32) * 2;

  for (const [what, tail] of cases) {
    it(`${what}: the bad key is skipped with a warning; the other keys keep their hover and lens`, () => {
      const text = base + tail;
      const doc = TextDocument.create('file:///nowhere/config.json', 'json', 1, text);
      const hover = configHover(doc, text.indexOf('num_key_value_heads') + 2);
      const md = (hover?.contents as { value: string } | undefined)?.value ?? '';
      assert.ok(md.includes(`KV cache per token: ${perToken / 1024} KiB`), md.slice(0, 200));
      assert.equal(configCodeLenses(doc).length, 1);
      const skippedKey = what.includes('sliding_window') ? 'sliding_window' : 'junk';
      const diags = configDiagnostics(doc).filter((d) => d.code === 'skipped-key');
      assert.equal(diags.length, 1, JSON.stringify(diags));
      assert.match(String(diags[0].message), new RegExp(`^"${skippedKey}" is skipped: its value (nested more than 32 levels deep|holds more than 20,000 values)`));
      assert.equal(diags[0].range.start.line, text.slice(0, text.indexOf(`"${skippedKey}"`)).split('\n').length - 1);
      const onBad = configHover(doc, text.indexOf(`"${skippedKey}"`) + 2);
      if (skippedKey === 'sliding_window') assert.match((onBad?.contents as { value: string }).value, /`sliding_window` is skipped/);
    });
  }

  it('a config nested normally (rope_scaling, text_config) is read in full', () => {
    const text = `{"text_config": {"num_attention_heads": 8, "hidden_size": 512, "num_hidden_layers": 4, "rope_scaling": {"rope_type": "linear", "factor": 2}}}`;
    const doc = TextDocument.create('file:///nowhere/config.json', 'json', 1, text);
    assert.deepEqual(configDiagnostics(doc).filter((d) => d.code === 'skipped-key'), []);
    const md = (configHover(doc, text.indexOf('rope_scaling') + 2)?.contents as { value: string }).value;
    assert.match(md, /linear, factor 2/);
  });

  it('rope_theta 0 and rope_scaling factor 0 are errors on their values in the editor', () => {
    const text = `{"num_attention_heads": 8, "hidden_size": 512, "rope_theta": 0, "rope_scaling": {"rope_type": "linear", "factor": 0}}`;
    const doc = TextDocument.create('file:///nowhere/config.json', 'json', 1, text);
    const d = configDiagnostics(doc);
    const theta = d.find((x) => x.code === 'rope-theta');
    const factor = d.find((x) => x.code === 'rope-factor');
    assert.ok(theta && factor, JSON.stringify(d));
    assert.equal(theta.severity, 1);
    assert.equal(factor.severity, 1);
    assert.equal(theta.range.start.character, text.indexOf('0, "rope_scaling"'));
    assert.match(String(factor.message), /every attention map would be NaN/);
  });
});
