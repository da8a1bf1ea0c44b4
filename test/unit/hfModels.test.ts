/**
 * Hugging Face checkpoints rebuilt as ONNX graphs and run by onnxruntime-node, per family,
 * against the independent float64 reference passes of test/helpers/hfReference.ts: logits and
 * every attention map within 1e-4, with weights stored as F32, F16 and BF16, single-file and
 * sharded, with and without the model prefix.
 */
import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LayerMap } from '../../server/capture/types';
import { openHuggingFaceModel, type HfModel } from '../../server/hf/hfModel';
import { bertFixture, gpt2Fixture, llamaFixture, type HfConfig } from '../helpers/hfFixtures';
import { bertReference, gpt2Reference, llamaReference, type RefOutput } from '../helpers/hfReference';
import { checkpointsFolder, stored, writeHfFolder, type FolderOptions, type Tensors } from '../helpers/writeCheckpoint';
import { checkSegmentedCapture, maxDiff, wholeBuiltMaps } from '../helpers/segmentCheck';

const checkpoints = checkpointsFolder('hf-models-');

interface Case {
  name: string;
  config: HfConfig;
  tensors: Tensors;
  opts: FolderOptions;
  unprefixed?: string[];
  reference: (c: HfConfig, w: (n: string) => Float32Array, ids: number[]) => RefOutput;
  ids: number[];
  tokenizer?: object;
  text?: string;
  /** Name as written to the file, when it differs from the canonical one. */
  rename?: (name: string) => string;
}

/** Writes the folder, captures, and checks every map and the logits against the reference. */
async function check(c: Case): Promise<{ maps: LayerMap[]; ref: RefOutput; model: HfModel }> {
  const dir = join(checkpoints.path, c.name);
  const written = c.rename ? Object.fromEntries(Object.entries(c.tensors).map(([n, t]) => [c.rename!(n), t])) : c.tensors;
  writeHfFolder(dir, c.config, written, c.opts, (c.unprefixed ?? []).map(c.rename ?? ((n) => n)));
  if (c.tokenizer) writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(c.tokenizer));
  const model = (await openHuggingFaceModel(dir, { executionProvider: 'cpu', layerByLayer: false })) as HfModel;
  try {
    const maps: LayerMap[] = [];
    const res = await model.capture(c.text !== undefined ? { text: c.text } : { ids: c.ids }, { onLayer: (m) => void maps.push(m) });
    assert.deepEqual(res.ids, c.ids);
    const weights = (n: string) => {
      const t = c.tensors[n];
      if (!t) throw new Error(`fixture has no ${n}`);
      return stored(t, c.opts.dtype ?? 'F32').data;
    };
    const ref = c.reference(c.config, weights, c.ids);
    const T = c.ids.length;
    assert.equal(maps.length, ref.attn.length);
    maps.forEach((m, l) => {
      assert.equal(m.index, l);
      assert.deepEqual([m.queries, m.keys], [T, T]);
      assert.ok(maxDiff(m.data, ref.attn[l]) < 1e-4, `${c.name} layer ${l}: attention differs by ${maxDiff(m.data, ref.attn[l])}`);
    });
    assert.ok(model.lastLogits);
    assert.ok(maxDiff(model.lastLogits.data, ref.logits) < 1e-4, `${c.name}: logits differ by ${maxDiff(model.lastLogits.data, ref.logits)}`);
    // The built graph runs as one segment per layer: the same maps as the graph run whole.
    await checkSegmentedCapture(model, { ids: c.ids }, await wholeBuiltMaps(dir, c.ids));
    return { maps, ref, model };
  } finally {
    await model.dispose();
  }
}

const ids = [3, 17, 5, 0, 22, 9, 31, 5, 12];

