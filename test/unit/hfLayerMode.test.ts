/**
 * Layer-by-layer mode on a checkpoint of ~190 MB with a weight budget of a tenth of it: each
 * stage reads only its own tensors by offset (embedding rows of the text's tokens, one layer,
 * the head's vocabulary matrix in row chunks), and the maps and logits equal the whole-graph run.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LayerMap } from '../../server/capture/types';
import { openHuggingFaceModel, type HfModel } from '../../server/hf/hfModel';
import { rng, writeLargeF32 } from '../helpers/writeCheckpoint';

const H = 768;
const HEADS = 12;
const KV = 4;
const I = 1024;
const LAYERS = 12;
const V = 256;

function specs(): { name: string; shape: number[] }[] {
  const d = H / HEADS;
  const s = [{ name: 'model.embed_tokens.weight', shape: [V, H] }];
  for (let l = 0; l < LAYERS; l++) {
    const p = `model.layers.${l}`;
    s.push(
      { name: `${p}.input_layernorm.weight`, shape: [H] },
      { name: `${p}.self_attn.q_proj.weight`, shape: [HEADS * d, H] },
      { name: `${p}.self_attn.k_proj.weight`, shape: [KV * d, H] },
      { name: `${p}.self_attn.v_proj.weight`, shape: [KV * d, H] },
      { name: `${p}.self_attn.o_proj.weight`, shape: [H, HEADS * d] },
      { name: `${p}.post_attention_layernorm.weight`, shape: [H] },
      { name: `${p}.mlp.gate_proj.weight`, shape: [I, H] },
      { name: `${p}.mlp.up_proj.weight`, shape: [I, H] },
      { name: `${p}.mlp.down_proj.weight`, shape: [H, I] },
    );
  }
  s.push({ name: 'model.norm.weight', shape: [H] }, { name: 'lm_head.weight', shape: [V, H] });
  return s;
}

describe('Hugging Face layer-by-layer mode', function () {
  this.timeout(120000);
  let dir: string;
  let fileBytes: number;
  before(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'hf-big-')), 'llama-big');
    mkdirSync(dir);
    const config = {
      model_type: 'llama', vocab_size: V, hidden_size: H, num_attention_heads: HEADS, num_key_value_heads: KV,
      num_hidden_layers: LAYERS, intermediate_size: I, rms_norm_eps: 1e-6, max_position_embeddings: 128, tie_word_embeddings: false,
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    const rand = rng(11);
    fileBytes = writeLargeF32(join(dir, 'model.safetensors'), specs(), (name, out) => {
      const norm = name.endsWith('norm.weight');
      const scale = name.includes('embed') ? 1 : norm ? 0.2 : 2 / Math.sqrt(name.endsWith('down_proj.weight') ? I : H);
      for (let i = 0; i < out.length; i++) out[i] = (norm ? 1 : 0) + rand(scale);
    });
  });
  after(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

  it('a checkpoint of ~190 MB runs within a tenth of it in weights and equals the whole-graph run', async () => {
    assert.ok(fileBytes > 180e6, `checkpoint is ${fileBytes} bytes`);
    const ids = Array.from({ length: 24 }, (_, t) => (t * 37 + 5) % V);
    const capture = async (layerByLayer: boolean, memoryBudgetBytes?: number) => {
      const model = (await openHuggingFaceModel(dir, { executionProvider: 'cpu', layerByLayer, memoryBudgetBytes })) as HfModel;
      try {
        const maps: LayerMap[] = [];
        await model.capture({ ids }, { onLayer: (m) => void maps.push(m) });
        return { maps, logits: model.lastLogits!.data, peak: model.lastPeakWeightBytes, mode: model.mode };
      } finally {
        await model.dispose();
      }
    };
    const budget = Math.floor(fileBytes / 10);
    const layered = await capture(true, budget);
    const whole = await capture(false);
    assert.equal(layered.mode, 'layer');
    assert.equal(whole.mode, 'whole');
    assert.ok(layered.peak > 0 && layered.peak <= budget, `held ${layered.peak} bytes of weights, budget ${budget}`);
    assert.equal(layered.maps.length, LAYERS);
    layered.maps.forEach((m, l) => {
      const w = whole.maps[l].data;
      let diff = 0;
      for (let i = 0; i < w.length; i++) diff = Math.max(diff, Math.abs(m.data[i] - w[i]));
      assert.ok(diff < 1e-5, `layer ${l} differs by ${diff}`);
    });
    // Attention of the last layer is not uniform: the maps carry information to compare.
    assert.ok(Math.max(...whole.maps[LAYERS - 1].data.subarray(0, 24 * 24 * 2)) > 0.2);
    let diff = 0;
    for (let i = 0; i < whole.logits.length; i++) diff = Math.max(diff, Math.abs(layered.logits[i] - whole.logits[i]));
    assert.ok(diff < 1e-4, `logits differ by ${diff}`);
  });
});
