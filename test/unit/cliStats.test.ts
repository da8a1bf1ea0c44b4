/**
 * `capture --maps full|none` and stats.json: both modes write the same per-head statistics (one
 * object per attention layer in graph order, one value per head), equal to the panel's own
 * headStats computed from the full maps the 'full' run wrote; 'none' writes no map file.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpy } from '../../server/capture/npy';
import { UsageError } from '../../server/cli/args';
import { captureToFolder, requestFromFlags } from '../../server/cli/captureRun';
import { headMat } from '../../webview/analysis/matrix';
import { headStats } from '../../webview/analysis/stats';
import { torchStyleGraph } from '../helpers/attentionGraphs';

type StatsFile = { layers: Record<'entropy' | 'distance' | 'first' | 'previous' | 'self', (number | null)[]>[] };

describe('capture --maps and stats.json', function () {
  this.timeout(60000);
  const dir = mkdtempSync(join(tmpdir(), 'attn-stats-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const model = join(dir, 'model.onnx');
  before(() => writeFileSync(model, torchStyleGraph({ layers: 3, heads: 2, seed: 9 }).bytes));

  async function capture(maps: string | undefined, out: string): Promise<StatsFile> {
    const flags = { model, ids: '4,8,15,16,23,1,2,3', out, ep: 'cpu', ...(maps ? { maps } : {}) };
    const o = await captureToFolder(requestFromFlags(flags, 'capture'));
    await o.model.dispose();
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { maps: string; segmentRuns: number };
    assert.equal(summary.maps, maps ?? 'full');
    assert.equal(summary.segmentRuns, 3);
    return JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8')) as StatsFile;
  }

  it('writes stats.json in both modes, equal to the statistics of the written maps; none writes no map', async () => {
    const full = await capture(undefined, join(dir, 'full'));
    const none = await capture('none', join(dir, 'none'));
    assert.deepEqual(readdirSync(join(dir, 'full')).filter((f) => f.endsWith('.npy')).sort(), ['layer_0.npy', 'layer_1.npy', 'layer_2.npy']);
    assert.deepEqual(readdirSync(join(dir, 'none')).filter((f) => f.endsWith('.npy')), []);
    assert.ok(existsSync(join(dir, 'none', 'tokens.json')));
    assert.equal(full.layers.length, 3);
    assert.deepEqual(Object.keys(full.layers[0]), ['entropy', 'distance', 'first', 'previous', 'self']);
    full.layers.forEach((layer, l) => {
      const npy = readNpy(join(dir, 'full', `layer_${l}.npy`));
      const [heads, q, k] = npy.shape;
      for (let h = 0; h < heads; h++) {
        const host = headStats(headMat(npy.data, h, q, k), 3);
        for (const key of ['entropy', 'distance', 'first', 'previous', 'self'] as const) {
          assert.equal(layer[key].length, heads);
          const want = host[key];
          for (const got of [layer[key][h], none.layers[l][key][h]]) {
            assert.ok(got !== null && Math.abs(got - want) <= 1e-6 * Math.max(1, Math.abs(want)), `layer ${l} head ${h} ${key}: ${got} vs ${want}`);
          }
        }
      }
    });
  });

  it('refuses another --maps value as a usage error', () => {
    assert.throws(() => requestFromFlags({ model, ids: '1', out: dir, maps: 'some' }, 'capture'), (e: Error) => e instanceof UsageError && /--maps must be full or none, got "some"/.test(e.message));
  });
});
