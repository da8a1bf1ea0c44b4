/**
 * Query blocks: a layer whose maps pass the memory budget runs by blocks of query rows
 * (server/capture/queryBlocks.ts). The maps and every reduction must equal the unblocked
 * capture of the same model within 1e-6, each segment still counts one run, and a graph whose
 * attention cannot run by blocks is refused in one line naming the largest length it takes.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { freemem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpy } from '../../server/capture/npy';
import { openModel } from '../../server/capture/openModel';
import { captureToFolder } from '../../server/cli/captureRun';
import { checkLayerFits, cpuBlockRows, queryBlockRows } from '../../server/capture/layerMemory';
import type { LayerMap, LayerRows, OpenedModel } from '../../server/capture/types';
import { makeGpt2SmallShaped } from '../../samples/scripts/make-bench-model';
import { openHuggingFaceModel } from '../../server/hf/hfModel';
import { attentionOpGraph, hfStyleGraph, maskFromScoresGraph } from '../helpers/attentionGraphs';
import { bertFixture, gpt2Fixture, llamaFixture } from '../helpers/hfFixtures';
import { writeHfFolder, type FolderOptions, type Tensors } from '../helpers/writeCheckpoint';
import { maxDiff, segmentsOf } from '../helpers/segmentCheck';
import { captureLayers, checkBlockedCapture, sameReductions, type Captured } from '../helpers/blockCheck';
import { UserError } from '../../common/errors';

/**
 * Captures `ids` whole and by blocks (a budget of a few rows), full maps and reductions only,
 * and compares (test/helpers/blockCheck.ts); then pooled reductions and streamed rows.
 */
async function checkBlocked(model: OpenedModel, ids: number[], budgetRows = 3): Promise<void> {
  const heads = model.info.heads;
  const n = ids.length;
  const { whole, budget } = await checkBlockedCapture(model, { ids }, budgetRows);
  assert.equal(queryBlockRows(heads, n, n, budget), budgetRows);
  // Reductions only, with pooled maps at a factor that divides the block rows.
  const pool = (_l: number, _h: number, _q: number, _k: number) => 2;
  const wholeReduced = await captureLayers(model, { ids }, { maps: 'none', poolFactor: pool });
  const blockedReduced = await captureLayers(model, { ids }, { maps: 'none', poolFactor: pool, memoryBudgetBytes: 4 * heads * n * 4 * 4 });
  wholeReduced.reductions.forEach((r, i) => sameReductions(blockedReduced.reductions[i], r, `layer ${i}, pooled`));
  // Streamed rows: in order, covering every row once, equal to the whole map's rows.
  const rows: LayerRows[] = [];
  await model.capture({ ids }, { executionProvider: 'cpu', memoryBudgetBytes: budget, onLayerRows: (b) => void rows.push(b), onLayer: () => assert.fail('blocked layers stream rows') });
  for (const m of whole.maps) {
    const mine = rows.filter((b) => b.index === m.index);
    assert.deepEqual(mine.map((b) => b.start), Array.from({ length: Math.ceil(n / budgetRows) }, (_, i) => i * budgetRows));
    sameRows(mine, m);
  }
}

/** Each streamed block's rows equal the same rows of the whole map, head by head, within 1e-6. */
function sameRows(blocks: LayerRows[], m: LayerMap): void {
  const n = m.keys;
  for (const b of blocks) {
    for (let h = 0; h < m.heads; h++) {
      const want = m.data.subarray((h * m.queries + b.start) * n, (h * m.queries + b.start + b.rows) * n);
      assert.ok(maxDiff(b.data.subarray(h * b.rows * n, (h + 1) * b.rows * n), want) < 1e-6, `layer ${m.index} rows from ${b.start}, head ${h}`);
    }
  }
}

