/**
 * The check every model form that runs by query blocks gets (server/capture/queryBlocks.ts):
 * captured by blocks of a few query rows, its maps and reductions equal the same capture run
 * whole within 1e-6, every segment still counts one run, and each blocked layer ran one block
 * per `rows` of its own queries (an encoder-decoder's layers have different lengths).
 */
import { strict as assert } from 'node:assert';
import { queryBlockRows } from '../../server/capture/layerMemory';
import type { LayerReductions } from '../../server/capture/layerReductions';
import type { CaptureInput, CaptureOptions, LayerMap, OpenedModel } from '../../server/capture/types';
import { maxDiff, segmentsOf } from './segmentCheck';

export interface Captured {
  maps: LayerMap[];
  reductions: LayerReductions[];
}

export async function captureLayers(model: OpenedModel, input: CaptureInput, options: CaptureOptions): Promise<Captured> {
  const maps: LayerMap[] = [];
  const reductions: LayerReductions[] = [];
  await model.capture(input, { ...options, executionProvider: 'cpu', onLayer: (m) => void maps.push(m), onReductions: (r) => void reductions.push(r) });
  return { maps, reductions };
}

export function sameReductions(a: LayerReductions, b: LayerReductions, what: string): void {
  for (const key of Object.keys(a.stats) as (keyof LayerReductions['stats'])[]) {
    a.stats[key].forEach((x, h) => assert.ok(Number.isNaN(x) ? Number.isNaN(b.stats[key][h]) : Math.abs(x - b.stats[key][h]) < 1e-6, `${what}: ${key} of head ${h}: ${x} vs ${b.stats[key][h]}`));
  }
  assert.ok(maxDiff(a.columnMeans, b.columnMeans) < 1e-6, `${what}: column means`);
  assert.equal(!!a.pooled, !!b.pooled, `${what}: pooled maps`);
  if (a.pooled && b.pooled) {
    assert.deepEqual([a.pooled.rows, a.pooled.cols], [b.pooled.rows, b.pooled.cols]);
    assert.ok(maxDiff(a.pooled.max, b.pooled.max) < 1e-6, `${what}: pooled maxima`);
    assert.ok(maxDiff(a.pooled.headMean, b.pooled.headMean) < 1e-6, `${what}: mean over heads`);
  }
}

/**
 * Captures `input` whole, then with a memory budget that gives the layer with the most keys
 * blocks of `rows` query rows, and compares. Returns both captures and the budget used.
 */
export async function checkBlockedCapture(model: OpenedModel, input: CaptureInput, rows = 3): Promise<{ whole: Captured; blocked: Captured; budget: number }> {
  const segments = segmentsOf(model);
  const whole = await captureLayers(model, input, {});
  const heads = Math.max(...whole.maps.map((m) => m.heads));
  const keys = Math.max(...whole.maps.map((m) => m.keys));
  const budget = 4 * heads * keys * 4 * rows;
  segments.resetCounts();
  const blocked = await captureLayers(model, input, { memoryBudgetBytes: budget });
  assert.deepEqual(segments.runs, segments.runs.map(() => 1), 'each segment counts one run');
  const expected = whole.maps.map((m) => {
    const r = queryBlockRows(m.heads, m.queries, m.keys, budget);
    return r > 0 ? Math.ceil(m.queries / r) : 0;
  });
  assert.ok(expected.some((b) => b > 1), 'at least one layer runs by blocks');
  assert.deepEqual([...segments.blockRuns], expected, 'block runs per segment');
  assert.deepEqual(blocked.maps.map((m) => [m.index, m.heads, m.queries, m.keys]), whole.maps.map((m) => [m.index, m.heads, m.queries, m.keys]));
  whole.maps.forEach((m, i) => {
    assert.ok(maxDiff(blocked.maps[i].data, m.data) < 1e-6, `layer ${m.index} map: ${maxDiff(blocked.maps[i].data, m.data)}`);
    sameReductions(blocked.reductions[i], whole.reductions[i], `layer ${m.index}`);
  });
  return { whole, blocked, budget };
}
