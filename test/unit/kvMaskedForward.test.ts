/**
 * The policy-masked forward pass (a mask added before every attention Softmax of the graph)
 * against an independent float64 forward pass with the same kept keys (test/helpers/
 * hfReference.ts), for GPT-2 and for Llama with grouped-query attention, every policy: logits
 * and maps within 1e-4. The KL and top-1 figures of kv.json are recomputed from the reference
 * logits, and each layer's attention-output error from the reference's probabilities and values.
 */
import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { POLICIES, type KeepMask } from '../../server/serving/evictionPolicies';
import { simulateKv } from '../../server/serving/kvSimulation';
import { openMaskedModel, type MaskedModel } from '../../server/serving/maskedModel';
import { attentionOpGraph, hfStyleGraph, referenceProbabilities, torchStyleGraph } from '../helpers/attentionGraphs';
import { bertFixture, gpt2Fixture, llamaFixture, type HfConfig } from '../helpers/hfFixtures';
import { gpt2Reference, llamaReference, type KeepKey, type RefOptions, type RefOutput } from '../helpers/hfReference';
import { maxDiff } from '../helpers/segmentCheck';
import { checkpointsFolder, writeHfFolder, type Tensors } from '../helpers/writeCheckpoint';

const checkpoints = checkpointsFolder('kv-masked-');

const keepFn = (masks: KeepMask[]): KeepKey => (l, h, i, j) => masks[l].keep[(h * masks[l].n + i) * masks[l].n + j] === 1;

/** KL(p ‖ p') of two logits rows, float64, written out independently of kvSimulation. */
function kl(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const soft = (x: ArrayLike<number>) => {
    const m = Math.max(...Array.from(x));
    const e = Array.from(x, (v) => Math.exp(v - m));
    const z = e.reduce((s, v) => s + v, 0);
    return e.map((v) => v / z);
  };
  const p = soft(a);
  const q = soft(b);
  return p.reduce((s, pi, i) => s + (pi > 0 ? pi * Math.log(pi / q[i]) : 0), 0);
}

/** Values of layer l, head h, token t, channel c, from the reference's layer inputs and the checkpoint's weights. */
type ValueAt = (ref: RefOutput, l: number, h: number, t: number, c: number) => number;

const gpt2Values = (config: HfConfig, tensors: Tensors): ValueAt => {
  const H = config.n_embd;
  const d = H / config.n_head;
  return (ref, l, h, t, c) => {
    const w = tensors[`h.${l}.attn.c_attn.weight`].data; // Conv1D [H, 3H]
    const b = tensors[`h.${l}.attn.c_attn.bias`].data;
    const col = 2 * H + h * d + c;
    let s = b[col];
    for (let i = 0; i < H; i++) s += ref.hidden[l][t * H + i] * w[i * 3 * H + col];
    return s;
  };
};

const llamaValues = (config: HfConfig, tensors: Tensors): ValueAt => {
  const H = config.hidden_size;
  const heads = config.num_attention_heads;
  const kv = config.num_key_value_heads;
  const d = config.head_dim ?? H / heads;
  return (ref, l, h, t, c) => {
    const w = tensors[`model.layers.${l}.self_attn.v_proj.weight`].data; // [kv*d, H]
    const row = Math.floor(h / (heads / kv)) * d + c;
    let s = 0;
    for (let i = 0; i < H; i++) s += ref.hidden[l][t * H + i] * w[row * H + i];
    return s;
  };
};

/** ‖O_policy − O_full‖ / ‖O_full‖ of one layer, O = P V, P renormalised over the kept keys. */
function referenceOutputError(ref: RefOutput, l: number, heads: number, d: number, n: number, mask: KeepMask, value: ValueAt): number {
  let num = 0;
  let den = 0;
  for (let h = 0; h < heads; h++) {
    for (let q = 0; q < n; q++) {
      const p = (k: number) => ref.attn[l][(h * n + q) * n + k];
      const kept = Array.from({ length: n }, (_, k) => k).filter((k) => mask.keep[(h * n + q) * n + k] === 1);
      const z = kept.reduce((acc, k) => acc + p(k), 0);
      for (let c = 0; c < d; c++) {
        let full = 0;
        for (let k = 0; k < n; k++) full += p(k) * value(ref, l, h, k, c);
        const pol = kept.reduce((acc, k) => acc + p(k) * value(ref, l, h, k, c), 0) / z;
        num += (pol - full) ** 2;
        den += full ** 2;
      }
    }
  }
  return Math.sqrt(num / den);
}

