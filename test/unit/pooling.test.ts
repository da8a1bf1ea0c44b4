/**
 * Block pooling for the memory budget and full-resolution tiles, against direct computations
 * written here cell by cell.
 */
import assert from 'node:assert/strict';
import { CaptureStore, sliceTile } from '../../server/lsp/captureStore';
import { choosePool, layerBytes, poolMaps } from '../../server/lsp/pooling';
import type { LayerMap } from '../../server/capture/types';

function randomMap(heads: number, q: number, k: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: heads * q * k }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  });
}

describe('pooling of attention maps', () => {
  const heads = 3;
  const q = 10;
  const k = 7;
  const data = randomMap(heads, q, k, 42);
  const at = (h: number, i: number, j: number) => data[(h * q + i) * k + j];

  for (const b of [1, 2, 3, 4, 10]) {
    it(`block max and mean with b = ${b} equal the direct computation, edge blocks included`, () => {
      const p = poolMaps(data, heads, q, k, b);
      assert.equal(p.rows, Math.ceil(q / b));
      assert.equal(p.cols, Math.ceil(k / b));
      for (let h = 0; h < heads; h++) {
        for (let r = 0; r < p.rows; r++) {
          for (let c = 0; c < p.cols; c++) {
            const cells: number[] = [];
            for (let i = r * b; i < Math.min(q, (r + 1) * b); i++) for (let j = c * b; j < Math.min(k, (c + 1) * b); j++) cells.push(at(h, i, j));
            const cell = (h * p.rows + r) * p.cols + c;
            assert.equal(p.max[cell], Math.max(...cells));
            assert.ok(Math.abs(p.mean[cell] - cells.reduce((a, v) => a + v, 0) / cells.length) < 1e-7);
          }
        }
      }
    });
  }

  it('a pooled map keeps the mass of each head: sum of mean x block area equals the sum', () => {
    const b = 3;
    const p = poolMaps(data, heads, q, k, b);
    for (let h = 0; h < heads; h++) {
      let direct = 0;
      for (let i = 0; i < q * k; i++) direct += data[h * q * k + i];
      let pooled = 0;
      for (let r = 0; r < p.rows; r++) {
        for (let c = 0; c < p.cols; c++) {
          const area = (Math.min(q, (r + 1) * b) - r * b) * (Math.min(k, (c + 1) * b) - c * b);
          pooled += p.mean[(h * p.rows + r) * p.cols + c] * area;
        }
      }
      assert.ok(Math.abs(direct - pooled) < 1e-4);
    }
  });

  it('chooses no pooling within the budget and the smallest fitting factor above it', () => {
    assert.equal(choosePool(12, 512, 512, undefined), 1);
    assert.equal(choosePool(12, 512, 512, 12 * 512 * 512 * 4), 1);
    const budget = 12 * 512 * 512 * 4 / 10;
    const b = choosePool(12, 512, 512, budget);
    assert.ok(layerBytes(12, 512, 512, b) <= budget);
    assert.ok(layerBytes(12, 512, 512, b - 1) > budget || b - 1 === 1);
    // b = 5: 2 x 12 x 103² x 4 = 1.02 MB fits the 1.26 MB budget; b = 4 needs 2 x 12 x 128² x 4 = 1.57 MB.
    assert.equal(b, 5);
    assert.equal(choosePool(1, 4, 4, 1), 4);
    // Maxima alone: half the bytes of max + mean, so a budget fits a finer pool.
    assert.equal(layerBytes(12, 512, 512, 4, false), 12 * 128 * 128 * 4);
    assert.equal(layerBytes(12, 512, 512, 4, false) * 2, layerBytes(12, 512, 512, 4));
    const tight = 12 * 128 * 128 * 4;
    assert.equal(choosePool(12, 512, 512, tight, false), 4);
    assert.equal(choosePool(12, 512, 512, tight), 6);
  });
});

describe('captured maps held for tiles', () => {
  const map = (index: number, heads: number, q: number, k: number): LayerMap => ({ index, kind: 'self', heads, queries: q, keys: k, data: randomMap(heads, q, k, index + 1) });

  it('slices one head rectangle in C order', () => {
    const m = map(0, 2, 6, 5);
    const t = sliceTile(m, 1, 2, 5, 1, 4);
    assert.deepEqual([t.rows, t.cols], [3, 3]);
    for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) assert.equal(t.data[r * 3 + c], m.data[(1 * 6 + 2 + r) * 5 + 1 + c]);
  });

  it('refuses ranges outside the map with a one-line reason', () => {
    const m = map(0, 2, 6, 5);
    assert.throws(() => sliceTile(m, 0, 0, 7, 0, 1), /query range 0..7 is outside 0..6/);
    assert.throws(() => sliceTile(m, 0, 3, 3, 0, 1), /query range 3..3/);
    assert.throws(() => sliceTile(m, 0, 0, 1, -1, 1), /key range -1..1/);
    assert.throws(() => sliceTile(m, 0.5, 0, 1, 0, 1), /head 0.5 is outside/);
  });

  it('keeps only the last captures, and the newest whole', () => {
    const store = new CaptureStore(2, 10_000);
    for (const id of ['a', 'b', 'c']) {
      store.begin(id, 'm');
      store.add(id, map(0, 1, 4, 4));
    }
    assert.deepEqual(store.ids(), ['b', 'c']);
    assert.throws(() => store.tile('a', 0, 0, 0, 1, 0, 1), /no longer held/);
    const big = new CaptureStore(5, 100);
    big.begin('x', 'm');
    big.add('x', map(0, 1, 4, 4));
    big.begin('y', 'm');
    big.add('y', map(0, 2, 4, 4));
    assert.deepEqual(big.ids(), ['y'], 'over the byte bound the older capture goes, the newest stays');
    assert.equal(big.tile('y', 0, 1, 0, 4, 0, 4).data.length, 16);
  });
});
