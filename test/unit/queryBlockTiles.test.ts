/**
 * Tiles of long inputs (server/capture/blockedLayers.ts recomputeRows): a tile of a layer whose
 * maps pass the memory budget re-runs only the query blocks covering its rows, from the stored
 * boundary, and equals the same rectangle of the whole capture's map within 1e-6; a layer within
 * the budget re-runs whole; a graph that cannot run by blocks and does not fit is refused in one
 * line naming the largest length it takes.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openModel } from '../../server/capture/openModel';
import { recomputeRows } from '../../server/capture/blockedLayers';
import { queryBlockRows } from '../../server/capture/layerMemory';
import type { CaptureResult, LayerMap, OpenedModel, RecomputedRows } from '../../server/capture/types';
import { openHuggingFaceModel } from '../../server/hf/hfModel';
import { maskFromScoresGraph } from '../helpers/attentionGraphs';
import { gpt2Fixture, llamaFixture } from '../helpers/hfFixtures';
import { writeHfFolder, type FolderOptions, type Tensors } from '../helpers/writeCheckpoint';
import { maxDiff, segmentsOf } from '../helpers/segmentCheck';
import { UserError } from '../../common/errors';

async function captured(model: OpenedModel, ids: number[], memoryBudgetBytes?: number, maps: 'full' | 'none' = 'full'): Promise<{ result: CaptureResult; maps: LayerMap[] }> {
  const out: LayerMap[] = [];
  const result = await model.capture({ ids }, { executionProvider: 'cpu', maps, ...(memoryBudgetBytes ? { memoryBudgetBytes } : {}), onLayer: (m) => void out.push(m) });
  return { result, maps: out };
}

/** Rows q0..q1-1 of one head of a whole map. */
function rowsOf(m: LayerMap, head: number, q0: number, q1: number): Float32Array {
  return m.data.subarray((head * m.queries + q0) * m.keys, (head * m.queries + q1) * m.keys);
}

/**
 * Captures `ids` whole (the reference), then by blocks of `budgetRows` rows with reductions
 * only (as the panel's pooled capture), and recomputes tiles of every layer and head.
 */
async function checkTiles(model: OpenedModel, ids: number[], budgetRows = 3): Promise<void> {
  const heads = model.info.heads;
  const n = ids.length;
  const budget = 4 * heads * n * 4 * budgetRows;
  assert.equal(queryBlockRows(heads, n, n, budget), budgetRows);
  const whole = await captured(model, ids);
  const blocked = await captured(model, ids, budget, 'none');
  const segments = segmentsOf(model);
  assert.ok(blocked.result.recomputeRows, 'a segmented capture recomputes rows');
  // Rows 4..8 with 3-row blocks: two block runs (rows 4-6, 7-8), whatever the layer and head.
  const [q0, q1] = [4, 9];
  for (const m of whole.maps) {
    for (let h = 0; h < m.heads; h++) {
      segments.resetCounts();
      const r: RecomputedRows = await blocked.result.recomputeRows!(m.index, h, q0, q1);
      assert.deepEqual(segments.blockRuns, segments.blockRuns.map((_, k) => (k === m.index ? Math.ceil((q1 - q0) / budgetRows) : 0)), `layer ${m.index} head ${h}: block runs`);
      assert.deepEqual(segments.runs, segments.runs.map((_, k) => (k === m.index ? 1 : 0)), 'only the tile\'s segment runs');
      assert.deepEqual([r.head, r.start, r.rows, r.keys, r.firstKey, r.keyCount], [h, q0, q1 - q0, n, 0, n]);
      const d = maxDiff(r.data, rowsOf(m, h, q0, q1));
      assert.ok(d < 1e-6, `layer ${m.index} head ${h} rows ${q0}..${q1}: ${d}`);
    }
  }
  // A whole head (all rows): ceil(n / 3) blocks, equal to the whole map's head.
  segments.resetCounts();
  const last = whole.maps[whole.maps.length - 1];
  const all = await blocked.result.recomputeRows!(last.index, 1, 0, n);
  assert.equal(segments.blockRuns[last.index], Math.ceil(n / budgetRows));
  assert.ok(maxDiff(all.data, rowsOf(last, 1, 0, n)) < 1e-6, 'whole head');
  // Within the budget the segment re-runs whole: every head and row comes back, no block runs.
  const roomy = await captured(model, ids, undefined, 'none');
  segments.resetCounts();
  const full = await roomy.result.recomputeRows!(0, 0, q0, q1);
  assert.deepEqual([full.head, full.start, full.rows], [undefined, 0, n]);
  assert.deepEqual(segments.blockRuns.filter((b) => b > 0), []);
  assert.ok(maxDiff(full.data, whole.maps[0].data) < 1e-6, 'whole layer');
}

