/**
 * attention/kvReport over LSP (dist/server.js forked with --node-ipc) on samples/tiny-gpt: the
 * report's StreamingLLM mass kept at each budget equals the mean, over layers, heads and rows,
 * of the mass on {0..s-1} ∪ {q-(B-s)+1..q} summed here from the report's own maps; every
 * policy's head-map keep set has B keys a row; bad parameters come back as one-line errors.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { decodeFloat32 } from '../../protocol/encoding';
import { OpenModelRequest } from '../../protocol/runtime';
import { KvReportRequest } from '../../protocol/serving';
import { decodeBytes } from '../../protocol/servingWebview';
import { repoRoot, startRuntime, type StartedRuntime } from '../helpers/serverBundle';

const SAMPLE = join(repoRoot, 'samples', 'tiny-gpt');
const TEXT = 'the old king saw a little black cat by the river . the old king saw a little black cat by the river . the old king saw a little';

describe('attention/kvReport over LSP', function () {
  this.timeout(120_000);
  let rt: StartedRuntime;
  before(async () => (rt = await startRuntime()));
  after(() => rt?.stop());

  it('returns every policy over the budgets; StreamingLLM mass kept equals the sum over its kept set', async () => {
    const r = await rt.conn.sendRequest(KvReportRequest.type, { path: SAMPLE, text: TEXT, budgets: [8, 4], sinks: 2, executionProvider: 'cpu' });
    const n = r.tokens.length;
    assert.deepEqual(r.budgets, [4, 8]);
    assert.equal(r.headMapBudget, 4);
    assert.deepEqual(Object.keys(r.policies), ['streaming', 'h2o', 'snapkv', 'tova']);
    const maps = r.layers.map((l) => decodeFloat32(l.map));
    for (const [i, B] of r.budgets.entries()) {
      const s = Math.min(2, B - 1);
      let total = 0;
      let count = 0;
      maps.forEach((m, li) => {
        for (let h = 0; h < r.layers[li].heads; h++) {
          for (let q = 0; q < n; q++) {
            const keys = q < B ? [] : [...Array.from({ length: s }, (_, k) => k), ...Array.from({ length: B - s }, (_, j) => q - (B - s) + 1 + j)];
            total += q < B ? 1 : keys.reduce((acc, k) => acc + m[(h * n + q) * n + k], 0);
          }
          count += n;
        }
      });
      assert.ok(Math.abs(r.policies.streaming.points[i].massKept - total / count) < 1e-9, `B=${B}`);
      for (const c of Object.values(r.policies)) {
        assert.ok(c.points[i].nextTokenKL !== null && c.points[i].nextTokenKL! >= 0);
        assert.ok(c.points[i].top1Agreement! >= 0 && c.points[i].top1Agreement! <= 1);
      }
    }
    for (const c of Object.values(r.policies)) {
      const keep = decodeBytes(c.kept[1]);
      for (let h = 0; h < r.layers[1].heads; h++) {
        for (let q = 0; q < n; q++) {
          let kept = 0;
          for (let k = 0; k < n; k++) kept += keep[(h * n + q) * n + k];
          assert.equal(kept, Math.min(q + 1, 4), `${c.name} head ${h} row ${q}`);
        }
      }
    }
  });

  it('takes an open model by modelId', async () => {
    const { modelId } = await rt.conn.sendRequest(OpenModelRequest.type, { path: SAMPLE, executionProvider: 'cpu' });
    const r = await rt.conn.sendRequest(KvReportRequest.type, { modelId, ids: [2, 10, 11, 12, 10, 11, 12, 13], budgets: [3] });
    assert.equal(r.tokens.length, 8);
    assert.equal(r.policies.tova.points[0].budget, 3);
  });

  for (const [name, params, message] of [
    ['a zero budget', { budgets: [0] }, /budgets must be 1 to 16 whole numbers/],
    ['no text', { text: undefined }, /give a text or token ids/],
    ['a bad provider', { executionProvider: 'tpu' }, /execution provider "tpu"/],
  ] as const) {
    it(`refuses ${name} with one line`, async () => {
      await assert.rejects(
        rt.conn.sendRequest(KvReportRequest.type, { path: SAMPLE, text: TEXT, ...params } as KvReportRequest.Params),
        (e: Error) => message.test(e.message) && !e.message.includes('\n'),
      );
    });
  }
});