const argmax = (x: ArrayLike<number>) => Array.from(x).reduce((best, v, i, arr) => (v > arr[best] ? i : best), 0);

async function checkFamily(name: string, config: HfConfig, tensors: Tensors, reference: (c: HfConfig, w: (n: string) => Float32Array, ids: number[], opts?: RefOptions) => RefOutput, ids: number[], value: ValueAt, layerByLayer?: boolean): Promise<void> {
  const dir = join(checkpoints.path, name);
  writeHfFolder(dir, config, tensors, {});
  const weights = (n: string) => tensors[n].data;
  const model: MaskedModel = await openMaskedModel(dir, 'cpu', { layerByLayer });
  try {
    const full = await model.run(ids);
    const refFull = reference(config, weights, ids);
    assert.ok(maxDiff(full.logits!, refFull.logits) < 1e-4, `${name}: unmasked logits differ by ${maxDiff(full.logits!, refFull.logits)}`);
    const budget = 6;
    for (const policy of POLICIES) {
      const { report, details } = await simulateKv(model, ids, full, { policy, budget, sinks: policy === 'streaming' ? 2 : undefined });
      const masked = await model.run(ids, details.kept);
      const ref = reference(config, weights, ids, { keep: keepFn(details.kept) });
      const diff = maxDiff(masked.logits!, ref.logits);
      assert.ok(diff < 1e-4, `${name} ${policy}: masked logits differ from the reference by ${diff}`);
      masked.probs.forEach((p, l) => assert.ok(maxDiff(p, ref.attn[l]) < 1e-4, `${name} ${policy} layer ${l}: maps differ by ${maxDiff(p, ref.attn[l])}`));
      // The mask really changed the output: eviction of a random model's keys moves its logits.
      assert.ok(maxDiff(ref.logits, refFull.logits) > 1e-3, `${name} ${policy}: the mask changed nothing`);
      const V = config.vocab_size;
      const rows = ids.map((_, q) => q).filter((q) => q >= budget);
      const row = (x: ArrayLike<number>, q: number) => Array.from(x).slice(q * V, (q + 1) * V);
      const expectKl = rows.reduce((s, q) => s + kl(row(refFull.logits, q), row(ref.logits, q)), 0) / rows.length;
      const expectTop1 = rows.filter((q) => argmax(row(refFull.logits, q)) === argmax(row(ref.logits, q))).length / rows.length;
      assert.ok(Math.abs(report.nextTokenKL! - expectKl) < 1e-4 * Math.max(1, expectKl), `${name} ${policy}: KL ${report.nextTokenKL} vs ${expectKl}`);
      assert.equal(report.top1Agreement, expectTop1);
      // Each layer's attention-output error, from the reference's own P and V.
      const heads = details.kept[0].heads;
      const d = full.values[0]!.headDim;
      details.outputRelativeL2.forEach((e, l) => {
        const want = referenceOutputError(refFull, l, heads, d, ids.length, details.kept[l], value);
        assert.ok(e !== null && Math.abs(e - want) < 1e-4 * Math.max(1, want), `${name} ${policy} layer ${l}: output error ${e} vs ${want}`);
        assert.ok(want > 0);
      });
    }
  } finally {
    await model.dispose();
  }
}

const ids = [3, 17, 5, 0, 22, 9, 31, 5, 12, 7, 3, 17, 5, 0, 22, 30, 11, 2];

describe('KV-cache eviction: the policy-masked forward pass', () => {
  it('GPT-2: every policy equals an independent float64 forward pass with the same kept keys (1e-4)', async () => {
    const { config, tensors } = gpt2Fixture();
    await checkFamily('gpt2', config, tensors, gpt2Reference, ids, gpt2Values(config, tensors));
  });

  it('Llama with grouped-query attention (4 query heads, 2 K/V heads): same check', async () => {
    const { config, tensors } = llamaFixture({ heads: 4, kvHeads: 2 });
    await checkFamily('llama', config, tensors, llamaReference, ids, llamaValues(config, tensors));
  });

  it('a checkpoint run layer by layer (weights read per stage, as for models too big for one graph): same check', async () => {
    const { config, tensors } = llamaFixture({ heads: 4, kvHeads: 2 }, 5);
    await checkFamily('llama-layers', config, tensors, llamaReference, ids, llamaValues(config, tensors), true);
  });

  it('an encoder (BERT) is refused with one line: it has no KV cache', async () => {
    const { config, tensors, heads } = bertFixture('bert');
    const dir = join(checkpoints.path, 'bert');
    writeHfFolder(dir, config, tensors, { prefix: 'bert.' }, heads);
    await assert.rejects(openMaskedModel(dir, 'cpu'), (e: Error) => e.name === 'UserError' && /bert is an encoder \(no KV cache\)/.test(e.message) && !e.message.includes('\n'));
  });
});

