/**
 * Every webview channel validates what its webview posts, as the Attention panel does: the
 * Efficiency panel's settings and measure messages reach the runtime only well-formed and in
 * range (a measurement of 12,000 tokens would take gigabytes), and the Compare panel accepts
 * nothing but `ready`. Malformed messages are dropped before any work.
 */
import assert from 'node:assert/strict';
import { parseCompareMessage } from '../../protocol/compareWebview';
import { MAX_MEASURE_SEQ, parseEfficiencyMessage } from '../../protocol/efficiencyWebview';

const SETTINGS = { batch: 1, dtype: 'fp16', hardware: 'h100-sxm', decode: false, tableSeq: 8192 };

describe('Efficiency and Compare panel messages', () => {
  it('Efficiency: the messages its webview sends pass as they are', () => {
    for (const m of [{ type: 'ready' }, { type: 'settings', settings: SETTINGS }, { type: 'settings', settings: { ...SETTINGS, hardware: 'local', decode: true } }, { type: 'measure', seqs: [128, 256, 512] }]) {
      assert.deepEqual(parseEfficiencyMessage(m), m);
    }
  });

  it('Efficiency: out-of-range or malformed settings are dropped, by field', () => {
    const bad: [string, unknown][] = [
      ['batch 0', { ...SETTINGS, batch: 0 }],
      ['batch 1.5', { ...SETTINGS, batch: 1.5 }],
      ['batch "1"', { ...SETTINGS, batch: '1' }],
      ['tableSeq 1e300', { ...SETTINGS, tableSeq: 1e300 }],
      ['tableSeq NaN', { ...SETTINGS, tableSeq: Number.NaN }],
      ['dtype __proto__', { ...SETTINGS, dtype: '__proto__' }],
      ['dtype int8', { ...SETTINGS, dtype: 'int8' }],
      ['hardware path', { ...SETTINGS, hardware: '../../etc/passwd' }],
      ['hardware empty', { ...SETTINGS, hardware: '' }],
      ['decode "yes"', { ...SETTINGS, decode: 'yes' }],
      ['settings array', [SETTINGS]],
      ['settings null', null],
    ];
    for (const [what, settings] of bad) assert.equal(parseEfficiencyMessage({ type: 'settings', settings }), undefined, what);
  });

  it('Efficiency: extra fields do not travel on (a config path smuggled into settings is dropped)', () => {
    const out = parseEfficiencyMessage({ type: 'settings', settings: { ...SETTINGS, configPath: '/etc/passwd' }, configPath: '/etc/passwd' });
    assert.deepEqual(out, { type: 'settings', settings: SETTINGS });
  });

  it(`Efficiency: measure lengths are whole numbers from 1 to ${MAX_MEASURE_SEQ}, at most 8 of them`, () => {
    assert.deepEqual(parseEfficiencyMessage({ type: 'measure', seqs: [MAX_MEASURE_SEQ] }), { type: 'measure', seqs: [MAX_MEASURE_SEQ] });
    // eslint-disable-next-line no-sparse-arrays
    for (const seqs of [[128, , 256], [12000], [MAX_MEASURE_SEQ + 1], [1e8], [0], [-1], [1.5], ['128'], [], Array.from({ length: 9 }, () => 128), 'x', null, { 0: 128, length: 1 }]) {
      assert.equal(parseEfficiencyMessage({ type: 'measure', seqs }), undefined, JSON.stringify(seqs));
    }
  });

  it('Efficiency and Compare: unknown types, prototype keys and non-objects are dropped', () => {
    for (const m of [undefined, null, 0, 'ready', [], { type: 'x' }, { type: '__proto__' }, { type: 'constructor' }, JSON.parse('{"__proto__": {"type": "ready"}}'), { type: 'inspect', text: 'hi' }]) {
      assert.equal(parseEfficiencyMessage(m), undefined, JSON.stringify(m));
      assert.equal(parseCompareMessage(m), undefined, JSON.stringify(m));
    }
    assert.deepEqual(parseCompareMessage({ type: 'ready', extra: 1 }), { type: 'ready' });
    assert.equal(parseCompareMessage({ type: 'settings', settings: SETTINGS }), undefined);
  });
});
