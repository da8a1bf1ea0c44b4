/**
 * The capture engine on graphs written by the real exporter (torch.onnx.export of Hugging Face
 * GPT-2, BERT and grouped-query Llama), against PyTorch's own attention probabilities saved
 * beside them (test/fixtures/torch-exports/README.md says how they were made).
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readNpy } from '../../server/capture/npy';
import { openModel } from '../../server/capture/openModel';
import type { LayerMap } from '../../server/capture/types';
import { checkSegmentedCapture, wholeGraphMaps } from '../helpers/segmentCheck';

const FIXTURES = join(__dirname, '..', 'fixtures', 'torch-exports');

describe('real torch.onnx.export graphs', () => {
  for (const name of ['gpt2-eager', 'bert-eager', 'llama-gqa-sdpa']) {
    it(`${name}: every layer found and equal to PyTorch's output_attentions`, async () => {
      const dir = join(FIXTURES, name);
      const { ids } = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { ids: number[] };
      const model = await openModel(join(dir, 'model.onnx'), { executionProvider: 'cpu' });
      try {
        assert.deepEqual(model.info.layers.map((l) => [l.kind, l.heads]), [['self', 4], ['self', 4]]);
        const maps: LayerMap[] = [];
        await model.capture({ ids }, { onLayer: (m) => void maps.push(m) });
        assert.equal(maps.length, 2);
        maps.forEach((m, l) => {
          const torch = readNpy(join(dir, `torch_layer_${l}.npy`));
          assert.deepEqual([m.heads, m.queries, m.keys], torch.shape);
          for (let i = 0; i < m.data.length; i++) {
            assert.ok(Math.abs(m.data[i] - torch.data[i]) < 1e-5, `${name} layer ${l} cell ${i}: ${m.data[i]} vs ${torch.data[i]}`);
          }
        });
        // Cut into segments, each run once: the same maps as the whole graph in one run.
        await checkSegmentedCapture(model, { ids }, await wholeGraphMaps(join(dir, 'model.onnx'), ids));
      } finally {
        await model.dispose();
      }
    });
  }
});