describe('tiles of layers run by query blocks', function () {
  this.timeout(120000);
  const dir = mkdtempSync(join(tmpdir(), 'attn-block-tiles-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const ids = [2, 9, 4, 30, 1, 5, 7, 11, 3, 8, 6];

  for (const [name, file] of [
    ['the hand-wired sample model (samples/tiny-gpt)', 'samples/tiny-gpt/model.onnx'],
    ['the torch-exported Llama (GQA, RoPE)', 'test/fixtures/torch-exports/llama-gqa-sdpa/model.onnx'],
  ]) {
    it(`${name}: a tile runs only its rows' blocks and equals the whole map`, async () => {
      const model = await openModel(file, { executionProvider: 'cpu' });
      try {
        await checkTiles(model, ids);
      } finally {
        await model.dispose();
      }
    });
  }

  const hfForms: [string, () => { config: object; tensors: Tensors; opts: FolderOptions }][] = [
    ['the built gpt2 graph', () => ({ ...gpt2Fixture(), opts: { prefix: 'transformer.' } })],
    ['the built llama graph (grouped-query attention, RoPE)', () => ({ ...llamaFixture({ heads: 4, kvHeads: 2 }), opts: {} })],
  ];
  for (const [name, fixture] of hfForms) {
    it(`${name}: a tile runs only its rows' blocks and equals the whole map`, async () => {
      const f = fixture();
      const folder = join(dir, name.replace(/\W+/g, '_'));
      writeHfFolder(folder, f.config, f.tensors, f.opts, []);
      const model = await openHuggingFaceModel(folder, { executionProvider: 'cpu', layerByLayer: false });
      try {
        await checkTiles(model, [3, 17, 5, 0, 22, 9, 31, 5, 12, 1, 7]);
      } finally {
        await model.dispose();
      }
    });
  }

  it('a tile of many rows keeps only its own keys when every key of those rows would pass the budget', async () => {
    const model = await openModel('samples/tiny-gpt/model.onnx', { executionProvider: 'cpu' });
    try {
      const n = 40;
      const ids = Array.from({ length: n }, (_, i) => (i * 13 + 5) % 100);
      const heads = model.info.heads;
      // One row per block; one head's 40 rows of every key (6,400 bytes) pass this 2,560-byte budget.
      const budget = 4 * heads * n * 4;
      assert.ok(n * n * 4 > budget);
      const whole = await captured(model, ids);
      const blocked = await captured(model, ids, budget, 'none');
      const segments = segmentsOf(model);
      segments.resetCounts();
      const r = await blocked.result.recomputeRows!(1, 2, 0, n, 5, 9);
      assert.deepEqual([r.head, r.start, r.rows, r.firstKey, r.keyCount, r.data.length], [2, 0, n, 5, 4, n * 4]);
      assert.deepEqual(segments.blockRuns, [0, n]);
      const m = whole.maps[1];
      const want = Float32Array.from({ length: n * 4 }, (_, i) => m.data[(2 * n + Math.floor(i / 4)) * n + 5 + (i % 4)]);
      assert.ok(maxDiff(r.data, want) < 1e-6, 'keys 5..8 of every row');
    } finally {
      await model.dispose();
    }
  });

  it('a tile of a graph that cannot run by blocks and does not fit is refused in one line naming the length it takes', async () => {
    const f = join(dir, 'mask-from-scores.onnx');
    writeFileSync(f, maskFromScoresGraph('range'));
    const model = await openModel(f, { executionProvider: 'cpu' });
    try {
      const n = 4096;
      const request = {
        graph: segmentsOf(model),
        layer: { index: 0, kind: 'self' as const, heads: 1, queries: n, keys: n, pool: 1 },
        boundaries: new Map(),
        budgetBytes: 2 ** 20,
        extraFeeds: {},
        path: f,
        whole: () => assert.fail('a layer that does not fit must not run'),
        free: 2 ** 26,
      };
      await assert.rejects(recomputeRows(request, 0, 0, 16), (e: Error) => {
        assert.ok(e instanceof UserError, e.message);
        assert.ok(!e.message.includes('\n'), e.message);
        const m = /mask-from-scores\.onnx: 4096 tokens need about .* cannot run by query blocks \(.+\); this model can take at most (\d+) tokens here/.exec(e.message);
        assert.ok(m, e.message);
        // 64 MiB free holds 4 tensors of 1 head × L² float32 up to L = 2048.
        assert.equal(Number(m[1]), Math.floor(Math.sqrt(2 ** 26 / (4 * 1 * 4))));
        return true;
      });
    } finally {
      await model.dispose();
    }
  });
});
