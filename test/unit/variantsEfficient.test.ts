/**
 * The efficient attention variants (linear, low-rank, random features, gated, hierarchical, mixtures) against independent float64 references written here from the
 * papers' equations (efficientVariantsReference.ts), on seeded random inputs, plus the limits where a variant must equal exact
 * softmax attention. Graphs run with onnxruntime-node, as in the product.
 */
import { strict as assert } from 'node:assert';
import { gaussian, subSeed } from '../../server/variants/rng';
import type { VariantInputs } from '../../server/variants/types';
import { linear } from '../../server/variants/linear';
import { performer, randomFeatures } from '../../server/variants/performer';
import { linformer } from '../../server/variants/linformer';
import { mega } from '../../server/variants/mega';
import { megaParams, type EmaParams } from '../../server/variants/megaParams';
import { moa } from '../../server/variants/moa';
import { expertMaps, switchHead } from '../../server/variants/switchHead';
import { hat } from '../../server/variants/hat';
import { structuredSelfAttention } from '../../server/variants/structuredSelfAttention';

import {
  type Mat, all, build, causalMask, close, dot, exactRef, flat, heads3, inputs, kernelRef, matmul, rowsOf, run,
  softmaxAttention, T, topk,
} from './efficientVariantsReference';

describe('efficient attention variants (linear, low-rank, random features, gated, hierarchical, mixtures)', () => {
  for (const isCausal of [false, true]) {
    it(`linear attention (elu+1) matches the paper's equations, ${isCausal ? 'causal' : 'bidirectional'}`, async () => {
      const x = inputs(2, 24, 8, isCausal);
      const phi = (m: Mat) => m.map((r) => r.map((v) => (v > 0 ? v + 1 : Math.exp(v))));
      const Q = heads3(x.q, 2, 24, 8), K = heads3(x.k, 2, 24, 8), V = heads3(x.v, 2, 24, 8);
      const ref = Q.map((_, h) => kernelRef(phi(Q[h]), phi(K[h]), V[h], isCausal));
      // Causal chunks that divide n, do not (padding), are 1 token, and cover n.
      for (const chunk of isCausal ? [8, 5, 1, 64] : [64]) {
        const { out, map } = await build(linear, x, { chunk });
        close(out, flat(ref.map((r) => r.out)), 1e-5, `output (chunk ${chunk})`);
        close(map!, flat(ref.map((r) => r.map)), 1e-5, `map (chunk ${chunk})`);
      }
    });

    it(`performer positive random features match exp(wᵀx − |x|²/2)/√r, ${isCausal ? 'causal' : 'bidirectional'}`, async () => {
      const x = inputs(2, 20, 8, isCausal, 3);
      const r = 16;
      const { out, map } = await build(performer, x, { features: r });
      const W = randomFeatures(8, r, x.seed, true);
      const phi = (m: Mat) => m.map((row) => {
        const xs = row.map((v) => v * 8 ** -0.25);
        const sq = dot(xs, xs) / 2;
        return Array.from({ length: r }, (_, f) => Math.exp(dot(Array.from(W.subarray(f * 8, f * 8 + 8)), xs) - sq) / Math.sqrt(r));
      });
      const Q = heads3(x.q, 2, 20, 8), K = heads3(x.k, 2, 20, 8), V = heads3(x.v, 2, 20, 8);
      const ref = Q.map((_, h) => kernelRef(phi(Q[h]), phi(K[h]), V[h], isCausal));
      // The graph's stabilisers (row and head maxima) must cancel: the reference has none.
      close(out, flat(ref.map((r) => r.out)), 1e-5, 'output');
      close(map!, flat(ref.map((r) => r.map)), 1e-5, 'map');
    });
  }

  it('linear attention with a cached prefix (m > n): query i sees keys j <= i + m − n', async () => {
    const [H, n, m, d] = [2, 6, 10, 8];
    const x: VariantInputs = { q: gaussian(H * n * d, 21), k: gaussian(H * m * d, 22), v: gaussian(H * m * d, 23), heads: H, n, m, d, causal: true, seed: 1 };
    const { out, map } = await build(linear, x);
    const phi = (a: Mat) => a.map((r) => r.map((v) => (v > 0 ? v + 1 : Math.exp(v))));
    const Q = heads3(x.q, H, n, d), K = heads3(x.k, H, m, d), V = heads3(x.v, H, m, d);
    const ref = Q.map((_, h) => {
      const sim = phi(Q[h]).map((qi, i) => phi(K[h]).map((kj, j) => (j <= i + m - n ? dot(qi, kj) : 0)));
      const probs = sim.map((row) => { const z = row.reduce((a, b) => a + b, 0); return row.map((v) => v / z); });
      return { out: matmul(probs, V[h]), probs };
    });
    close(out, flat(ref.map((r) => r.out)), 1e-5, 'output');
    close(map!, flat(ref.map((r) => r.probs)), 1e-5, 'map');
  });

  it('performer orthogonal features: blocks orthogonal, and many features approach exact softmax', async () => {
    const W = randomFeatures(8, 16, 5, true);
    const row = (i: number) => Array.from(W.subarray(i * 8, i * 8 + 8));
    for (const [a, b] of [[0, 1], [2, 7], [8, 15]]) assert.ok(Math.abs(dot(row(a), row(b))) < 1e-4, `rows ${a},${b} orthogonal`);
    const x = inputs(2, 16, 8, false, 9);
    for (let i = 0; i < x.q.length; i++) { x.q[i] *= 0.5; x.k[i] *= 0.5; }
    const { map } = await build(performer, x, { features: 4096 });
    const ref = flat(exactRef(x).probs);
    const worst = Math.max(...ref.map((p, i) => Math.abs(map![i] - p)));
    assert.ok(worst < 0.03, `map within 0.03 of softmax with 4096 features (worst ${worst})`);
  });

  it('performer with RFA sin/cos features on ℓ2-normalised q, k (Peng et al. eq. 5), causal', async () => {
    const [H, n, d, r, sigma] = [2, 16, 8, 12, 0.8];
    const x = inputs(H, n, d, true, 8);
    const { out, map } = await build(performer, x, { features: r, trig: 1, sigma, orthogonal: 0 });
    const W = randomFeatures(d, r, x.seed, false);
    const phi = (m: Mat) => m.map((row) => {
      const len = Math.hypot(...row);
      const z = Array.from({ length: r }, (_, f) => dot(Array.from(W.subarray(f * d, (f + 1) * d)), row) / len / sigma);
      return [...z.map(Math.sin), ...z.map(Math.cos)].map((v) => v / Math.sqrt(r));
    });
    const Q = heads3(x.q, H, n, d), K = heads3(x.k, H, n, d), V = heads3(x.v, H, n, d);
    const ref = Q.map((_, h) => kernelRef(phi(Q[h]), phi(K[h]), V[h], true));
    // Signed sin/cos features can make Σ_j φ(q)·φ(k) small, which amplifies float32 rounding: 1e-4.
    close(out, flat(ref.map((q) => q.out)), 1e-4, 'output');
    close(map!, flat(ref.map((q) => q.map)), 1e-4, 'map');
  });

  it('linformer with seeded projections matches softmax(Q(EK)ᵀ/√d)(FV), and P·F as the map', async () => {
    const x = inputs(2, 32, 8, false, 4);
    const k = 8;
    const built = linformer.build(x, { k });
    const res = await run(built, []);
    // E and F regenerated from the documented construction (seeded N(0, 1/k)).
    const E = gaussian(k * 32, subSeed(x.seed, 21), 1 / Math.sqrt(k)), F = gaussian(k * 32, subSeed(x.seed, 22), 1 / Math.sqrt(k));
    const toMat = (a: Float32Array): Mat => Array.from({ length: k }, (_, i) => Array.from(a.subarray(i * 32, (i + 1) * 32)));
    const Q = heads3(x.q, 2, 32, 8), K = heads3(x.k, 2, 32, 8), V = heads3(x.v, 2, 32, 8);
    const ref = Q.map((_, h) => softmaxAttention(Q[h], matmul(toMat(E), K[h]), matmul(toMat(F), V[h]), all));
    close(res[built.outputName], flat(ref.map((r) => r[0])), 1e-5, 'output');
    close(res[built.mapName!], flat(ref.map((r) => matmul(r[1], toMat(F)))), 1e-5, 'map');
  });

  it('linformer with mean-pooling projections averages keys and values over m/k positions', async () => {
    const [H, n, d, k] = [2, 30, 8, 4];
    const x = inputs(H, n, d, false, 5);
    const { out, map } = await build(linformer, x, { k, projection: 1 });
    const bounds = [0, 7, 15, 22, 30]; // ⌊i·30/4⌋
    const pool = (a: Mat): Mat => bounds.slice(0, k).map((b0, i) => {
      const rows = a.slice(b0, bounds[i + 1]);
      return rows[0].map((_, c) => rows.reduce((acc, r) => acc + r[c], 0) / rows.length);
    });
    const Q = heads3(x.q, H, n, d), K = heads3(x.k, H, n, d), V = heads3(x.v, H, n, d);
    const ref = Q.map((_, h) => softmaxAttention(Q[h], pool(K[h]), pool(V[h]), all));
    close(out, flat(ref.map((r) => r[0])), 1e-5, 'output');
    const spread = ref.map((r) => r[1].map((row) => Array.from({ length: n }, (_, j) => {
      const i = bounds.findIndex((b, t) => j >= b && j < bounds[t + 1]);
      return row[i] / (bounds[i + 1] - bounds[i]);
    })));
    close(map!, flat(spread), 1e-5, 'map');
  });

  for (const isCausal of [false, true]) {
    it(`linformer with k = n (identity projections) equals exact attention, ${isCausal ? 'causal' : 'bidirectional'}`, async () => {
      const x = inputs(2, 16, 8, isCausal, 6);
      const { out, map } = await build(linformer, x, { k: 16 });
      const ref = exactRef(x);
      close(out, flat(ref.out), 1e-5, 'output');
      close(map!, flat(ref.probs), 1e-5, 'map');
    });
  }

  for (const isCausal of [true, false]) {
    it(`mega: EMA recurrence, single gated head and update gate match eqs. 3, 6-13, ${isCausal ? 'causal' : 'bidirectional'}`, async () => {
      const [H, n, d, D, e, z] = [2, 16, 8, 12, 4, 8];
      const x = inputs(H, n, d, isCausal, 11, D);
      const built = mega.build(x, { emaDim: e, zDim: z });
      const res = await run(built, ['layer']);
      const p = megaParams(D, e, z, H * d, x.seed);
      const Xraw = rowsOf(x.hidden!, n, D);
      // Pre-norm: each token's states to mean 0, variance 1 (biased, ε = 1e-5).
      const X: Mat = Xraw.map((row) => {
        const mu = row.reduce((a, b) => a + b, 0) / D;
        const vr = row.reduce((a, b) => a + (b - mu) ** 2, 0) / D;
        return row.map((v) => (v - mu) / Math.sqrt(vr + 1e-5));
      });
      // EMA by its recurrence, h_t = α⊙βx_t + (1 − α⊙δ)⊙h_{t−1}, y_t = ηᵀh_t.
      const emaRun = (q: EmaParams, order: number[]): Mat => {
        const y: Mat = Array.from({ length: n }, () => new Array(D).fill(0));
        for (let c = 0; c < D; c++) for (let i = 0; i < e; i++) {
          const a = c * e + i;
          let h = 0;
          for (const t of order) {
            h = q.alpha[a] * q.beta[a] * X[t][c] + (1 - q.alpha[a] * q.delta[a]) * h;
            y[t][c] += q.eta[a] * h;
          }
        }
        return y;
      };
      const idx = Array.from({ length: n }, (_, t) => t);
      let Xe = emaRun(p.fwd, idx);
      if (!isCausal) { const b = emaRun(p.bwd, [...idx].reverse()); Xe = Xe.map((r, t) => r.map((v, c) => v + b[t][c])); }
      const m2 = (a: Float32Array, rows: number, cols: number): Mat => Array.from({ length: rows }, (_, i) => Array.from(a.subarray(i * cols, (i + 1) * cols)));
      const silu = (v: number) => v / (1 + Math.exp(-v));
      const sig = (v: number) => 1 / (1 + Math.exp(-v));
      const Z = matmul(Xe, m2(p.wz, D, z)).map((r) => r.map((v, j) => silu(v + p.bz[j])));
      const Qm = Z.map((r) => r.map((v, j) => v * p.kq[j] + p.mq[j]));
      const Km = Z.map((r) => r.map((v, j) => v * p.kk[j] + p.mk[j]));
      const Vcat: Mat = idx.map((t) => Array.from({ length: H * d }, (_, c) => x.v[(Math.floor(c / d) * n + t) * d + (c % d)]));
      const [O, P] = softmaxAttention(Qm, Km, Vcat, isCausal ? causalMask : all, 1 / Math.sqrt(z));
      const gam = matmul(Xe, m2(p.wg, D, H * d)).map((r) => r.map((v, j) => silu(v + p.bg[j])));
      const gated = O.map((r, t) => r.map((v, c) => v * gam[t][c]));
      const headsOut = Array.from({ length: H }, (_, h) => idx.map((t) => gated[t].slice(h * d, (h + 1) * d)));
      close(res[built.outputName], flat(headsOut), 1e-5, 'output');
      close(res[built.mapName!], P.flat(), 1e-5, 'map');
      const a1 = matmul(Xe, m2(p.wh, D, D)), a2 = matmul(gated, m2(p.uh, H * d, D)), f = matmul(Xe, m2(p.wf, D, D));
      const Y = idx.map((t) => Array.from({ length: D }, (_, c) => {
        const hh = silu(a1[t][c] + a2[t][c] + p.bh[c]);
        const ph = sig(f[t][c] + p.bf[c]);
        return ph * hh + (1 - ph) * Xraw[t][c];
      }));
      close(res.layer, Y.flat(), 1e-5, 'layer output');
      assert.deepEqual(built.mapDims, [1, n, n]);
    });
  }

  it('mega without hidden states runs on the concatenated queries and says so; a cached prefix and mis-sized hidden states are clear errors', () => {
    const x = inputs(2, 8, 4, true, 2);
    assert.match(mega.build(x, {}).notes.join(' '), /no hidden states captured/);
    assert.throws(() => mega.build({ ...x, m: 4, k: x.k.subarray(0, 32), v: x.v.subarray(0, 32) }, {}), /mega: .*n=8, m=4/);
    assert.throws(() => moa.build({ ...x, hidden: new Float32Array(10), dModel: 4 }, {}), /hidden states have 10 values, expected n × dModel = 8 × 4/);
  });


  it('moa: per-token top-k heads with softmax gates renormalised over the chosen ones (eqs. 2-5)', async () => {
    const [H, n, d, D, k] = [4, 16, 8, 12, 2];
    const x = inputs(H, n, d, true, 13, D);
    const { built, out, map } = await build(moa, x, { topK: k });
    const Wg = rowsOf(gaussian(D * H, subSeed(x.seed, 41), 1 / Math.sqrt(D)), D, H);
    const logits = matmul(rowsOf(x.hidden!, n, D), Wg);
    const gates = logits.map((l) => {
      const chosen = topk(l, k);
      const z = chosen.reduce((a, i) => a + Math.exp(l[i]), 0);
      return l.map((v, i) => (chosen.includes(i) ? Math.exp(v) / z : 0));
    });
    const ex = exactRef(x).out;
    close(out, flat(ex.map((hm, h) => hm.map((row, t) => row.map((v) => v * gates[t][h])))), 1e-5, 'output');
    close(map!, gates.flat(), 1e-5, 'routing map');
    assert.deepEqual(built.mapDims, [1, n, H]);
    assert.ok(gates.every((g) => g.filter((w) => w > 0).length === k));
  });

  it('moa with k = all heads and uniform routing equals the mean of the heads', async () => {
    const [H, n, d] = [2, 16, 8];
    const x = inputs(H, n, d, false, 14);
    const { out, map } = await build(moa, x, { topK: H, routerScale: 0 });
    const ex = exactRef(x).out;
    const mean = ex[0].map((row, t) => row.map((_, c) => ex.reduce((a, hm) => a + hm[t][c], 0) / H));
    const summed = Array.from({ length: n * d }, (_, i) => out[i] + out[n * d + i]);
    close(summed, mean.flat(), 1e-5, 'Σ_i w_i head_i vs mean of heads');
    close(map!, new Array(n * H).fill(1 / H), 1e-6, 'uniform gates');
  });

  it('switchhead: sigmoid top-k value and output experts per head (eqs. 6-10)', async () => {
    const [H, n, d, D, E, k] = [2, 16, 8, 12, 4, 2];
    const x = inputs(H, n, d, true, 15, D);
    const built = switchHead.build(x, { experts: E, topK: k, expertNoise: 0.1, routerScale: 1 });
    const res = await run(built, ['valueGates']);
    const X = rowsOf(x.hidden!, n, D);
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    const gatesFor = (salt: number) => Array.from({ length: H }, (_, h) => {
      const W = rowsOf(gaussian(H * D * E, subSeed(x.seed, salt), 1 / Math.sqrt(D)).subarray(h * D * E, (h + 1) * D * E), D, E);
      return matmul(X, W).map((l) => { const s = l.map(sig); const c = topk(s, k); return s.map((v, e) => (c.includes(e) ? v : 0)); });
    });
    const gv = gatesFor(51), go = gatesFor(52);
    const Rv = expertMaps(H, E, d, 0.1, subSeed(x.seed, 53)), Ro = expertMaps(H, E, d, 0.1, subSeed(x.seed, 54));
    const R = (all: Float32Array, h: number, e: number) => rowsOf(all.subarray((h * E + e) * d * d, (h * E + e + 1) * d * d), d, d);
    const mix = (t: Mat, gates: Mat, all: Float32Array, h: number): Mat =>
      t.map((row, i) => {
        const acc = new Array(d).fill(0);
        for (let e = 0; e < E; e++) if (gates[i][e] !== 0) matmul([row], R(all, h, e))[0].forEach((v, c) => (acc[c] += gates[i][e] * v));
        return acc;
      });
    const Q = heads3(x.q, H, n, d), K = heads3(x.k, H, n, d), V = heads3(x.v, H, n, d);
    const ref = Q.map((_, h) => mix(softmaxAttention(Q[h], K[h], mix(V[h], gv[h], Rv, h), causalMask)[0], go[h], Ro, h));
    close(res[built.outputName], flat(ref), 1e-5, 'output');
    close(res[built.mapName!], flat(go), 1e-5, 'output gates');
    close(res.valueGates, flat(gv), 1e-5, 'value gates');
  });

  it('switchhead with identity experts and zero selection weights is (k·σ(0))² times exact attention', async () => {
    const x = inputs(2, 16, 8, false, 16);
    const { out } = await build(switchHead, x, { experts: 4, topK: 3, expertNoise: 0, routerScale: 0 });
    close(out, flat(exactRef(x).out).map((v) => v * 1.5 * 1.5), 1e-5, 'output');
  });

  for (const isCausal of [false, true]) {
    it(`hat: own-segment keys plus other segments' representatives, ${isCausal ? 'causal' : 'bidirectional'}`, async () => {
      const [H, n, d, s] = [2, 32, 8, 8];
      const x = inputs(H, n, d, isCausal, 17);
      const { out, map } = await build(hat, x, { segment: s });
      const Q = heads3(x.q, H, n, d), K = heads3(x.k, H, n, d), V = heads3(x.v, H, n, d);
      const seg = (i: number) => Math.floor(i / s);
      const ref = Q.map((_, h) => {
        const probs = Q[h].map((qi, i) => {
          const rep = Q[h][seg(i) * s];
          const sc = K[h].map((kj, j) => {
            if (seg(j) === seg(i)) return !isCausal || j <= i ? dot(qi, kj) / Math.sqrt(d) : -Infinity;
            if (j % s === 0 && (!isCausal || seg(j) < seg(i))) return dot(rep, kj) / Math.sqrt(d);
            return -Infinity;
          });
          const mx = Math.max(...sc);
          const e = sc.map((v) => (v === -Infinity ? 0 : Math.exp(v - mx)));
          const z = e.reduce((a, b) => a + b, 0);
          return e.map((v) => v / z);
        });
        return { out: matmul(probs, V[h]), probs };
      });
      close(out, flat(ref.map((r) => r.out)), 1e-5, 'output');
      close(map!, flat(ref.map((r) => r.probs)), 1e-5, 'map');
    });
  }

  it('hat with one segment covering all tokens equals exact attention', async () => {
    for (const isCausal of [false, true]) {
      const x = inputs(2, 24, 8, isCausal, 18);
      const { out, map, built } = await build(hat, x, { segment: 24 });
      const ref = exactRef(x);
      close(out, flat(ref.out), 1e-5, 'output');
      close(map!, flat(ref.probs), 1e-5, 'map');
      assert.match(built.notes.join(' '), /one segment, so exact attention/);
    }
  });

  it('structured self-attention: A = softmax(W_s2 tanh(W_s1 Hᵀ)), M = AH and ‖AAᵀ − I‖_F²', async () => {
    const [n, D, r, da] = [20, 12, 3, 10];
    const x = inputs(2, n, 8, true, 19, D);
    const built = structuredSelfAttention.build(x, { hops: r, da });
    const res = await run(built, ['penalty']);
    const Hs = rowsOf(x.hidden!, n, D);
    const W1t = rowsOf(gaussian(D * da, subSeed(x.seed, 61), 1 / Math.sqrt(D)), D, da);
    const W2t = rowsOf(gaussian(da * r, subSeed(x.seed, 62), 1 / Math.sqrt(da)), da, r);
    const logits = T(matmul(matmul(Hs, W1t).map((row) => row.map(Math.tanh)), W2t)); // [r, n]
    const A = logits.map((l) => { const mx = Math.max(...l); const e = l.map((v) => Math.exp(v - mx)); const z = e.reduce((a, b) => a + b, 0); return e.map((v) => v / z); });
    const M = matmul(A, Hs);
    const AAt = matmul(A, T(A));
    const penalty = AAt.reduce((acc, row, i) => acc + row.reduce((a, v, j) => a + (v - (i === j ? 1 : 0)) ** 2, 0), 0);
    close(res[built.outputName], M.flat(), 1e-5, 'embedding M');
    close(res[built.mapName!], A.flat(), 1e-5, 'hops A');
    close(res.penalty, [penalty], 1e-5, 'penalty');
    assert.deepEqual(built.outputDims, [1, r, D]);
    assert.deepEqual(built.mapDims, [1, r, n]);
    assert.ok(penalty > 0 && penalty < r, `penalty ${penalty} within (0, r)`);
  });
});
