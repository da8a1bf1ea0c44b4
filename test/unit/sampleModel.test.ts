/**
 * The committed tiny-gpt sample: its heads do what samples/tiny-gpt/README.md says. The
 * probabilities are exposed here by our own edit of the graph (every Softmax output pushed to
 * the graph outputs), independent of the runtime's attention finder, and the expected keys are
 * computed from the token ids.
 */
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { Tokenizer } from '@huggingface/tokenizers';
import { sampleFiles } from '../../samples/scripts/sampleFiles';
import { BOS_ID, UNK_ID, VOCAB } from '../../samples/scripts/tinyGptTokenizer';

const SAMPLES = join(__dirname, '..', '..', 'samples');
const MODEL = join(SAMPLES, 'tiny-gpt', 'model.onnx');

/** Softmax outputs in graph order ([layer][head] follows from it), added as outputs. */
function withProbabilities(bytes: Uint8Array): { bytes: Uint8Array; names: string[] } {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph!;
  const names = graph.node!.filter((n) => n.opType === 'Softmax').map((n) => n.output![0]);
  for (const name of names) {
    graph.output!.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }));
  }
  return { bytes: onnx.ModelProto.encode(model).finish(), names };
}

interface Run {
  logits: Float32Array;
  vocab: number;
  /** probs[layer] is [heads, n, n]. */
  probs: Float32Array[];
  heads: number;
}

let session: ort.InferenceSession;
let probNames: string[];

async function run(ids: number[]): Promise<Run> {
  const feeds = { input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]) };
  const out = await session.run(feeds);
  const probs = probNames.map((nm) => out[nm].data as Float32Array);
  return { logits: out.logits.data as Float32Array, vocab: out.logits.dims[2], probs, heads: out[probNames[0]].dims[1] };
}

const row = (r: Run, layer: number, head: number, q: number, n: number) =>
  r.probs[layer].subarray((head * n + q) * n, (head * n + q + 1) * n);

/** Seeded ids: [BOS] then `len` distinct ordinary tokens, repeated `times` times. */
function repeatedSequence(len: number, times: number, seed: number): number[] {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const pool = Array.from({ length: VOCAB.length - 3 }, (_, i) => i + 3);
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  const block = pool.slice(0, len);
  return [BOS_ID, ...Array.from({ length: times }, () => block).flat()];
}

