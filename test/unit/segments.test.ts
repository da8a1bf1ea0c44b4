/**
 * Segmented capture: the model cut at attention-layer boundaries found from the graph, each
 * segment run once, boundaries kept so one layer can be recomputed alone. Maps must equal the
 * whole graph run in one session, for every form of exported attention the runtime reads.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkLayerFits, largestLength, layerPeakBytes } from '../../server/capture/layerMemory';
import { openOnnxModel, outputLimits } from '../../server/capture/onnxModel';
import { UserError } from '../../common/errors';
import { cutSegments } from '../../server/capture/segments';
import { findAttention } from '../../server/onnx/attentionFinder';
import { attentionOpGraph, hfStyleGraph, referenceProbabilities, torchStyleGraph, type TinyTransformer } from '../helpers/attentionGraphs';
import { checkSegmentedCapture, maxDiff, segmentsOf, wholeGraphMaps } from '../helpers/segmentCheck';

describe('segmented capture', function () {
  this.timeout(60000);
  const dir = mkdtempSync(join(tmpdir(), 'attn-seg-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('cuts between layers where only the residual stream is alive, whatever the tensors are named', () => {
    const t = hfStyleGraph({ layers: 4, heads: 2, headDim: 4, seed: 3 });
    const graph = t.model.graph!;
    // Names carry no meaning: rename every activation to an opaque one first.
    const rename = new Map<string, string>();
    let next = 0;
    const name = (x: string) => (x === '' || (graph.initializer ?? []).some((w) => w.name === x) || (graph.input ?? []).some((v) => v.name === x) ? x : (rename.get(x) ?? (rename.set(x, `v${next++}`), rename.get(x)!)));
    const nodes = graph.node!.map((n) => ({ ...n, name: '', input: n.input!.map(name), output: n.output!.map(name) }));
    const renamed = { ...graph, node: nodes, output: graph.output!.map((o) => ({ ...o, name: name(o.name!) })) };
    const sites = findAttention({ ...t.model, graph: renamed }, 'm.onnx').map((s) => s.output);
    const specs = cutSegments(renamed, sites, renamed.output.map((o) => o.name!));
    assert.equal(specs.length, 4);
    // Every node is in exactly one segment (constant helpers aside), and each later segment
    // reads the one activation that leaves the block before it, plus graph inputs.
    const seen = new Set<string>();
    for (const s of specs) for (const n of s.nodes) for (const o of n.output ?? []) seen.add(o);
    assert.ok(nodes.every((n) => n.output.every((o) => seen.has(o))));
    const activations = specs.slice(1).map((s) => s.inputs.filter((x) => !(graph.input ?? []).some((v) => v.name === x)));
    // What every layer reads (the attention mask made once from the input) comes from segment 0;
    // besides it, each boundary is one tensor, the stream the previous segment ends with.
    const shared = activations[0].filter((x) => activations.every((a) => a.includes(x)));
    assert.equal(shared.length, 2, `mask tensors: ${shared.join(', ')}`);
    assert.ok(shared.every((x) => specs[0].outputs.includes(x)));
    const stream = activations.map((a) => a.filter((x) => !shared.includes(x)));
    assert.deepEqual(stream.map((a) => a.length), [1, 1, 1], JSON.stringify(activations));
    stream.forEach((a, i) => assert.ok(specs[i].outputs.includes(a[0]), `segment ${i} ends with the stream segment ${i + 1} reads`));
    // Segment k holds site k; the classifier is in the last segment.
    specs.forEach((s, i) => assert.equal(s.sites[0], sites[i]));
  });

  const forms: [string, () => TinyTransformer][] = [
    ['torch-style export ([batch*heads, q, k])', () => torchStyleGraph({ layers: 3, seed: 5 })],
    ['Hugging Face-style export ([batch, heads, q, k], mask input)', () => hfStyleGraph({ layers: 3, heads: 2, headDim: 4, seed: 21 })],
    ['ONNX Attention op (qk_matmul_output)', () => attentionOpGraph({ layers: 3, heads: 2, headDim: 4, seed: 23 })],
  ];
  for (const [form, make] of forms) {
    it(`${form}: maps equal one whole-graph run, each segment runs once, layers recompute from boundaries`, async () => {
      const t = make();
      const file = join(dir, `${form.replace(/\W+/g, '_')}.onnx`);
      writeFileSync(file, t.bytes);
      const ids = [2, 9, 4, 30, 1, 5, 7];
      const m = await openOnnxModel(file, { executionProvider: 'cpu' });
      try {
        assert.equal(segmentsOf(m).count, 3);
        const whole = await wholeGraphMaps(file, ids);
        const maps = await checkSegmentedCapture(m, { ids }, whole);
        // And both equal the plain-TypeScript reference.
        const ref = referenceProbabilities(t, ids);
        maps.forEach((x, i) => assert.ok(maxDiff(x.data, ref[i]) < 1e-5, `layer ${i}`));
      } finally {
        await m.dispose();
      }
    });
  }

  it('maps past what one onnxruntime output can hold come out one head at a time, equal to the whole run', async () => {
    const t = hfStyleGraph({ layers: 3, heads: 3, headDim: 4, seed: 29 });
    const file = join(dir, 'per-head.onnx');
    writeFileSync(file, t.bytes);
    const ids = [5, 1, 8, 2, 9, 3];
    const m = await openOnnxModel(file, { executionProvider: 'cpu' });
    const saved = outputLimits.bytes;
    outputLimits.bytes = 1;
    try {
      await checkSegmentedCapture(m, { ids }, await wholeGraphMaps(file, ids));
    } finally {
      outputLimits.bytes = saved;
      await m.dispose();
    }
  });
});

describe('lengths one attention layer cannot hold', () => {
  it('are refused in one line naming the largest length that fits, which does fit', () => {
    const free = 6 * 2 ** 30;
    assert.doesNotThrow(() => checkLayerFits(12, 4096, 'gpt2.onnx', free));
    let message = '';
    try {
      checkLayerFits(12, 16384, 'gpt2.onnx', free);
    } catch (e) {
      assert.ok(e instanceof UserError);
      message = e.message;
    }
    const m = /^gpt2\.onnx: 16384 tokens need about 48\.0 GiB for one attention layer .* at most (\d+) tokens here \(--max-tokens\)$/.exec(message);
    assert.ok(m, message);
    const largest = Number(m[1]);
    assert.ok(layerPeakBytes(12, largest) <= free && layerPeakBytes(12, largest + 1) > free, `${largest} is the largest length that fits`);
    assert.equal(largestLength(12, free), largest);
  });
});
