/**
 * Eviction policies on tiny-gpt's real maps: StreamingLLM's mass kept equals the sum over the
 * kept set written out from its definition; H2O, TOVA and SnapKV equal brute-force
 * re-implementations that follow the papers' procedures with sets and sorting; every policy
 * keeps exactly B keys of each row q >= B and every key of rows q < B.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { openModel } from '../../server/capture/openModel';
import type { LayerMap } from '../../server/capture/types';
import { POLICIES, h2oSplit, keepMask, massKept, snapWindow, type KeepMask } from '../../server/serving/evictionPolicies';

const TINY = join(__dirname, '..', '..', 'samples', 'tiny-gpt');
const maps: LayerMap[] = [];
let n = 0;

before(async () => {
  const model = await openModel(TINY, { executionProvider: 'cpu' });
  try {
    const text = 'the old king saw a little black cat by the river . the old king saw a little black cat by the river . a dog ran on the mat';
    const r = await model.capture({ text }, { onLayer: (m) => void maps.push(m) });
    n = r.ids.length;
  } finally {
    await model.dispose();
  }
});

const at = (m: LayerMap, h: number, q: number, k: number) => m.data[(h * n + q) * n + k];
const keptSet = (mask: KeepMask, h: number, q: number) => Array.from({ length: n }, (_, k) => k).filter((k) => mask.keep[(h * n + q) * n + k] === 1);

/** Brute-force H2O: a cache as a set; evict the lowest accumulated score outside the recent window, ties oldest. */
function h2oRef(m: LayerMap, h: number, B: number): number[][] {
  const { recent } = h2oSplit(B);
  const acc = new Map<number, number>();
  let cache = new Set<number>();
  const rows: number[][] = [];
  for (let q = 0; q < n; q++) {
    cache.add(q);
    acc.set(q, 0);
    if (cache.size > B) {
      const cand = [...cache].filter((k) => k <= q - recent).sort((a, b) => acc.get(a)! - acc.get(b)! || a - b);
      cache = new Set([...cache].filter((k) => k !== cand[0]));
    }
    for (const k of cache) acc.set(k, acc.get(k)! + at(m, h, q, k));
    rows.push([...cache].sort((a, b) => a - b));
  }
  return rows;
}

/** Brute-force TOVA: evict argmin over the cache of the head-mean of renormalised weights of query q. */
function tovaRef(m: LayerMap, B: number): number[][] {
  let cache: number[] = [];
  const rows: number[][] = [];
  for (let q = 0; q < n; q++) {
    cache = [...cache, q];
    if (cache.length > B) {
      const score = (k: number) => {
        let s = 0;
        for (let h = 0; h < m.heads; h++) s += at(m, h, q, k) / cache.reduce((z, j) => z + at(m, h, q, j), 0);
        return s / m.heads;
      };
      const drop = [...cache].sort((a, b) => score(a) - score(b) || a - b)[0];
      cache = cache.filter((k) => k !== drop);
    }
    rows.push([...cache].sort((a, b) => a - b));
  }
  return rows;
}

/** Brute-force SnapKV for query q: votes of rows q-w..q-1 on keys < q-w, avg-pool 5, top B-1-w, plus window and q. */
function snapRow(m: LayerMap, h: number, q: number, B: number): number[] {
  if (q < B) return Array.from({ length: q + 1 }, (_, k) => k);
  const w = snapWindow(B);
  const L = q - w;
  const votes = Array.from({ length: L }, (_, k) => {
    let s = 0;
    for (let i = L; i < q; i++) s += at(m, h, i, k);
    return s;
  });
  const pooled = votes.map((_, k) => [-2, -1, 0, 1, 2].reduce((s, o) => s + (votes[k + o] ?? 0), 0) / 5);
  const top = votes.map((_, k) => k).sort((a, b) => pooled[b] - pooled[a] || a - b).slice(0, B - 1 - w);
  return [...top, ...Array.from({ length: w + 1 }, (_, i) => L + i)].sort((a, b) => a - b);
}