describe('tiny-gpt sample model', () => {
  before(async () => {
    const edited = withProbabilities(readFileSync(MODEL));
    probNames = edited.names;
    session = await ort.InferenceSession.create(edited.bytes);
  });
  after(async () => session?.release());

  it('exposes only logits, and has 2 layers of 4 causal heads whose rows sum to 1', async () => {
    const committed = onnx.ModelProto.decode(readFileSync(MODEL));
    assert.deepEqual(committed.graph!.output!.map((o) => o.name), ['logits']);
    assert.equal(probNames.length, 2);
    const ids = repeatedSequence(40, 2, 11);
    const n = ids.length;
    const r = await run(ids);
    assert.equal(r.heads, 4);
    assert.equal(r.vocab, VOCAB.length);
    for (let l = 0; l < 2; l++) {
      for (let h = 0; h < 4; h++) {
        for (let q = 0; q < n; q++) {
          const p = row(r, l, h, q, n);
          let sum = 0;
          for (let k = 0; k < n; k++) {
            if (k > q) assert.ok(p[k] < 1e-12, `L${l}H${h} q${q} attends to future key ${k}`);
            sum += p[k];
          }
          assert.ok(Math.abs(sum - 1) < 1e-5, `L${l}H${h} row ${q} sums to ${sum}`);
        }
      }
    }
  });

  it('has previous-token, first-token, self and uniform heads where the README says', async () => {
    const ids = repeatedSequence(100, 3, 5); // 301 tokens: past the mod-32 aliases many times
    const n = ids.length;
    const r = await run(ids);
    for (let q = 1; q < n; q++) {
      for (const [l, h] of [[0, 0], [1, 2]]) assert.ok(row(r, l, h, q, n)[q - 1] > 0.9, `L${l}H${h} q${q} previous token`);
      for (const [l, h] of [[0, 1], [1, 3]]) assert.ok(row(r, l, h, q, n)[0] > 0.9, `L${l}H${h} q${q} first token`);
      assert.ok(row(r, 0, 2, q, n)[q] > 0.9, `L0H2 q${q} self`);
      const uniform = row(r, 0, 3, q, n);
      for (let k = 0; k <= q; k++) assert.ok(Math.abs(uniform[k] - 1 / (q + 1)) < 1e-5, `L0H3 q${q} k${k}`);
    }
  });

  it('has an induction head (L1 H0) and a same-token head (L1 H1), and predicts the repeat', async () => {
    const len = 60;
    const ids = repeatedSequence(len, 2, 3);
    const n = ids.length;
    const r = await run(ids);
    for (let q = 1 + len; q < n; q++) {
      // keys j whose previous token is the current one: the token after an earlier occurrence
      const targets = [];
      for (let j = 1; j <= q; j++) if (ids[j - 1] === ids[q]) targets.push(j);
      assert.deepEqual(targets, [q - len + 1]);
      assert.ok(row(r, 1, 0, q, n)[targets[0]] > 0.5, `induction q${q}`);
      const dup = row(r, 1, 1, q, n);
      assert.ok(Math.abs(dup[q - len] - 0.5) < 0.01 && Math.abs(dup[q] - 0.5) < 0.01, `same-token q${q}`);
      if (q + 1 < n) {
        const logits = r.logits.subarray(q * r.vocab, (q + 1) * r.vocab);
        const best = logits.indexOf(Math.max(...logits));
        assert.equal(best, ids[q + 1], `prediction after q${q}`);
      }
    }
    // In the first pass there is nothing to copy: the induction head rests on the first token.
    for (let q = 1; q <= len; q++) assert.ok(row(r, 1, 0, q, n)[0] > 0.9, `induction fallback q${q}`);
  });

  it('shows induction on samples/texts/induction.txt through the shipped tokenizer', async () => {
    const tok = new Tokenizer(
      JSON.parse(readFileSync(join(SAMPLES, 'tiny-gpt', 'tokenizer.json'), 'utf8')),
      JSON.parse(readFileSync(join(SAMPLES, 'tiny-gpt', 'tokenizer_config.json'), 'utf8')),
    );
    const ids = tok.encode(readFileSync(join(SAMPLES, 'texts', 'induction.txt'), 'utf8')).ids;
    const n = ids.length;
    const r = await run(ids);
    // Queries inside the repeated phrase's second occurrence ("old king saw ... river"):
    // the mass on all keys that follow an earlier copy of the current token.
    const phrase = ids.indexOf(VOCAB.indexOf('king'));
    const second = ids.indexOf(VOCAB.indexOf('king'), phrase + 1);
    assert.ok(phrase > 0 && second > phrase);
    for (let q = second; q < second + 7; q++) {
      const p = row(r, 1, 0, q, n);
      let mass = 0;
      for (let j = 1; j <= q; j++) if (ids[j - 1] === ids[q]) mass += p[j];
      assert.ok(mass > 0.9, `induction q${q} (${VOCAB[ids[q]]}) puts ${mass} after earlier copies`);
    }
  });

  it('ships a tokenizer.json that @huggingface/tokenizers loads, prepending [BOS]', () => {
    const tok = new Tokenizer(
      JSON.parse(readFileSync(join(SAMPLES, 'tiny-gpt', 'tokenizer.json'), 'utf8')),
      JSON.parse(readFileSync(join(SAMPLES, 'tiny-gpt', 'tokenizer_config.json'), 'utf8')),
    );
    const enc = tok.encode('The cats saw a Zebra.');
    assert.deepEqual(enc.tokens, ['[BOS]', 'the', 'cat', '##s', 'saw', 'a', '[UNK]', '.']);
    assert.deepEqual(enc.ids, enc.tokens.map((t) => (t === '[UNK]' ? UNK_ID : VOCAB.indexOf(t))));
    for (const text of ['induction.txt', 'long.txt']) {
      const ids = tok.encode(readFileSync(join(SAMPLES, 'texts', text), 'utf8')).ids;
      assert.equal(ids[0], BOS_ID);
      assert.ok(!ids.includes(UNK_ID), `${text} has words outside the vocabulary`);
      if (text === 'long.txt') assert.ok(ids.length > 3000, `long.txt has ${ids.length} tokens`);
    }
  });

  it('is what make-samples writes, byte for byte', () => {
    for (const [rel, bytes] of sampleFiles()) {
      const committed = readFileSync(join(SAMPLES, rel));
      assert.ok(Buffer.from(bytes).equals(committed), `samples/${rel} differs from a fresh build; run npm run samples`);
    }
  });
});