describe('Hugging Face checkpoints as ONNX graphs', () => {
  it('gpt2 (GPT2LMHeadModel names with "transformer.", tied head) matches the reference', async () => {
    const { config, tensors } = gpt2Fixture();
    const { maps } = await check({ name: 'gpt2', config, tensors, opts: { prefix: 'transformer.' }, reference: gpt2Reference, ids });
    // Causal: nothing above the diagonal.
    assert.equal(maps[0].data[1], 0);
  });

  it('bert (BertForMaskedLM, tied decoder, TF-style LayerNorm gamma/beta) matches the reference, text through a WordPiece tokenizer.json', async () => {
    const { config, tensors, heads } = bertFixture('bert');
    const tokenizer = {
      version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer: null,
      pre_tokenizer: { type: 'Whitespace' }, post_processor: null, decoder: null,
      model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: { '[UNK]': 0, the: 1, cat: 2, sat: 3, on: 4, mat: 5, '##s': 6 } },
    };
    await check({ name: 'bert', config, tensors, opts: { prefix: 'bert.' }, unprefixed: heads, reference: bertReference, ids: [1, 2, 6, 3, 4, 1, 5], tokenizer, text: 'the cats sat on the mat',
      rename: (n) => n.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta') });
  });

  it('roberta (positions from padding_idx + 1) with F16 weights matches the reference', async () => {
    const { config, tensors, heads } = bertFixture('roberta');
    await check({ name: 'roberta', config, tensors, opts: { prefix: 'roberta.', dtype: 'F16' }, unprefixed: heads, reference: bertReference, ids });
  });

  it('llama with grouped-query attention, llama3 rope_scaling and BF16 weights matches the reference', async () => {
    const { config, tensors } = llamaFixture({
      heads: 4, kvHeads: 2,
      extra: { rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 } },
    });
    await check({ name: 'llama', config, tensors, opts: { dtype: 'BF16' }, reference: llamaReference, ids });
  });

  it('mistral with a sliding window shorter than the text, sharded in 3 files, matches the reference', async () => {
    const { config, tensors } = llamaFixture({ modelType: 'mistral', heads: 4, kvHeads: 1, tie: true, extra: { sliding_window: 3 } }, 4);
    const { maps } = await check({ name: 'mistral', config, tensors, opts: { shards: 3 }, reference: llamaReference, ids });
    // Query 8 sees keys 6..8 only.
    const T = ids.length;
    const row = Array.from(maps[1].data.subarray(8 * T, 9 * T));
    assert.deepEqual(row.slice(0, 6), [0, 0, 0, 0, 0, 0]);
    assert.ok(Math.abs(row[6] + row[7] + row[8] - 1) < 1e-5);
  });

  it('qwen2 with q/k/v biases, tied embeddings and F16 weights matches the reference', async () => {
    const { config, tensors } = llamaFixture({ modelType: 'qwen2', heads: 2, kvHeads: 1, tie: true }, 5);
    await check({ name: 'qwen2', config, tensors, opts: { dtype: 'F16' }, reference: llamaReference, ids });
  });

  it('gemma (√hidden embeddings, (1 + w) norms, tanh GELU from the default hidden_activation, head tied by default) matches the reference', async () => {
    const { config, tensors } = llamaFixture({ modelType: 'gemma', heads: 4, kvHeads: 1 }, 6);
    assert.equal(config.tie_word_embeddings, undefined);
    assert.equal(config.hidden_act, 'gelu');
    await check({ name: 'gemma', config, tensors, opts: {}, reference: llamaReference, ids });
  });

  it('runs layer by layer with the same maps and logits as the whole graph', async () => {
    const { config, tensors } = llamaFixture({ heads: 4, kvHeads: 2, layers: 3 }, 6);
    const dir = join(checkpoints.path, 'layered');
    writeHfFolder(dir, config, tensors);
    const ref = llamaReference(config, (n) => tensors[n].data, ids);
    // 512 bytes: the head's [40, 16] vocabulary matrix streams in 7-row chunks (a layer exceeds it, and says so).
    const lines: string[] = [];
    const model = (await openHuggingFaceModel(dir, { executionProvider: 'cpu', layerByLayer: true, memoryBudgetBytes: 512, log: (l) => lines.push(l) })) as HfModel;
    try {
      const maps: LayerMap[] = [];
      await model.capture({ ids }, { onLayer: (m) => void maps.push(m) });
      assert.equal(model.mode, 'layer');
      maps.forEach((m, l) => assert.ok(maxDiff(m.data, ref.attn[l]) < 1e-4));
      assert.ok(maxDiff(model.lastLogits!.data, ref.logits) < 1e-4);
      assert.ok(lines.some((l) => /above the 0.5 kB budget/.test(l)), lines.join('\n'));
    } finally {
      await model.dispose();
    }
  });

  it('stops between layers when cancelled, in both modes', async () => {
    const { config, tensors } = llamaFixture({ layers: 3 }, 7);
    const dir = join(checkpoints.path, 'cancel');
    writeHfFolder(dir, config, tensors);
    for (const layerByLayer of [false, true]) {
      const model = await openHuggingFaceModel(dir, { executionProvider: 'cpu', layerByLayer });
      try {
        const maps: LayerMap[] = [];
        const res = await model.capture({ ids }, { onLayer: (m) => void maps.push(m), isCancelled: () => maps.length >= 1 });
        assert.equal(res.cancelled, true);
        assert.equal(maps.length, 1);
        assert.deepEqual(res.layers.map((l) => l.index), [0]);
      } finally {
        await model.dispose();
      }
    }
  });

  it('rebuilds for another execution provider asked for at capture (gpt2 scaled by 1/(layer+1))', async () => {
    const fixture = gpt2Fixture(8);
    const tensors = fixture.tensors;
    const config = { ...fixture.config, scale_attn_by_inverse_layer_idx: true };
    const dir = join(checkpoints.path, 'switch');
    writeHfFolder(dir, config, tensors);
    const ref = gpt2Reference(config, (n) => tensors[n].data, ids);
    const model = await openHuggingFaceModel(dir, { executionProvider: 'auto' });
    try {
      const first = await model.capture({ ids });
      assert.ok(first.executionProvider.length > 0);
      const maps: LayerMap[] = [];
      const second = await model.capture({ ids }, { executionProvider: 'cpu', onLayer: (m) => void maps.push(m) });
      assert.equal(second.executionProvider, 'cpu');
      maps.forEach((m, l) => assert.ok(maxDiff(m.data, ref.attn[l]) < 1e-4));
    } finally {
      await model.dispose();
    }
  });
});
