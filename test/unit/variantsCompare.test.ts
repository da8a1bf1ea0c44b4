/**
 * Q/K/V capture from a real ONNX graph (the committed tiny-gpt sample) and the compare command:
 * exact attention recomputed from the captured Q, K, V must reproduce the probabilities the
 * capture engine reads from the same model (a different code path), and compare.json must hold
 * the figures that follow from it. Shape normalisation and scale recovery are checked on small
 * hand-made tensors.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpy } from '../../server/capture/npy';
import { openModel } from '../../server/capture/openModel';
import type { LayerMap } from '../../server/capture/types';
import { main } from '../../server/cli';
import { extendInputs } from '../../server/variants/mechanismsRun';
import { openQkvSource } from '../../server/variants/qkvCapture';
import { looksCausal, normaliseQkv, scoreScale } from '../../server/variants/qkvShapes';
import { gaussian } from '../../server/variants/rng';
import { compareVariants } from '../../server/variants/mechanismsRun';
import { llamaFixture } from '../helpers/hfFixtures';
import { writeHfFolder } from '../helpers/writeCheckpoint';
import { UserError } from '../../common/errors';

const MODEL = join(__dirname, '..', '..', 'samples', 'tiny-gpt');
const TEXT = 'the cat sat on the mat . the cat sat on the mat';

async function silently<T>(f: () => Promise<T>): Promise<T> {
  const write = process.stdout.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    return await f();
  } finally {
    process.stdout.write = write;
  }
}

describe('Q/K/V capture and the compare command', () => {
  let engineMaps: LayerMap[];
  let out: string;

  before(async () => {
    const model = await openModel(MODEL, { executionProvider: 'cpu' });
    engineMaps = [];
    await model.capture({ text: TEXT }, { onLayer: (m) => { engineMaps.push(m); } });
    await model.dispose();
    out = mkdtempSync(join(tmpdir(), 'ai-compare-'));
  });
  after(() => rmSync(out, { recursive: true, force: true }));

  it('captures layer 1 Q/K/V whose exact softmax(qk/√d) equals the engine\'s map', async () => {
    const src = await openQkvSource(MODEL, 1, 'cpu');
    const c = await src.capture((await src.resolve({ text: TEXT })).ids);
    await src.dispose();
    const { heads, n, m, d, q, k, causal } = c.inputs;
    const ref = engineMaps[1];
    assert.deepEqual([heads, n, m], [ref.heads, ref.queries, ref.keys]);
    assert.equal(d, 119);
    assert.ok(causal);
    assert.ok(Math.abs(c.scale - 1 / Math.sqrt(119)) < 1e-4, `scale ${c.scale}`);
    let worst = 0;
    for (let h = 0; h < heads; h++) for (let i = 0; i < n; i++) {
      const s: number[] = [];
      for (let j = 0; j <= i; j++) {
        let dot = 0;
        for (let e = 0; e < d; e++) dot += q[(h * n + i) * d + e] * k[(h * m + j) * d + e];
        s.push(dot / Math.sqrt(d));
      }
      const mx = Math.max(...s);
      const z = s.reduce((a, b) => a + Math.exp(b - mx), 0);
      for (let j = 0; j < m; j++) {
        const p = j <= i ? Math.exp(s[j] - mx) / z : 0;
        worst = Math.max(worst, Math.abs(p - ref.data[(h * n + i) * m + j]));
      }
    }
    assert.ok(worst < 1e-4, `max |Δp| ${worst}`);
  });

  it('compare writes compare.json and maps: exact kernels at 0, window >= n keeps all mass', async () => {
    const code = await silently(() => main([
      'compare', '--model', MODEL, '--text', TEXT, '--layer', '0', '--variants', 'flash,chunked,longformer,reformer-lsh',
      '--set', 'flash.keyTile=5,longformer.window=64', '--seq-lengths', '40', '--extend', 'repeat', '--repeats', '1', '--ep', 'cpu', '--out', out,
    ]));
    assert.equal(code, 0);
    const j = JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8'));
    const byId = Object.fromEntries(j.variants.map((v: { id: string }) => [v.id, v]));
    assert.deepEqual(Object.keys(byId), ['exact', 'flash', 'chunked', 'longformer', 'reformer-lsh']);
    assert.equal(byId.exact.relL2, 0);
    assert.ok(byId.flash.relL2 < 1e-5 && byId.chunked.relL2 < 1e-5 && byId.flash.js < 1e-9);
    assert.equal(byId.flash.params.keyTile, 5);
    assert.ok(Math.abs(byId.longformer.massKept - 1) < 1e-6);
    assert.equal(byId['reformer-lsh'].js, null);
    assert.ok(j.exactVsModelMaxAbs < 1e-4);
    const exactMap = readNpy(join(out, 'exact.npy'));
    const ref = engineMaps[0];
    assert.deepEqual(exactMap.shape, [ref.heads, ref.queries, ref.keys]);
    let worst = 0;
    for (let i = 0; i < ref.data.length; i++) worst = Math.max(worst, Math.abs(exactMap.data[i] - ref.data[i]));
    assert.ok(worst < 1e-4);
    assert.equal(j.lengths[0].n, 40);
    assert.match(j.lengths[0].qkvSource, /^repeat/);
    assert.ok(j.lengths[0].variants.find((v: { id: string }) => v.id === 'chunked').relL2 < 1e-5);
  });

  it('captures Q/K/V of a Hugging Face llama folder (grouped-query, RoPE) that reproduce its map', async () => {
    const dir = join(out, 'llama');
    const { config, tensors } = llamaFixture({ heads: 4, kvHeads: 2 });
    writeHfFolder(dir, config, tensors);
    const ids = [3, 17, 5, 0, 22, 9, 31, 5, 12];
    const model = await openModel(dir, { executionProvider: 'cpu' });
    const maps: LayerMap[] = [];
    await model.capture({ ids }, { onLayer: (m) => { maps.push(m); } });
    await model.dispose();
    const src = await openQkvSource(dir, 1, 'cpu');
    const c = await src.capture(ids);
    await src.dispose();
    assert.deepEqual([c.inputs.heads, c.inputs.n, c.inputs.d, c.inputs.causal], [4, 9, 4, true]);
    const { reference } = await compareVariants(['exact'], { ...c.inputs, seed: 1 });
    let worst = 0;
    for (let i = 0; i < maps[1].data.length; i++) worst = Math.max(worst, Math.abs(reference.map![i] - maps[1].data[i]));
    assert.ok(worst < 1e-4, `max |Δp| ${worst}`);
  });

  it('refuses an out-of-range layer and an unknown variant with one clear line', async () => {
    await assert.rejects(openQkvSource(MODEL, 7, 'cpu'), (e: Error) => e instanceof UserError && /--layer 7 is out of range \(the model has 2/.test(e.message));
    await assert.rejects(
      silently(() => main(['compare', '--model', MODEL, '--text', TEXT, '--layer', '0', '--variants', 'exact,nope', '--out', out])),
      (e: Error) => e instanceof UserError && /unknown attention variant "nope"/.test(e.message),
    );
  });
});

describe('Q/K/V normalisation', () => {
  it('transposes Kᵀ, repeats grouped K/V heads, and reads causality off the map', () => {
    // 2 query heads, 1 kv head, n = m = 2, d = 2. Kᵀ [1, d, m] = [[1, 2], [3, 4]] -> K rows (1,3), (2,4).
    const q = { data: Float32Array.from([1, 0, 0, 1, 1, 1, 2, 2]), dims: [1, 2, 2, 2] };
    const kt = { data: Float32Array.from([1, 2, 3, 4]), dims: [1, 1, 2, 2] };
    const v = { data: Float32Array.from([5, 6, 7, 8]), dims: [1, 1, 2, 2] };
    const x = normaliseQkv(q, kt, v, 'test');
    assert.deepEqual([x.heads, x.n, x.m, x.d], [2, 2, 2, 2]);
    assert.deepEqual([...x.k], [1, 3, 2, 4, 1, 3, 2, 4]);
    assert.deepEqual([...x.v], [5, 6, 7, 8, 5, 6, 7, 8]);
    assert.ok(looksCausal(Float32Array.from([1, 0, 0.5, 0.5]), 1, 2, 2));
    assert.ok(!looksCausal(Float32Array.from([0.9, 0.1, 0.5, 0.5]), 1, 2, 2));
  });

  it('recovers the score factor of softmax(s·qk) and tiles rows for longer inputs', () => {
    const heads = 2, n = 12, d = 4, s = 0.37;
    const q = gaussian(heads * n * d, 3);
    const k = gaussian(heads * n * d, 4);
    const p = new Float32Array(heads * n * n);
    for (let h = 0; h < heads; h++) for (let i = 0; i < n; i++) {
      const row = Array.from({ length: n }, (_, j) => {
        let dot = 0;
        for (let e = 0; e < d; e++) dot += q[(h * n + i) * d + e] * k[(h * n + j) * d + e];
        return Math.exp(s * dot);
      });
      const z = row.reduce((a, b) => a + b, 0);
      row.forEach((w, j) => { p[(h * n + i) * n + j] = w / z; });
    }
    assert.ok(Math.abs(scoreScale({ q, k, heads, n, m: n, d }, p) - s) < 1e-4);
    const x = { q, k, v: k, heads, n, m: n, d, causal: false, seed: 1 };
    const long = extendInputs(x, 30, 'repeat');
    assert.deepEqual([...long.q.subarray((30 + 13) * d, (30 + 14) * d)], [...q.subarray((n + 1) * d, (n + 2) * d)]);
  });
});
