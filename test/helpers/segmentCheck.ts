/**
 * The check every model form gets for segmented capture: the maps of a capture (each segment
 * run once) equal the same graph run whole in one onnxruntime session with every site's
 * probabilities as outputs, and a layer recomputed from the capture's stored boundary equals
 * that layer of the capture, tile by tile.
 */
import { strict as assert } from 'node:assert';
import * as ort from 'onnxruntime-node';
import { buildFeeds, planFeeds } from '../../server/capture/onnxFeeds';
import type { SegmentedGraph } from '../../server/capture/segmentedGraph';
import type { CaptureInput, LayerMap, OpenedModel } from '../../server/capture/types';
import { findAttention } from '../../server/onnx/attentionFinder';
import { expandFusedAttention } from '../../server/onnx/fusedAttention';
import { externalDataSessionOptions, readOnnxModel } from '../../server/onnx/modelFile';
import { exposeAttention, serializeModel } from '../../server/onnx/surgery';
import { buildFullModel, familyGraph } from '../../server/hf/buildModel';
import { openCheckpoint } from '../../server/hf/checkpoint';
import { readHfConfig } from '../../server/hf/config';
import { hostInput } from '../../server/hf/hostInputs';

export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'lengths differ');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Every site's probabilities from one run of the whole graph (no segments). */
export async function wholeGraphMaps(file: string, ids: number[], targetIds?: number[]): Promise<Float32Array[]> {
  const loaded = readOnnxModel(file);
  const graph = expandFusedAttention(loaded.model, file);
  const sites = findAttention(graph, file);
  const session = await ort.InferenceSession.create(serializeModel(exposeAttention(graph, sites)), {
    ...externalDataSessionOptions(loaded),
    executionProviders: ['cpu'],
    logSeverityLevel: 3,
  });
  try {
    const out = await session.run(buildFeeds(planFeeds(graph, file), ids, file, targetIds), sites.map((s) => s.output));
    return sites.map((s) => out[s.output].data as Float32Array);
  } finally {
    await session.release();
  }
}

/** The segments of an opened model (ONNX files and whole-graph Hugging Face models have them). */
export function segmentsOf(model: OpenedModel): SegmentedGraph {
  const g = (model as unknown as { segments?: SegmentedGraph }).segments;
  assert.ok(g, 'the model runs as segments');
  return g;
}

/**
 * Captures `input`, checks each segment ran exactly once and that the maps equal `reference`
 * within 1e-6, then recomputes every layer from the stored boundaries and compares one tile
 * (the last head, the lower half of the rows, the first half of the keys) and the whole map.
 */
export async function checkSegmentedCapture(model: OpenedModel, input: CaptureInput, reference: Float32Array[]): Promise<LayerMap[]> {
  const segments = segmentsOf(model);
  segments.resetCounts();
  const maps: LayerMap[] = [];
  const result = await model.capture(input, { onLayer: (m) => void maps.push(m) });
  assert.deepEqual(segments.runs, maps.map(() => 1), 'each segment runs once per capture');
  assert.equal(maps.length, reference.length);
  maps.forEach((m, i) => assert.ok(maxDiff(m.data, reference[i]) <= 1e-6, `layer ${i}: segmented differs from whole by ${maxDiff(m.data, reference[i])}`));
  assert.ok(result.recompute, 'the capture can recompute a layer');
  for (const m of maps) {
    const again = await result.recompute(m.index);
    const h = m.heads - 1;
    const q0 = Math.floor(m.queries / 2);
    const k1 = Math.max(1, Math.ceil(m.keys / 2));
    for (let q = q0; q < m.queries; q++) {
      const at = (h * m.queries + q) * m.keys;
      assert.deepEqual(again.data.subarray(at, at + k1), m.data.subarray(at, at + k1), `layer ${m.index} tile row ${q}`);
    }
    assert.ok(maxDiff(again.data, m.data) === 0, `layer ${m.index}: recomputed map differs`);
  }
  const reruns = segments.runs.reduce((a, b) => a + b, 0);
  assert.equal(reruns, 2 * maps.length, 'a recompute runs one segment');
  return maps;
}

/** Every layer's probabilities of a Hugging Face folder's built graph, run whole in one session. */
export async function wholeBuiltMaps(folder: string, ids: number[]): Promise<Float32Array[]> {
  const cfg = readHfConfig(folder);
  const src = await openCheckpoint(folder);
  try {
    const built = await buildFullModel(cfg, familyGraph(cfg, src, folder), src);
    const session = await ort.InferenceSession.create(built.bytes, { executionProviders: ['cpu'], logSeverityLevel: 3 });
    try {
      const feeds: Record<string, ort.Tensor> = {};
      for (const n of built.hostInputs) {
        const t = hostInput(cfg, ids, n, folder);
        feeds[n] = new ort.Tensor(t.type, t.data, t.dims);
      }
      const out = await session.run(feeds);
      return Array.from({ length: cfg.layers }, (_, i) => out[`attn_${i}`].data as Float32Array);
    } finally {
      await session.release();
    }
  } finally {
    await src.close();
  }
}
