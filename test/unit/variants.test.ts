/**
 * Part-1 attention variants run as ONNX graphs in onnxruntime-node, each checked against a plain
 * TypeScript transcription of its paper's equations (float64) on seeded random inputs, plus the
 * limits where a variant must reduce to exact attention. Seeded parameters (W_a, rotations,
 * random blocks) are drawn with the same generator; everything computed from them is redone here.
 * Tolerance 1e-5 absolute on outputs (float32 graph vs float64 reference).
 */
import { strict as assert } from 'node:assert';
import { getVariant } from '../../server/variants/registry';
import { runVariant } from '../../server/variants/runVariant';
import { gaussian, subSeed } from '../../server/variants/rng';
import { bigbirdLists } from '../../server/variants/bigbird';
import { compareToExact, jensenShannon, massKept } from '../../server/variants/metrics';
import type { VariantInputs, VariantParams } from '../../server/variants/types';

const TOL = 1e-5;

function inputs(n: number, d: number, causal: boolean, heads = 2, seed = 7): VariantInputs {
  const s = heads * n * d;
  return { q: gaussian(s, seed), k: gaussian(s, seed + 1), v: gaussian(s, seed + 2), heads, n, m: n, d, causal, seed };
}

const dot = (a: Float32Array, i: number, b: Float32Array, j: number, d: number) => {
  let s = 0;
  for (let c = 0; c < d; c++) s += a[i * d + c] * b[j * d + c];
  return s;
};

/** Generic reference: per (head, query) scores over allowed keys, softmax, weights · V. */
function reference(
  x: VariantInputs,
  score: (h: number, i: number, j: number) => number,
  allow: (h: number, i: number, j: number) => boolean = () => true,
  post: (h: number, i: number, j: number, w: number) => number = (_h, _i, _j, w) => w,
): { out: Float64Array; map: Float64Array } {
  const { heads, n, m, d } = x;
  const out = new Float64Array(heads * n * d);
  const map = new Float64Array(heads * n * m);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < n; i++) {
      const ok = (j: number) => allow(h, i, j) && (!x.causal || j <= i + m - n);
      let mx = -Infinity;
      for (let j = 0; j < m; j++) if (ok(j)) mx = Math.max(mx, score(h, i, j));
      let z = 0;
      for (let j = 0; j < m; j++) if (ok(j)) z += Math.exp(score(h, i, j) - mx);
      for (let j = 0; j < m; j++) {
        const w = ok(j) ? post(h, i, j, Math.exp(score(h, i, j) - mx) / z) : 0;
        map[(h * n + i) * m + j] = w;
        for (let c = 0; c < d; c++) out[(h * n + i) * d + c] += w * x.v[(h * m + j) * d + c];
      }
    }
  }
  return { out, map };
}

const scaled = (x: VariantInputs) => (h: number, i: number, j: number) =>
  dot(x.q, h * x.n + i, x.k, h * x.m + j, x.d) / Math.sqrt(x.d);

function close(actual: Float32Array | undefined, expected: Float64Array, tol = TOL, what = 'output'): void {
  assert.ok(actual, `${what} missing`);
  assert.equal(actual!.length, expected.length, `${what} length`);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual![i] - expected[i]));
  assert.ok(worst <= tol, `${what}: max abs error ${worst} > ${tol}`);
}

async function check(id: string, x: VariantInputs, params: VariantParams, ref: { out: Float64Array; map: Float64Array }, mapToo = true) {
  const r = await runVariant(getVariant(id), x, params);
  close(r.output, ref.out);
  if (mapToo) close(r.map, ref.map, TOL, 'map');
  return r;
}

