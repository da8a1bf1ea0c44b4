/**
 * Long inputs run in groups of layers, each with a model cut down to that group: only its maps
 * as outputs and only the nodes they need. The cut models must give the same maps as the whole
 * one (checked against the plain-TypeScript reference) while holding fewer nodes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { groupModel, neededNodes } from '../../server/capture/groupModel';
import { openOnnxModel } from '../../server/capture/onnxModel';
import type { LayerMap } from '../../server/capture/types';
import { findAttention } from '../../server/onnx/attentionFinder';
import { attentionOpGraph, hfStyleGraph, referenceProbabilities, type TinyTransformer } from '../helpers/attentionGraphs';

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('group models for long inputs', function () {
  this.timeout(60000);
  const dir = mkdtempSync(join(tmpdir(), 'attn-group-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps only the nodes a group needs and declares only its maps as outputs', () => {
    const t = hfStyleGraph({ layers: 4, heads: 2, headDim: 4, seed: 3 });
    const sites = findAttention(t.model, 'm.onnx');
    const all = t.model.graph!.node!.length;
    const first = groupModel(t.model, [sites[0]]);
    const third = groupModel(t.model, [sites[1], sites[2]]);
    assert.deepEqual(first.graph!.output!.map((o) => o.name), [sites[0].output]);
    assert.deepEqual(third.graph!.output!.map((o) => o.name), [sites[1].output, sites[2].output]);
    const n0 = first.graph!.node!.length;
    const n2 = third.graph!.node!.length;
    assert.ok(n0 < n2 && n2 < all, `nodes: layer 0 ${n0}, layers 1-2 ${n2}, whole ${all}`);
    // The classifier (last MatMul + Softmax) and the last layer's weights are gone.
    const weights = new Set(third.graph!.initializer!.map((w) => w.name));
    assert.ok(!weights.has('classifier') && !weights.has('l3_wq') && weights.has('l2_wq'));
    // neededNodes on a chain a -> b -> c: asking for b keeps a and b only.
    const chain = [
      { opType: 'Relu', input: ['x'], output: ['a'] },
      { opType: 'Relu', input: ['a'], output: ['b'] },
      { opType: 'Relu', input: ['b'], output: ['c'] },
    ];
    assert.deepEqual(neededNodes(chain, ['b']), [0, 1]);
  });

  const cases: [string, () => TinyTransformer][] = [
    ['Softmax graphs', () => hfStyleGraph({ layers: 3, heads: 2, headDim: 4, seed: 21 })],
    ['ONNX Attention ops (qk_matmul_output)', () => attentionOpGraph({ layers: 3, heads: 2, headDim: 4, seed: 23 })],
  ];
  for (const [name, make] of cases) {
    it(`captures the same maps one layer per run as in one run (${name})`, async () => {
      const t = make();
      const file = join(dir, `${name.replace(/\W+/g, '_')}.onnx`);
      writeFileSync(file, t.bytes);
      const ids = [2, 9, 4, 30, 1, 5];
      const m = await openOnnxModel(file, { executionProvider: 'cpu' });
      try {
        const maps: LayerMap[] = [];
        const log: string[] = [];
        await m.capture({ ids }, { memoryBudgetBytes: 1, onLayer: (x) => void maps.push(x), log: (l) => log.push(l) });
        assert.ok(log.some((l) => /maps returned in 3 runs/.test(l)), log.join(' | '));
        const ref = referenceProbabilities(t, ids);
        assert.deepEqual(maps.map((x) => x.index), [0, 1, 2]);
        maps.forEach((x, i) => assert.ok(maxDiff(x.data, ref[i]) < 1e-5, `layer ${i}: ${maxDiff(x.data, ref[i])}`));
      } finally {
        await m.dispose();
      }
    });
  }
});
