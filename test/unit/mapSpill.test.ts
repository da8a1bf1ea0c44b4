/**
 * The capture store past its memory budget: layers beyond it live in temp files, tiles read
 * from them by offset equal tiles cut from the same map in memory, and files go with the capture.
 */
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import type { LayerMap } from '../../server/capture/types';
import { CaptureStore, sliceTile } from '../../server/lsp/captureStore';
import { liveSpillFiles } from '../../server/lsp/mapSpill';

function map(index: number, heads: number, q: number, k: number): LayerMap {
  const data = new Float32Array(heads * q * k);
  // Distinct values per cell (index, head, row, column) so any offset mistake shows.
  for (let i = 0; i < data.length; i++) data[i] = index * 1e4 + i + 0.25;
  return { index, kind: 'self', heads, queries: q, keys: k, data };
}

describe('capture store spill to temp files', () => {
  it('keeps layers in memory up to the budget and spills the rest, with identical tiles', () => {
    const store = new CaptureStore(3, 2 ** 30);
    const layers = [0, 1, 2].map((i) => map(i, 3, 7, 5));
    const one = layers[0].data.byteLength;
    const filesBefore = liveSpillFiles().length;
    store.begin('c', 'm', one * 1.5);
    for (const l of layers) store.add('c', l);
    assert.deepEqual([0, 1, 2].map((i) => store.isSpilled('c', i)), [false, true, true]);
    const files = liveSpillFiles().slice(filesBefore);
    assert.equal(files.length, 2);
    for (const f of files) assert.equal(statSync(f).size, one, 'raw float32, no header');
    for (const [head, q0, q1, k0, k1] of [[0, 0, 7, 0, 5], [2, 3, 6, 1, 4], [1, 6, 7, 4, 5]]) {
      const want = sliceTile(layers[2], head, q0, q1, k0, k1);
      const got = store.tile('c', 2, head, q0, q1, k0, k1);
      assert.deepEqual([got.rows, got.cols], [want.rows, want.cols]);
      assert.deepEqual(Array.from(got.data), Array.from(want.data));
    }
    assert.throws(() => store.tile('c', 1, 3, 0, 1, 0, 1), /head 3 is outside layer 1 \(3 heads\)/);
    assert.throws(() => store.tile('c', 1, 0, 0, 8, 0, 1), /query range 0..8 is outside 0..7 of layer 1/);
    // A layer sent again (a rerun) replaces its file instead of leaking it.
    store.add('c', map(2, 3, 7, 5));
    assert.ok(!existsSync(files[1]));
    store.drop('c');
    assert.ok(liveSpillFiles().slice(filesBefore).every((f) => !existsSync(f)));
    assert.equal(liveSpillFiles().length, filesBefore);
  });

  it('evicts older captures by disk bytes too, deleting their files', () => {
    const l = map(0, 2, 4, 4);
    const store = new CaptureStore(5, 2 ** 30, l.data.byteLength * 1.5);
    const before = liveSpillFiles().length;
    store.begin('a', 'm', 1);
    store.add('a', l);
    const [fileA] = liveSpillFiles().slice(before);
    store.begin('b', 'm', 1);
    store.add('b', map(0, 2, 4, 4));
    assert.deepEqual(store.ids(), ['b']);
    assert.ok(!existsSync(fileA));
    store.dispose();
    assert.equal(liveSpillFiles().length, before);
  });
});
