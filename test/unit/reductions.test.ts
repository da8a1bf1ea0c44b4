/**
 * Reductions computed by ONNX ops beside each layer's probabilities (server/capture/reductions.ts)
 * against the host-side computations they replace: the panel's headStats (webview/analysis/
 * stats.ts), the runtime's block pooling (server/lsp/pooling.ts), and plain sums for the mass per
 * key and the mean over heads. A capture with maps 'none' must give the same figures without
 * handing over a single full map.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import type { LayerReductions } from '../../server/capture/layerReductions';
import { fromMap } from '../../server/capture/layerReductions';
import { openModel } from '../../server/capture/openModel';
import type { LayerMap } from '../../server/capture/types';
import { poolMaps } from '../../server/lsp/pooling';
import { headMat } from '../../webview/analysis/matrix';
import { headStats } from '../../webview/analysis/stats';
import { openHuggingFaceModel } from '../../server/hf/hfModel';
import { attentionOpGraph, hfStyleGraph, torchStyleGraph } from '../helpers/attentionGraphs';
import { bertFixture, gpt2Fixture, llamaFixture } from '../helpers/hfFixtures';
import { writeHfFolder } from '../helpers/writeCheckpoint';

const FIXTURES = join(__dirname, '..', 'fixtures', 'torch-exports');

/** |a - b| within 1e-6 of the larger magnitude (distances run to hundreds of positions). */
function close(a: number, b: number, what: string): void {
  if (Number.isNaN(b)) return assert.ok(Number.isNaN(a), `${what}: ${a} vs NaN`);
  assert.ok(Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b)), `${what}: graph ${a} vs host ${b}`);
}

function checkAgainstHost(r: LayerReductions, map: LayerMap, topK: number, pool: number): void {
  const { heads, queries: Q, keys: K } = map;
  assert.deepEqual([r.index, r.kind, r.heads, r.queries, r.keys], [map.index, map.kind, heads, Q, K]);
  for (let h = 0; h < heads; h++) {
    const host = headStats(headMat(map.data, h, Q, K), topK);
    close(r.stats.entropy[h], host.entropy, `L${map.index} H${h} entropy`);
    close(r.stats.distance[h], host.distance, `L${map.index} H${h} distance`);
    close(r.stats.first[h], host.first, `L${map.index} H${h} first`);
    close(r.stats.previous[h], host.previous, `L${map.index} H${h} previous`);
    close(r.stats.self[h], host.self, `L${map.index} H${h} self`);
    close(r.stats.topk[h], host.sparsity, `L${map.index} H${h} top-${topK} mass`);
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let q = 0; q < Q; q++) s += map.data[(h * Q + q) * K + k];
      close(r.columnMeans[h * K + k], s / Q, `L${map.index} H${h} mass on key ${k}`);
    }
  }
  if (pool <= 1) return assert.equal(r.pooled, undefined);
  const p = poolMaps(map.data, heads, Q, K, pool);
  assert.ok(r.pooled, 'pooled map');
  assert.deepEqual([r.pooled.pool, r.pooled.rows, r.pooled.cols], [pool, p.rows, p.cols]);
  p.max.forEach((v, i) => close(r.pooled!.max[i], v, `L${map.index} block max ${i}`));
  const cells = p.rows * p.cols;
  for (let i = 0; i < cells; i++) {
    let m = 0;
    for (let h = 0; h < heads; h++) m += p.mean[h * cells + i] / heads;
    close(r.pooled.headMean[i], m, `L${map.index} mean over heads, block ${i}`);
  }
}