describe('KV-cache eviction on ONNX exports (masks found by structure)', () => {
  for (const [name, make] of [
    ['torch.onnx.export layout ([batch*heads, q, k], Softmax axis 2)', () => torchStyleGraph({ layers: 3, heads: 2, headDim: 4, seed: 31, vocab: 24 })],
    ['Hugging Face layout ([batch, heads, q, k], Where-masked scores)', () => hfStyleGraph({ layers: 3, heads: 2, headDim: 4, seed: 32, vocab: 24, maxPositions: 32 })],
    ['ONNX Attention op (opset 23, the mask as its attn_mask, maps from qk_matmul_output)', () => attentionOpGraph({ layers: 3, heads: 2, headDim: 4, seed: 33, vocab: 24 })],
  ] as const) {
    it(`${name}: every layer's masked maps equal the independent reference with the same kept keys`, async () => {
      const t = make();
      const file = join(checkpoints.path, `${t.style}.onnx`);
      writeFileSync(file, t.bytes);
      const ids = [3, 7, 1, 9, 3, 7, 1, 9, 4, 11, 3, 7, 2, 5, 8, 3];
      const model = await openMaskedModel(file, 'cpu');
      try {
        const full = await model.run(ids);
        const refFull = referenceProbabilities(t, ids);
        full.probs.forEach((p, l) => assert.ok(maxDiff(p, refFull[l]) < 1e-5, `layer ${l} unmasked`));
        for (const policy of POLICIES) {
          const { details } = await simulateKv(model, ids, full, { policy, budget: 5 });
          const masked = await model.run(ids, details.kept);
          const ref = referenceProbabilities(t, ids, undefined, keepFn(details.kept));
          masked.probs.forEach((p, l) => assert.ok(maxDiff(p, ref[l]) < 1e-5, `${policy} layer ${l}: maps differ by ${maxDiff(p, ref[l])}`));
          // Later layers see the earlier layers' evictions: their maps move too.
          assert.ok(maxDiff(masked.probs[2], refFull[2]) > 1e-3, `${policy}: the masks changed nothing`);
        }
      } finally {
        await model.dispose();
      }
    });
  }
});

describe('KV-cache eviction on real torch.onnx.export graphs (test/fixtures/torch-exports)', () => {
  for (const name of ['gpt2-eager', 'llama-gqa-sdpa']) {
    it(`${name}: the first layer's masked map is its full map restricted to the kept keys and renormalised; a base model gets no KL`, async () => {
      const model = await openMaskedModel(join(__dirname, '..', 'fixtures', 'torch-exports', name), 'cpu');
      try {
        const ids = [1, 5, 9, 13, 2, 6, 10, 14, 1, 5, 9, 13, 3, 7, 11, 15];
        const n = ids.length;
        const full = await model.run(ids);
        for (const policy of POLICIES) {
          const { report, details } = await simulateKv(model, ids, full, { policy, budget: 6 });
          const masked = await model.run(ids, details.kept);
          const keep = details.kept[0].keep;
          const p = full.probs[0];
          const want = new Float64Array(p.length);
          for (let r = 0; r < p.length / n; r++) {
            let z = 0;
            for (let k = 0; k < n; k++) if (keep[r * n + k]) z += p[r * n + k];
            for (let k = 0; k < n; k++) want[r * n + k] = keep[r * n + k] ? p[r * n + k] / z : 0;
          }
          assert.ok(maxDiff(masked.probs[0], want) < 1e-5, `${name} ${policy}: layer 0 differs by ${maxDiff(masked.probs[0], want)}`);
          assert.equal(report.nextTokenKL, null);
          assert.match(details.notes[0], /no logits output/);
          assert.ok(details.outputRelativeL2.every((e) => e !== null && e > 0));
        }
      } finally {
        await model.dispose();
      }
    });
  }
});
