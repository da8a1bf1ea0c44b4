/**
 * The AttentionViz normalisation of the query–key view leaves every attention weight as it was
 * (keys translated onto the queries' centroid, queries and keys scaled to one mean norm), and
 * the projections place every point: PCA's first axis is the direction of largest variance,
 * checked against the power method on the covariance computed here.
 */
import assert from 'node:assert/strict';
import { embedQk, normaliseGroup, type QkGroup } from '../../webview/internals/qkGeometry';
import { neuronRow } from '../../webview/internals/neuronMath';
import { rng } from '../helpers/writeCheckpoint';

function group(rows: number, d: number, seed: number): QkGroup {
  const r = rng(seed);
  const q = Float32Array.from({ length: rows * d }, () => r(2) + 0.5);
  const k = Float32Array.from({ length: rows * d }, () => r(1) - 1.5);
  return { head: 0, rows, d, q, k, tokens: Array.from({ length: rows }, (_, i) => `t${i}`), text: new Int32Array(rows), position: Int32Array.from({ length: rows }, (_, i) => i) };
}

function softmaxRows(q: ArrayLike<number>, k: ArrayLike<number>, rows: number, d: number): number[][] {
  return Array.from({ length: rows }, (_, i) => {
    const s = Array.from({ length: rows }, (_, j) => Array.from({ length: d }, (_, c) => q[i * d + c] * k[j * d + c]).reduce((a, b) => a + b, 0));
    const mx = Math.max(...s);
    const z = s.reduce((a, v) => a + Math.exp(v - mx), 0);
    return s.map((v) => Math.exp(v - mx) / z);
  });
}

describe('query–key geometry (AttentionViz normalisation, projections, neuron view)', () => {
  it('translation and scaling keep every softmax row, equalise mean norms and centroids', () => {
    const g = group(30, 8, 4);
    const v = normaliseGroup(g);
    const { rows, d } = g;
    const before = softmaxRows(g.q, g.k, rows, d);
    const after = softmaxRows(v.subarray(0, rows * d), v.subarray(rows * d), rows, d);
    before.forEach((r, i) => r.forEach((p, j) => assert.ok(Math.abs(p - after[i][j]) < 1e-9, `(${i}, ${j})`)));
    const norm = (o: number) => Math.hypot(...v.subarray(o * d, (o + 1) * d));
    const mq = Array.from({ length: rows }, (_, i) => norm(i)).reduce((a, b) => a + b) / rows;
    const mk = Array.from({ length: rows }, (_, i) => norm(rows + i)).reduce((a, b) => a + b) / rows;
    assert.ok(Math.abs(mq - mk) < 1e-9 * mq, `mean norms ${mq} and ${mk}`);
    // Centroids coincide up to the scaling: centroid(k)·a = centroid(q)/a.
    const cq = Array.from({ length: d }, (_, c) => Array.from({ length: rows }, (_, i) => v[i * d + c]).reduce((a, b) => a + b) / rows);
    const ck = Array.from({ length: d }, (_, c) => Array.from({ length: rows }, (_, i) => v[(rows + i) * d + c]).reduce((a, b) => a + b) / rows);
    const ratio = cq[0] / ck[0];
    cq.forEach((x, c) => assert.ok(Math.abs(x - ratio * ck[c]) < 1e-9));
  });

  it('PCA’s first coordinate is the projection on the top principal direction', () => {
    const g = group(40, 6, 9);
    const pts = embedQk([g], 'pca');
    assert.equal(pts.count, 80);
    const { vectors: v, d } = pts;
    const n = pts.count;
    const mean = Array.from({ length: d }, (_, c) => Array.from({ length: n }, (_, i) => v[i * d + c]).reduce((a, b) => a + b) / n);
    const cov = Array.from({ length: d }, (_, a) => Array.from({ length: d }, (_, b) => Array.from({ length: n }, (_, i) => (v[i * d + a] - mean[a]) * (v[i * d + b] - mean[b])).reduce((x, y) => x + y) / (n - 1)));
    let w = Array.from({ length: d }, (_, c) => 1 + c);
    for (let it = 0; it < 500; it++) {
      const nw = cov.map((row) => row.reduce((a, x, c) => a + x * w[c], 0));
      const len = Math.hypot(...nw);
      w = nw.map((x) => x / len);
    }
    const proj = Array.from({ length: n }, (_, i) => w.reduce((a, x, c) => a + x * (v[i * d + c] - mean[c]), 0));
    const sign = Math.sign(proj[0] * pts.x[0]) || 1;
    proj.forEach((p, i) => assert.ok(Math.abs(sign * p - pts.x[i]) < 1e-4, `point ${i}: ${pts.x[i]} vs ${sign * p}`));
    assert.deepEqual([...pts.isQuery.slice(0, 40)].every((x) => x === 1), true);
    assert.deepEqual(pts.tokens.slice(40, 42), ['t0', 't1']);
  });

  it('UMAP places every point, deterministically', () => {
    const g = group(25, 5, 2);
    const a = embedQk([g], 'umap');
    const b = embedQk([g], 'umap');
    assert.equal(a.count, 50);
    assert.ok([...a.x, ...a.y].every(Number.isFinite));
    assert.deepEqual([...a.x], [...b.x]);
  });

  it('the neuron view’s products sum to the scores, and its softmax masks the future for causal heads', () => {
    const g = group(6, 3, 5);
    const r = neuronRow({ head: 0, query: 2, n: 6, d: 3, q: g.q, k: g.k, scale: 0.5, causal: true, tokens: g.tokens });
    for (let j = 0; j <= 2; j++) {
      const dot = Array.from({ length: 3 }, (_, c) => g.q[2 * 3 + c] * g.k[j * 3 + c]).reduce((a, b) => a + b);
      assert.ok(Math.abs(r.scores[j] - 0.5 * dot) < 1e-9);
      assert.ok(Math.abs([0, 1, 2].reduce((a, c) => a + r.products[c * 6 + j], 0) - dot) < 1e-9);
    }
    assert.ok(Number.isNaN(r.scores[3]) && r.softmax[3] === 0);
    assert.ok(Math.abs(r.softmax.reduce((a, b) => a + b) - 1) < 1e-12);
  });
});