describe('reductions in the graph', function () {
  this.timeout(60000);
  const dir = mkdtempSync(join(tmpdir(), 'attn-red-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const ids = Array.from({ length: 23 }, (_, i) => (i * 7 + 3) % 30);
  const cases: [string, () => string, number[]?][] = [
    ['torch-style export, 400 tokens', () => save('torch-long', torchStyleGraph({ layers: 2, seed: 7 }).bytes), Array.from({ length: 400 }, (_, i) => (i * 13 + 1) % 32)],
    ['torch-style export', () => save('torch', torchStyleGraph({ layers: 3, seed: 5 }).bytes)],
    ['Hugging Face-style export', () => save('hf', hfStyleGraph({ layers: 2, heads: 3, headDim: 4, seed: 21 }).bytes)],
    ['ONNX Attention op (opset 23)', () => save('op', attentionOpGraph({ layers: 2, heads: 2, headDim: 4, seed: 23 }).bytes)],
    ['real GPT-2 export (opset 17)', () => join(FIXTURES, 'gpt2-eager', 'model.onnx')],
    // Entropy comes from the softmax's input where that is exact; these two maps are not such
    // cases and must take the direct form: scores of -inf (0 · -inf is NaN) and scores so large
    // that Σ p s in float32 would drift.
    ['torch-style export with -inf masks', () => save('torch-inf', withInitializer(torchStyleGraph({ layers: 2, seed: 9 }).model, 'neg_big', -Infinity))],
    ['torch-style export with large scores', () => save('torch-sharp', withInitializer(torchStyleGraph({ layers: 2, seed: 11 }).model, 'sqrt_d', 0.02))],
  ];
  /** The model with one float scalar initializer set to `value`. */
  function withInitializer(model: onnx.IModelProto, name: string, value: number): Uint8Array {
    const t = (model.graph?.initializer ?? []).find((x) => x.name === name);
    if (!t) throw new Error(`no initializer ${name}`);
    t.rawData = new Uint8Array(Float32Array.of(value).buffer);
    return onnx.ModelProto.encode(model).finish();
  }
  function save(name: string, bytes: Uint8Array): string {
    const file = join(dir, `${name}.onnx`);
    writeFileSync(file, bytes);
    return file;
  }

  for (const [name, file, caseIds = ids] of cases) {
    it(`${name}: statistics, mass per key, pooled maps and mean over heads equal the host's`, async () => {
      const m = await openModel(file(), { executionProvider: 'cpu' });
      try {
        const topK = 2;
        const pool = 4;
        const maps: LayerMap[] = [];
        const full: LayerReductions[] = [];
        await m.capture({ ids: caseIds }, { topK, onLayer: (x) => void maps.push(x), onReductions: (r) => void full.push(r) });
        assert.equal(full.length, maps.length);
        full.forEach((r, i) => checkAgainstHost(r, maps[i], topK, 1));

        const reduced: LayerReductions[] = [];
        let handed = 0;
        const res = await m.capture({ ids: caseIds }, { topK, maps: 'none', poolFactor: () => pool, onLayer: () => void handed++, onReductions: (r) => void reduced.push(r) });
        assert.equal(handed, 0, 'no full map leaves the provider');
        assert.equal(res.layers.length, maps.length);
        reduced.forEach((r, i) => checkAgainstHost(r, maps[i], topK, pool));
        // The host fallback (layer-by-layer checkpoints, old opsets) agrees with both.
        maps.forEach((x) => checkAgainstHost(fromMap(x, topK, pool), x, topK, pool));
      } finally {
        await m.dispose();
      }
    });
  }

  const hfCases: [string, () => { config: object; tensors: Parameters<typeof writeHfFolder>[2]; prefix?: string; unprefixed?: string[] }][] = [
    ['gpt2', () => ({ ...gpt2Fixture(), prefix: 'transformer.' })],
    ['bert', () => { const f = bertFixture('bert'); return { config: f.config, tensors: f.tensors, prefix: 'bert.', unprefixed: f.heads }; }],
    ['llama (grouped-query)', () => llamaFixture({ heads: 4, kvHeads: 2 })],
  ];
  for (const [name, make] of hfCases) {
    for (const layerByLayer of [false, true]) {
      it(`built ${name} graph${layerByLayer ? ', layer by layer (host reductions)' : ''}: reductions equal the host's`, async () => {
        const f = make();
        const folder = join(dir, `${name.replace(/\W+/g, '_')}-${layerByLayer}`);
        writeHfFolder(folder, f.config, f.tensors, { prefix: f.prefix }, f.unprefixed ?? []);
        const m = await openHuggingFaceModel(folder, { executionProvider: 'cpu', layerByLayer });
        try {
          const hfIds = [3, 17, 5, 0, 22, 9, 31, 5, 12];
          const maps: LayerMap[] = [];
          const full: LayerReductions[] = [];
          await m.capture({ ids: hfIds }, { onLayer: (x) => void maps.push(x), onReductions: (r) => void full.push(r) });
          full.forEach((r, i) => checkAgainstHost(r, maps[i], 3, 1));
          const reduced: LayerReductions[] = [];
          let handed = 0;
          await m.capture({ ids: hfIds }, { maps: 'none', poolFactor: () => 2, onLayer: () => void handed++, onReductions: (r) => void reduced.push(r) });
          assert.equal(handed, 0);
          assert.equal(reduced.length, maps.length);
          reduced.forEach((r, i) => checkAgainstHost(r, maps[i], 3, 2));
        } finally {
          await m.dispose();
        }
      });
    }
  }
});