describe('attention variants: scoring functions, exact kernels, sparse patterns (ONNX graphs vs paper equations)', () => {
  for (const causal of [false, true]) {
    const tag = causal ? 'causal' : 'bidirectional';
    const x = inputs(24, 8, causal);

    it(`exact = softmax(QKᵀ/√d)V (${tag})`, async () => {
      await check('exact', x, {}, reference(x, scaled(x)));
    });

    it(`flash equals exact for key tiles 1, 5, 7, 24, 64 and query tiles (${tag})`, async () => {
      const ref = reference(x, scaled(x));
      for (const p of <VariantParams[]>[{ keyTile: 1 }, { keyTile: 5 }, { keyTile: 7, queryTile: 5 }, { keyTile: 24 }, { keyTile: 64, queryTile: 10 }]) {
        await check('flash', x, p, ref);
      }
    });

    it(`chunked (Rabe & Staats) equals exact for chunks that do and do not divide n (${tag})`, async () => {
      const ref = reference(x, scaled(x));
      for (const p of [{ queryChunk: 8, keyChunk: 8 }, { queryChunk: 5, keyChunk: 7 }, { queryChunk: 24, keyChunk: 3 }, { queryChunk: 100, keyChunk: 100 }]) {
        await check('chunked', x, p, ref);
      }
    });

    it(`luong-dot: softmax(qᵀk) (${tag})`, async () => {
      await check('luong-dot', x, {}, reference(x, (h, i, j) => dot(x.q, h * x.n + i, x.k, h * x.m + j, x.d)));
    });

    it(`luong-general: qᵀ W_a k with the seeded W_a; noise 0 is exact (${tag})`, async () => {
      const { d } = x;
      const w = gaussian(x.heads * d * d, subSeed(x.seed, 11), 0.3 / Math.sqrt(d));
      for (let h = 0; h < x.heads; h++) for (let c = 0; c < d; c++) w[h * d * d + c * d + c] += 1 / Math.sqrt(d);
      const score = (h: number, i: number, j: number) => {
        let s = 0;
        for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) {
          s += x.q[(h * x.n + i) * d + a] * w[h * d * d + a * d + b] * x.k[(h * x.m + j) * d + b];
        }
        return s;
      };
      await check('luong-general', x, { noise: 0.3 }, reference(x, score));
      await check('luong-general', x, { noise: 0 }, reference(x, scaled(x)));
    });

    it(`bahdanau-additive: vᵀ tanh(W1 q + W2 k) with the seeded W1, W2, v (${tag})`, async () => {
      const { d } = x;
      const u = 6;
      const w1 = gaussian(x.heads * d * u, subSeed(x.seed, 21), 1 / Math.sqrt(d));
      const w2 = gaussian(x.heads * d * u, subSeed(x.seed, 22), 1 / Math.sqrt(d));
      const va = gaussian(x.heads * u, subSeed(x.seed, 23), 1 / Math.sqrt(u));
      const score = (h: number, i: number, j: number) => {
        let e = 0;
        for (let a = 0; a < u; a++) {
          let t = 0;
          for (let c = 0; c < d; c++) {
            t += x.q[(h * x.n + i) * d + c] * w1[(h * d + c) * u + a] + x.k[(h * x.m + j) * d + c] * w2[(h * d + c) * u + a];
          }
          e += va[h * u + a] * Math.tanh(t);
        }
        return e;
      };
      await check('bahdanau-additive', x, { units: u }, reference(x, score));
    });

    it(`decomposable: softmax(F(q)ᵀF(k)) with F the seeded two-layer ReLU network (Parikh et al. 2016, eq. 1-2) (${tag})`, async () => {
      const { d } = x;
      const u = 5;
      const w1 = gaussian(x.heads * d * u, subSeed(x.seed, 31), Math.sqrt(2 / d));
      const b1 = gaussian(x.heads * u, subSeed(x.seed, 32), 0.1);
      const w2 = gaussian(x.heads * u * u, subSeed(x.seed, 33), Math.sqrt(2 / u));
      const b2 = gaussian(x.heads * u, subSeed(x.seed, 34), 0.1);
      const F = (h: number, src: Float32Array, row: number): number[] => {
        const hidden = Array.from({ length: u }, (_, a) => {
          let t = b1[h * u + a];
          for (let c = 0; c < d; c++) t += src[row * d + c] * w1[(h * d + c) * u + a];
          return Math.max(0, t);
        });
        return Array.from({ length: u }, (_, a) => {
          let t = b2[h * u + a];
          for (let c = 0; c < u; c++) t += hidden[c] * w2[(h * u + c) * u + a];
          return Math.max(0, t);
        });
      };
      const score = (h: number, i: number, j: number) => {
        const fq = F(h, x.q, h * x.n + i);
        const fk = F(h, x.k, h * x.m + j);
        return fq.reduce((s, v, a) => s + v * fk[a], 0);
      };
      await check('decomposable', x, { units: u }, reference(x, score));
    });

    it(`graves-cosine: softmax(β cos(q, k)) (${tag})`, async () => {
      const norm = (a: Float32Array, r: number) => Math.sqrt(dot(a, r, a, r, x.d));
      const score = (h: number, i: number, j: number) =>
        (5 * dot(x.q, h * x.n + i, x.k, h * x.m + j, x.d)) / (norm(x.q, h * x.n + i) * norm(x.k, h * x.m + j));
      await check('graves-cosine', x, { beta: 5 }, reference(x, score));
    });

    it(`luong-location: softmax(W_a q_t) over positions (${tag})`, async () => {
      const { d, m } = x;
      const wa = gaussian(x.heads * d * m, subSeed(x.seed, 31), 1 / Math.sqrt(d));
      const score = (h: number, i: number, j: number) => {
        let s = 0;
        for (let c = 0; c < d; c++) s += x.q[(h * x.n + i) * d + c] * wa[(h * d + c) * m + j];
        return s;
      };
      await check('luong-location', x, {}, reference(x, score));
    });

    it(`luong-local-p: predicted centre, window ±D, Gaussian σ = D/2 (${tag})`, async () => {
      const { d, m } = x;
      const D = 4;
      const wp = gaussian(x.heads * d * d, subSeed(x.seed, 51), 1 / Math.sqrt(d));
      const vp = gaussian(x.heads * d, subSeed(x.seed, 52), 1 / Math.sqrt(d));
      const centre = (h: number, i: number) => {
        let z = 0;
        for (let a = 0; a < d; a++) {
          let t = 0;
          for (let c = 0; c < d; c++) t += x.q[(h * x.n + i) * d + c] * wp[(h * d + c) * d + a];
          z += Math.tanh(t) * vp[h * d + a];
        }
        return m / (1 + Math.exp(-z));
      };
      const ref = reference(x, scaled(x), (h, i, j) => Math.abs(j - centre(h, i)) <= D,
        (h, i, j, w) => w * Math.exp(-((j - centre(h, i)) ** 2) / (2 * (D / 2) ** 2)));
      await check('luong-local-p', x, { D }, ref);
    });

    it(`longformer: window |i-j| <= w plus global tokens; w >= n is exact (${tag})`, async () => {
      const w = 3;
      const g = 2;
      const ref = reference(x, scaled(x), (_h, i, j) => Math.abs(i - j) <= w || i < g || j < g);
      await check('longformer', x, { window: w, globals: g }, ref);
      await check('longformer', x, { window: 5, globals: 0 }, reference(x, scaled(x), (_h, i, j) => Math.abs(i - j) <= 5));
      await check('longformer', x, { window: x.n, globals: 1 }, reference(x, scaled(x)));
    });

    it(`bigbird: window, global and seeded random blocks; covering blocks are exact (${tag})`, async () => {
      const b = 4;
      const lists = bigbirdLists(x, b, 1, 1);
      const ref = reference(x, scaled(x), (_h, i, j) => i < b || lists.blocks[Math.floor(i / b)].includes(Math.floor(j / b)));
      await check('bigbird', x, { block: b, globals: 1, random: 1 }, ref);
      await check('bigbird', x, { block: b, globals: 1, random: x.n / b }, reference(x, scaled(x)));
    });

    it(`reformer-lsh: angular LSH, sort, chunk + previous chunk within a bucket; one bucket is exact (${tag})`, async () => {
      const { heads, n, d } = x;
      const buckets = 4;
      const c = 5;
      const rot = gaussian(heads * d * (buckets / 2), subSeed(x.seed, 61));
      const hashOf = (a: Float32Array, h: number, i: number) => {
        let best = -Infinity;
        let arg = 0;
        for (let r = 0; r < buckets; r++) {
          let t = 0;
          for (let e = 0; e < d; e++) t += a[(h * n + i) * d + e] * rot[(h * d + e) * (buckets / 2) + (r % (buckets / 2))];
          const val = r < buckets / 2 ? t : -t;
          if (val > best) { best = val; arg = r; }
        }
        return arg;
      };
      // Rank of each position in the (bucket, position) order, for queries and keys separately.
      const ranks = (a: Float32Array, h: number) => {
        const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => hashOf(a, h, i) - hashOf(a, h, j) || i - j);
        const rank = new Array<number>(n);
        order.forEach((p, r) => { rank[p] = r; });
        return rank;
      };
      const qr = [0, 1].map((h) => ranks(x.q, h));
      const kr = [0, 1].map((h) => ranks(x.k, h));
      const sameChunk = (h: number, i: number, j: number) => {
        const qc = Math.floor(qr[h][i] / c);
        const kc = Math.floor(kr[h][j] / c);
        return (kc === qc || kc === qc - 1) && hashOf(x.q, h, i) === hashOf(x.k, h, j);
      };
      const ref = reference(x, scaled(x), sameChunk);
      await check('reformer-lsh', x, { buckets, chunk: c }, ref, false);
      const r = await check('reformer-lsh', x, { buckets: 1, chunk: n }, reference(x, scaled(x)), false);
      assert.ok(r.map!.every((v, i) => v === (x.causal && (i % n) > Math.floor(i / n) % n ? 0 : 1)), 'one bucket: co-membership everywhere');
    });
  }
});

