/**
 * The pure analyses of the Attention panel (webview/analysis/*) on the real output of the capture
 * engine for samples/tiny-gpt, whose heads are wired by hand (samples/tiny-gpt/README.md), and
 * on small hand-made graphs. Every figure is checked against a computation written here in a
 * different way (other loop order, plain arrays, Edmonds-Karp instead of Dinic).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openModel } from '../../server/capture/openModel';
import type { LayerMap, OpenedModel } from '../../server/capture/types';
import { aggregateHeads, headMat, mat, type Mat } from '../../webview/analysis/matrix';
import { headStats } from '../../webview/analysis/stats';
import { rollout } from '../../webview/analysis/rollout';
import { attentionFlow, MAX_FLOW_TOKENS } from '../../webview/analysis/flow';
import { clusterBySimilarity, comparedRows, pickRows, similarityMatrix } from '../../webview/analysis/similarity';
import { filterHeads, filterMap } from '../../webview/analysis/filters';
import { isSpecialToken, keptTokens, restrictMap } from '../../webview/analysis/specialTokens';
import { augment, edmondsKarp } from '../helpers/analysisReference';

const root = join(__dirname, '..', '..');

/** Row q of head h as a plain array. */
function rowOf(m: LayerMap, h: number, q: number): number[] {
  return Array.from(m.data.subarray((h * m.queries + q) * m.keys, (h * m.queries + q + 1) * m.keys));
}
function headOf(m: LayerMap, h: number): Mat {
  return headMat(m.data, h, m.queries, m.keys);
}
const close = (a: number, b: number, tol = 1e-9, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b}`);

function toArrays(m: Mat): number[][] {
  return Array.from({ length: m.rows }, (_, r) => Array.from(m.data.subarray(r * m.cols, (r + 1) * m.cols)));
}

describe('attention analyses (webview/analysis)', function () {
  this.timeout(60_000);
  let model: OpenedModel;
  let maps: LayerMap[];
  let tokens: string[];

  before(async () => {
    model = await openModel(join(root, 'samples', 'tiny-gpt'));
    maps = [];
    const r = await model.capture({ text: readFileSync(join(root, 'samples', 'texts', 'induction.txt'), 'utf8') }, { onLayer: (m) => void maps.push(m) });
    tokens = r.tokens;
  });
  after(async () => {
    await model?.dispose();
  });

  it('per-head statistics match a column-major recomputation and the heads of the README', () => {
    const n = maps[0].queries;
    assert.equal(tokens[0], '[BOS]');
    assert.ok(n > 50);
    for (const m of maps) {
      for (let h = 0; h < m.heads; h++) {
        const got = headStats(headOf(m, h), 3);
        // Column-major: accumulate each row's figures key by key, then average.
        const ent = new Array<number>(n).fill(0);
        const dist = new Array<number>(n).fill(0);
        for (let k = 0; k < n; k++) for (let q = 0; q < n; q++) {
          const a = m.data[(h * n + q) * n + k];
          if (a > 0) ent[q] += a * Math.log(1 / a);
          dist[q] += a * (q > k ? q - k : k - q);
        }
        const avg = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
        close(got.entropy, avg(ent), 1e-6, `L${m.index}H${h} entropy`);
        close(got.distance, avg(dist), 1e-6, `L${m.index}H${h} distance`);
        close(got.first, avg(Array.from({ length: n }, (_, q) => m.data[(h * n + q) * n])), 1e-6, 'first');
        close(got.previous, avg(Array.from({ length: n - 1 }, (_, i) => m.data[(h * n + i + 1) * n + i])), 1e-6, 'previous');
        close(got.self, avg(Array.from({ length: n }, (_, q) => m.data[(h * n + q) * n + q])), 1e-6, 'self');
        // Top-3 share by taking the maximum three times.
        const top3 = Array.from({ length: n }, (_, q) => {
          const r = rowOf(m, h, q);
          let s = 0;
          for (let t = 0; t < 3; t++) {
            const i = r.indexOf(Math.max(...r));
            s += r[i];
            r[i] = -1;
          }
          return s / rowOf(m, h, q).reduce((x, y) => x + y, 0);
        });
        close(got.sparsity, avg(top3), 1e-6, 'top-3 mass');
      }
    }
    const l0 = (h: number) => headStats(headOf(maps[0], h), 1);
    assert.ok(l0(0).previous > 0.9, `L0H0 previous ${l0(0).previous}`);
    close(l0(0).distance, 1, 0.1, 'L0H0 looks one token back');
    assert.ok(l0(1).first > 0.9, `L0H1 first ${l0(1).first}`);
    assert.ok(l0(2).self > 0.9, `L0H2 self ${l0(2).self}`);
    assert.ok(l0(1).sparsity > 0.9 && l0(3).sparsity < 0.5, 'sink head is sparse, uniform head is not');
  });

  it('the uniform head L0H3 has row entropy ln(i + 1), and the mean over rows', () => {
    const m = maps[0];
    const n = m.queries;
    for (let q = 0; q < n; q++) {
      const one = mat(1, n, rowOf(m, 3, q));
      close(headStats(one, 1).entropy, Math.log(q + 1), 1e-4, `row ${q}`);
    }
    let sum = 0;
    for (let q = 0; q < n; q++) sum += Math.log(q + 1);
    close(headStats(headOf(m, 3), 1).entropy, sum / n, 1e-4, 'mean');
  });

  it('mean and max over heads, and rollout, equal a direct product of augmented maps', () => {
    const n = maps[0].queries;
    const means = maps.map((m) => aggregateHeads(Array.from({ length: m.heads }, (_, h) => headOf(m, h)), 'mean'));
    const maxes = maps.map((m) => aggregateHeads(Array.from({ length: m.heads }, (_, h) => headOf(m, h)), 'max'));
    for (const [l, m] of maps.entries()) {
      for (const [q, k] of [[5, 4], [n - 1, 0], [30, 30], [7, 2]]) {
        const ws = Array.from({ length: m.heads }, (_, h) => m.data[(h * n + q) * n + k]);
        close(means[l].data[q * n + k], ws.reduce((x, y) => x + y) / ws.length, 1e-7, 'mean');
        close(maxes[l].data[q * n + k], Math.max(...ws), 1e-7, 'max');
      }
    }
    const rolled = rollout(means);
    // R = A'_1 A'_0 with plain triple loops in (i, j, k) order.
    const a0 = augment(toArrays(means[0]));
    const a1 = augment(toArrays(means[1]));
    const expected = a1.map((row) => Array.from({ length: n }, (_, j) => row.reduce((s, x, k) => s + x * a0[k][j], 0)));
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) close(rolled[1].data[i * n + j], expected[i][j], 1e-9, `R[${i}][${j}]`);
      close(rolled[1].data.subarray(i * n, (i + 1) * n).reduce((x, y) => x + y), 1, 1e-9, 'rows sum to 1');
    }
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) close(rolled[0].data[i * n + j], a0[i][j], 1e-12);
  });

  it('attention flow equals Edmonds-Karp on the layered graph (random maps and the real model)', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const causal = (n: number) => {
      const m = mat(n, n);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j <= i; j++) s += m.data[i * n + j] = rand() ** 3;
        for (let j = 0; j <= i; j++) m.data[i * n + j] /= s;
      }
      return m;
    };
    const check = (layers: Mat[], outputs: number[]) => {
      const n = layers[0].rows;
      const L = layers.length;
      const got = attentionFlow(layers, outputs);
      // Dense capacity matrix over (L + 1) n nodes: edges (l, i) -> (l - 1, j).
      const N = (L + 1) * n;
      const cap = Array.from({ length: N }, () => new Array<number>(N).fill(0));
      layers.forEach((a, idx) => {
        const aug = augment(toArrays(a));
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) cap[(idx + 1) * n + i][idx * n + j] = aug[i][j];
      });
      outputs.forEach((i, r) => {
        for (let j = 0; j < n; j++) close(got[r * n + j], edmondsKarp(cap, L * n + i, j), 1e-9, `flow ${i} -> ${j}`);
      });
      return got;
    };
    check([causal(6), causal(6), causal(6)], [0, 3, 5]);
    check([causal(9), causal(9)], [8]);
    const f = check([causal(5)], [4]);
    // One layer: a single edge per pair, so flow is the augmented weight itself.
    assert.ok(f[4] > 0.5);
    // Real model, a short text (Edmonds-Karp on dense matrices is slow past a few dozen nodes).
    const short = maps.map((m) => {
      const k = 12;
      const means = aggregateHeads(Array.from({ length: m.heads }, (_, h) => headOf(m, h)), 'mean');
      return restrictMap(means, [...Array(k).keys()], [...Array(k).keys()]);
    });
    check(short, [11, 6]);
    assert.throws(() => attentionFlow([mat(MAX_FLOW_TOKENS + 1, MAX_FLOW_TOKENS + 1)], [0]), /limited to 256 tokens/);
  });

  it('similarity: identical heads score 1 and group together; the README twins group too', () => {
    const heads = maps.flatMap((m) => Array.from({ length: m.heads }, (_, h) => headOf(m, h)));
    const copy = headOf(maps[0], 0);
    const all = [...heads, copy];
    for (const metric of ['cosine', 'js'] as const) {
      const sim = similarityMatrix(all, metric);
      const N = all.length;
      close(sim[0 * N + (N - 1)], 1, 1e-9, `${metric} identical`);
      // Independent cosine for one pair.
      if (metric === 'cosine') {
        const [a, b] = [heads[0].data, heads[6].data];
        let dot = 0, na = 0, nb = 0;
        a.forEach((x, i) => { dot += x * b[i]; na += x * x; nb += b[i] * b[i]; });
        close(sim[6], dot / Math.sqrt(na * nb), 1e-9, 'cosine L0H0-L1H2');
      }
      const groups = clusterBySimilarity(sim, N, { groups: 5 });
      const groupOf = (i: number) => groups.findIndex((g) => g.includes(i));
      assert.equal(groupOf(0), groupOf(N - 1), `${metric}: the copy joins its head`);
      // README: L1H2 is a previous-token head like L0H0, and L1H3 a first-token head like L0H1.
      assert.equal(groupOf(0), groupOf(6), `${metric}: L0H0 with L1H2 ${JSON.stringify(groups)}`);
      assert.equal(groupOf(1), groupOf(7), `${metric}: L0H1 with L1H3 ${JSON.stringify(groups)}`);
      assert.notEqual(groupOf(0), groupOf(1));
      assert.equal(groups.flat().length, N);
    }
    // Many heads on a long map: evenly spaced rows within the budget, and the picked rows intact.
    assert.deepEqual(comparedRows(69, 69, 8), [...Array(69).keys()]);
    const rows = comparedRows(900, 900, 144);
    assert.ok(rows.length < 900 && (144 * 143) / 2 * rows.length * 900 <= 4e7, `${rows.length} rows`);
    assert.deepEqual(rows.slice(0, 2), [0, Math.floor(900 / rows.length)]);
    const c = heads[0].cols;
    const picked = pickRows(heads[0], [3, 10]);
    assert.deepEqual(Array.from(picked.data), [...heads[0].data.subarray(3 * c, 4 * c), ...heads[0].data.subarray(10 * c, 11 * c)]);
    // A similarity floor stops merging: every head alone when the floor is above all pairs.
    const sim = similarityMatrix(heads, 'cosine');
    assert.equal(clusterBySimilarity(sim, heads.length, { groups: 1, minSimilarity: 1.01 }).length, heads.length);
  });

  it('filters: threshold and top-k on a map and on the head grid', () => {
    const m = mat(2, 4, [0.1, 0.4, 0.3, 0.2, 0.25, 0.25, 0.25, 0.25]);
    const f = filterMap(m, 0.15, 2);
    assert.deepEqual(Array.from(f.data).map((x) => (Number.isNaN(x) ? null : x)), [null, 0.4, 0.3, null, 0.25, 0.25, 0.25, 0.25]);
    assert.deepEqual(filterHeads([0.9, 0.1, 0.5, NaN, 0.7], 0.2, 2), [true, false, false, false, true]);
    assert.deepEqual(filterHeads([0.9, 0.1, 0.5], 0, 0), [true, true, true]);
  });

  it('hiding special tokens drops [BOS] and renormalises every row over the kept keys', () => {
    for (const t of ['[BOS]', '[CLS]', '[SEP]', '<s>', '</s>', '<|endoftext|>', '<|begin_of_text|>', ' <pad> ']) assert.ok(isSpecialToken(t), t);
    for (const t of ['[UNK]', 'the', '<', 's', '[', 'king']) assert.ok(!isSpecialToken(t), t);
    const kept = keptTokens(tokens, true);
    assert.equal(kept.length, tokens.length - 1);
    assert.equal(kept[0], 1);
    const m = maps[1];
    const n = m.queries;
    const r = restrictMap(headOf(m, 0), kept, kept);
    for (const [i, q] of kept.entries()) {
      const row = rowOf(m, 0, q);
      const s = row.slice(1).reduce((x, y) => x + y, 0);
      for (const [j, k] of kept.entries()) close(r.data[i * kept.length + j], row[k] / s, 1e-9, `(${q}, ${k})`);
    }
    assert.equal(r.rows, n - 1);
    // Nothing hidden: the map comes back unchanged (rows already sum to 1).
    const all = keptTokens(tokens, false);
    const same = restrictMap(headOf(m, 2), all, all);
    for (let i = 0; i < n * n; i++) close(same.data[i], m.data[2 * n * n + i], 1e-6);
  });
});