describe('query blocks', function () {
  this.timeout(120000);
  const dir = mkdtempSync(join(tmpdir(), 'attn-blocks-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const onnxForms: [string, () => Promise<string>][] = [
    ['the hand-wired sample model (samples/tiny-gpt)', async () => 'samples/tiny-gpt/model.onnx'],
    ['a Hugging Face-style export (mask input, [batch, heads, q, k])', async () => {
      const f = join(dir, 'hf-style.onnx');
      writeFileSync(f, hfStyleGraph({ layers: 2, heads: 2, headDim: 4, seed: 21 }).bytes);
      return f;
    }],
    ['the GPT-2-small-shaped bench model (2 layers)', async () => makeGpt2SmallShaped(dir, { layers: 2, maxPositions: 64 })],
    ['the torch-exported GPT-2 (test/fixtures/torch-exports/gpt2-eager)', async () => 'test/fixtures/torch-exports/gpt2-eager/model.onnx'],
    ['the torch-exported Llama (GQA, RoPE; test/fixtures/torch-exports/llama-gqa-sdpa)', async () => 'test/fixtures/torch-exports/llama-gqa-sdpa/model.onnx'],
    ['the torch-exported BERT (test/fixtures/torch-exports/bert-eager)', async () => 'test/fixtures/torch-exports/bert-eager/model.onnx'],
    // The ONNX Attention op: its queries are cut to the block's rows, is_causal becomes an explicit mask.
    ...([
      ['causal', { causal: true }],
      ['causal, a bool [n, n] window mask', { causal: true, window: 'bool' }],
      ['a float window mask, not causal', { window: 'float' }],
    ] as const).map(([what, form], i): [string, () => Promise<string>] => [`the ONNX Attention op (${what})`, async () => {
      const f = join(dir, `attention-op-${i}.onnx`);
      writeFileSync(f, attentionOpGraph({ layers: 2, heads: 2, headDim: 4, seed: 23 + i }, form).bytes);
      return f;
    }]),
  ];
  for (const [name, file] of onnxForms) {
    it(`${name}: blocked maps and reductions equal the whole capture`, async () => {
      const model = await openModel(await file(), { executionProvider: 'cpu' });
      try {
        await checkBlocked(model, [2, 9, 4, 30, 1, 5, 7, 11, 3, 8, 6]);
      } finally {
        await model.dispose();
      }
    });
  }

  it('a segment holds its weights once: its whole session after a short capture, its block parts after a long one', async () => {
    const model = await openModel('samples/tiny-gpt/model.onnx', { executionProvider: 'cpu' });
    try {
      const segments = segmentsOf(model);
      const ids = [2, 9, 4, 30, 1, 5, 7, 11, 3, 8, 6];
      const held = () => [...segments.sessionKeys].sort();
      await model.capture({ ids }, { executionProvider: 'cpu', maps: 'none' });
      assert.deepEqual(held(), ['reduced:0', 'reduced:1']);
      await model.capture({ ids }, { executionProvider: 'cpu', maps: 'none', memoryBudgetBytes: 4 * model.info.heads * ids.length * 4 * 3 });
      assert.deepEqual(held(), ['block:reduced:0', 'block:reduced:1', 'once:0', 'once:1']);
      await model.capture({ ids: ids.slice(0, 4) }, { executionProvider: 'cpu', maps: 'none', memoryBudgetBytes: 4 * model.info.heads * ids.length * 4 * 3 });
      assert.deepEqual(held(), ['reduced:0', 'reduced:1']);
    } finally {
      await model.dispose();
    }
  });

  it('on the CPU provider blocks are cut to about CPU_BLOCK_BYTES per [heads, rows, keys] tensor, when that is at least CPU_BLOCK_MIN_ROWS rows', async () => {
    // 24 MiB / (12 heads x 2,048 keys x 4 bytes) = 256 rows, 252 at pool factor 9; at 4,096 keys
    // 128 rows would be too few, so the budget's rows stay; a layer within the budget stays whole.
    assert.equal(cpuBlockRows(12, 2048, 1359, 9), 252);
    assert.equal(cpuBlockRows(12, 2048, 200, 9), 200);
    assert.equal(cpuBlockRows(12, 4096, 682, 18), 682);
    assert.equal(cpuBlockRows(12, 2048, 0, 9), 0);
    assert.equal(cpuBlockRows(2, 64, 3), 3);
    // A capture: 12 heads x 1,024 keys gives blocks of 512 rows where the budget alone gives 900.
    const n = 1024;
    const ids = Array.from({ length: n }, (_, i) => (i * 37) % 512);
    const model = await openModel(await makeGpt2SmallShaped(dir, { layers: 1, maxPositions: n }), { executionProvider: 'cpu' });
    try {
      const budget = 900 * 4 * 12 * n * 4;
      assert.equal(queryBlockRows(12, n, n, budget), 900);
      const whole = await captureLayers(model, { ids }, {});
      const rows: LayerRows[] = [];
      await model.capture({ ids }, { executionProvider: 'cpu', memoryBudgetBytes: budget, onLayerRows: (b) => void rows.push(b) });
      assert.deepEqual(rows.map((b) => [b.start, b.rows]), [[0, 512], [512, 512]]);
      sameRows(rows, whole.maps[0]);
    } finally {
      await model.dispose();
    }
  });

  it('the CLI writes a blocked layer to its .npy block by block, equal to the whole capture', async () => {
    const ids = [2, 9, 4, 30, 1, 5, 7, 11, 3, 8, 6, 12, 14];
    const model = await openModel('samples/tiny-gpt/model.onnx', { executionProvider: 'cpu' });
    let whole: Captured;
    try {
      whole = await captureLayers(model, { ids }, {});
    } finally {
      await model.dispose();
    }
    const out = join(dir, 'cli-blocks');
    const o = await captureToFolder({ model: 'samples/tiny-gpt/model.onnx', input: { ids }, out, executionProvider: 'cpu', memoryBudgetBytes: 4 * 4 * ids.length * 4 * 4 });
    try {
      assert.equal(o.result.segmentRuns, 2);
      assert.deepEqual(segmentsOf(o.model).blockRuns, [4, 4], 'rows 0-3, 4-7, 8-11, 12');
      assert.deepEqual(o.files, ['layer_0.npy', 'layer_1.npy']);
      whole.maps.forEach((m, i) => {
        const { data, shape } = readNpy(join(out, `layer_${i}.npy`));
        assert.deepEqual(shape, [m.heads, m.queries, m.keys]);
        assert.ok(maxDiff(data, m.data) < 1e-6, `layer_${i}.npy`);
      });
      assert.deepEqual(readdirSync(out).filter((f) => f.includes('partial')), []);
    } finally {
      await o.model.dispose();
    }
  });

  const hfForms: [string, () => { config: object; tensors: Tensors; opts: FolderOptions; unprefixed?: string[] }][] = [
    ['the built gpt2 graph', () => ({ ...gpt2Fixture(), opts: { prefix: 'transformer.' } })],
    ['the built llama graph (grouped-query attention, RoPE)', () => ({ ...llamaFixture({ heads: 4, kvHeads: 2 }), opts: {} })],
    ['the built bert graph (bidirectional, padding mask)', () => {
      const { config, tensors, heads } = bertFixture('bert');
      return { config, tensors, opts: { prefix: 'bert.' }, unprefixed: heads };
    }],
  ];
  for (const [name, fixture] of hfForms) {
    it(`${name}: blocked maps and reductions equal the whole capture`, async () => {
      const f = fixture();
      const folder = join(dir, name.replace(/\W+/g, '_'));
      writeHfFolder(folder, f.config, f.tensors, f.opts, f.unprefixed ?? []);
      const model = await openHuggingFaceModel(folder, { executionProvider: 'cpu', layerByLayer: false });
      try {
        await checkBlocked(model, [3, 17, 5, 0, 22, 9, 31, 5, 12, 1, 7]);
      } finally {
        await model.dispose();
      }
    });
  }

  it('a graph whose attention cannot run by blocks and does not fit is refused in one line naming the length it takes', async () => {
    // A causal mask made from the scores' own row count: no block can have it.
    const f = join(dir, 'mask-from-scores.onnx');
    writeFileSync(f, maskFromScoresGraph('range'));
    const model = await openModel(f, { executionProvider: 'cpu' });
    try {
      const n = Math.ceil(Math.sqrt(freemem() / (4 * 1 * 4))) + 1000;
      const ids = Array.from({ length: n }, (_, i) => i % 30);
      await assert.rejects(model.capture({ ids }, { executionProvider: 'cpu', memoryBudgetBytes: 2 ** 20 }), (e: Error) => {
        assert.ok(e instanceof UserError, e.message);
        assert.ok(!e.message.includes('\n'), e.message);
        const m = /^.*mask-from-scores\.onnx: \d+ tokens need about .* cannot run by query blocks \(.+\); this model can take at most (\d+) tokens here \(--max-tokens\)$/.exec(e.message);
        assert.ok(m, e.message);
        assert.ok(Number(m[1]) < n && Number(m[1]) > 1000, e.message);
        return true;
      });
      // A length that fits runs whole, even above the budget.
      const maps: LayerMap[] = [];
      await model.capture({ ids: ids.slice(0, 40) }, { executionProvider: 'cpu', memoryBudgetBytes: 1024, onLayer: (m) => void maps.push(m) });
      assert.equal(maps.length, 1);
      assert.deepEqual(segmentsOf(model).blockRuns, [0]);
    } finally {
      await model.dispose();
    }
  });

  // Causal masks taken from the scores' own shape: by blocks the scores hold a block's rows, so
  // each block would get the first (Range) or last (a buffer cut at [k - q, k)) rows' mask. The
  // plan refuses them and the layer runs whole.
  const maskForms: ['range' | 'slice', RegExp][] = [
    ['range', /^Range node .* makes positions from a block's own shape$/],
    ['slice', /^Slice node .* indexes a tensor by a block's own shape$/],
  ];
  for (const [form, why] of maskForms) {
    it(`a causal mask made from the scores' own shape (${form}) keeps the layer whole`, async () => {
      const f = join(dir, `mask-from-scores-${form}.onnx`);
      writeFileSync(f, maskFromScoresGraph(form));
      const model = await openModel(f, { executionProvider: 'cpu' });
      try {
        const input = { ids: [2, 9, 4, 30, 1, 5, 7, 11, 3] };
        const whole = await captureLayers(model, input, {});
        const blocked = await captureLayers(model, input, { memoryBudgetBytes: 4 * 9 * 4 * 3 });
        assert.ok(maxDiff(blocked.maps[0].data, whole.maps[0].data) < 1e-6, `blocked differs by ${maxDiff(blocked.maps[0].data, whole.maps[0].data)}`);
        assert.match(String(segmentsOf(model).blockPlan(0)), why);
        assert.deepEqual(segmentsOf(model).blockRuns, [0], 'the layer ran whole');
        assert.equal(whole.maps[0].data[1], 0, 'query 0 does not see key 1');
      } finally {
        await model.dispose();
      }
    });
  }

  it('the ONNX Attention op with [1, n, heads * d] inputs runs whole, equal to the unblocked capture', async () => {
    const f = join(dir, 'attention-op-flat.onnx');
    writeFileSync(f, attentionOpGraph({ layers: 2, heads: 2, headDim: 4, seed: 41 }, { causal: true, window: 'float', flat: true }).bytes);
    const model = await openModel(f, { executionProvider: 'cpu' });
    try {
      const input = { ids: [2, 9, 4, 30, 1, 5, 7, 11, 3] };
      const whole = await captureLayers(model, input, {});
      const blocked = await captureLayers(model, input, { memoryBudgetBytes: 4 * 2 * 9 * 4 * 3 });
      whole.maps.forEach((m, i) => assert.ok(maxDiff(blocked.maps[i].data, m.data) < 1e-6, `layer ${i}`));
      assert.match(String(segmentsOf(model).blockPlan(0)), /^Attention node .* takes \[batch, n, hidden\] queries/);
      assert.deepEqual(segmentsOf(model).blockRuns, [0, 0]);
    } finally {
      await model.dispose();
    }
  });

  it('the refusal names why the attention cannot run by blocks', () => {
    const f = 'model.onnx';
    let message = '';
    try {
      checkLayerFits(12, 16384, f, 2 ** 30, 'Einsum node x after the attention scores has no known row form');
    } catch (e) {
      assert.ok(e instanceof UserError);
      message = e.message;
    }
    assert.match(message, /cannot run by query blocks \(Einsum .*\); this model can take at most \d+ tokens here/);
    assert.ok(!message.includes('\n'));
  });
});