describe('KV-cache eviction policies on real maps (tiny-gpt)', () => {
  it('StreamingLLM: query q keeps {0..s-1} ∪ {q-(B-s)+1..q}, and mass kept is the mean over rows of the sum over that set', () => {
    for (const [B, s] of [[8, 4], [8, 0], [5, 1], [1, 0], [40, 4]]) {
      for (const m of maps) {
        const mask = keepMask(m.data, m.heads, n, { policy: 'streaming', budget: B, sinks: s });
        const mass = massKept(m.data, mask);
        for (let h = 0; h < m.heads; h++) {
          let total = 0;
          for (let q = 0; q < n; q++) {
            const set = q < B ? Array.from({ length: q + 1 }, (_, k) => k) : [...Array.from({ length: s }, (_, k) => k), ...Array.from({ length: B - s }, (_, i) => q - (B - s) + 1 + i)];
            assert.deepEqual(keptSet(mask, h, q), set, `B=${B} s=${s} row ${q}`);
            total += q < B ? 1 : set.reduce((acc, k) => acc + at(m, h, q, k), 0);
          }
          assert.ok(Math.abs(mass[h] - total / n) < 1e-9, `B=${B} s=${s} L${m.index}H${h}: ${mass[h]} vs ${total / n}`);
        }
      }
    }
  });

  it('H2O equals a brute-force heavy-hitter cache (half heavy, half recent; evicted keys never return)', () => {
    for (const B of [4, 7, 12]) {
      for (const m of maps) {
        const mask = keepMask(m.data, m.heads, n, { policy: 'h2o', budget: B });
        for (let h = 0; h < m.heads; h++) {
          const ref = h2oRef(m, h, B);
          for (let q = 0; q < n; q++) assert.deepEqual(keptSet(mask, h, q), ref[q], `B=${B} L${m.index}H${h} row ${q}`);
        }
      }
    }
  });

  it('TOVA equals a brute-force cache dropping the lowest head-averaged weight; one kept set for all heads of a layer', () => {
    for (const B of [3, 9]) {
      for (const m of maps) {
        const mask = keepMask(m.data, m.heads, n, { policy: 'tova', budget: B });
        const ref = tovaRef(m, B);
        for (let h = 0; h < m.heads; h++) for (let q = 0; q < n; q++) assert.deepEqual(keptSet(mask, h, q), ref[q], `B=${B} L${m.index}H${h} row ${q}`);
      }
    }
  });

  it('SnapKV equals a brute-force observation-window vote per query', () => {
    for (const B of [4, 10, 20]) {
      for (const m of maps) {
        const mask = keepMask(m.data, m.heads, n, { policy: 'snapkv', budget: B });
        for (let h = 0; h < m.heads; h++) for (let q = 0; q < n; q++) assert.deepEqual(keptSet(mask, h, q), snapRow(m, h, q, B), `B=${B} L${m.index}H${h} row ${q}`);
      }
    }
  });

  it('every policy keeps all keys of rows q < B and exactly B keys (none in the future) of rows q >= B', () => {
    assert.ok(n > 30);
    for (const policy of POLICIES) {
      for (const B of [1, 2, 6, 16]) {
        for (const m of maps) {
          const mask = keepMask(m.data, m.heads, n, { policy, budget: B });
          for (let h = 0; h < m.heads; h++) {
            for (let q = 0; q < n; q++) {
              const set = keptSet(mask, h, q);
              assert.ok(set.every((k) => k <= q), `${policy} B=${B} row ${q} keeps a future key`);
              assert.equal(set.length, Math.min(q + 1, B), `${policy} B=${B} row ${q}`);
            }
          }
          const mass = massKept(m.data, mask);
          assert.ok(mass.every((x) => x > 0 && x <= 1 + 1e-9));
        }
      }
    }
  });
});