describe('variant metrics', () => {
  it('JS divergence is 0 for equal rows and 1 bit for disjoint rows; massKept sums the pattern', () => {
    const p = Float32Array.of(0.5, 0.5, 0, 0, 1, 0);
    const q = Float32Array.of(0, 0, 1, 0, 1, 0);
    assert.ok(Math.abs(jensenShannon(p, q, 3) - 0.5) < 1e-12);
    assert.ok(Math.abs(massKept(p, Float32Array.of(1, 0, 0, 0, 1, 0)) - 0.75) < 1e-12);
  });

  it('compareToExact: exact tiled kernels score relL2 ~ 0 and JS ~ 0, sparse ones report kept mass', async () => {
    const x = inputs(32, 16, false);
    const ref = await runVariant(getVariant('exact'), x);
    const f = await runVariant(getVariant('flash'), x, { keyTile: 7 });
    const mf = compareToExact(getVariant('flash'), { keyTile: 7 }, x, f, ref);
    assert.ok(mf.relL2 < 1e-5 && mf.cosine > 1 - 1e-6 && mf.js! < 1e-9 && mf.massKept === null);
    const lp = { window: 2, globals: 0 };
    const l = await runVariant(getVariant('longformer'), x, lp);
    const ml = compareToExact(getVariant('longformer'), lp, x, l, ref);
    let kept = 0;
    for (let h = 0; h < 2; h++) for (let i = 0; i < 32; i++) for (let j = 0; j < 32; j++) {
      if (Math.abs(i - j) <= 2) kept += ref.map![(h * 32 + i) * 32 + j];
    }
    assert.ok(Math.abs(ml.massKept! - kept / 64) < 1e-6, `massKept ${ml.massKept} vs ${kept / 64}`);
    assert.ok(ml.relL2 > 0.01 && ml.js! > 0);
  });
});
