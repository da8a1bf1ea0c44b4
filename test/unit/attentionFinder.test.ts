/**
 * Structural attention finding: which Softmax nodes are attention, in what order, of which
 * kind, whatever the exporter named things; and the one-line refusals for fused attention ops
 * and graphs without attention.
 */
import { strict as assert } from 'node:assert';
import { onnx } from 'onnx-proto';
import { findAttention } from '../../server/onnx/attentionFinder';
import { attentionShape } from '../../server/onnx/attentionShape';
import { GraphBuilder } from '../../server/onnx/graphBuilder';
import { withExtraOutputs } from '../../server/onnx/surgery';
import { UserError } from '../../common/errors';
import { hfStyleGraph, torchStyleGraph } from '../helpers/attentionGraphs';

/** Blanks every node name and renames every internal tensor, as an unfriendly exporter might. */
function anonymise(model: onnx.IModelProto): onnx.IModelProto {
  const copy = onnx.ModelProto.decode(onnx.ModelProto.encode(model).finish());
  const keep = new Set([...(copy.graph!.input ?? []), ...(copy.graph!.output ?? [])].map((v) => v.name));
  const rename = new Map<string, string>();
  const name = (x: string): string => {
    if (!x || keep.has(x)) return x;
    if (!rename.has(x)) rename.set(x, `t${rename.size}`);
    return rename.get(x)!;
  };
  for (const t of copy.graph!.initializer ?? []) t.name = name(t.name ?? '');
  for (const n of copy.graph!.node ?? []) {
    n.name = '';
    n.input = (n.input ?? []).map(name);
    n.output = (n.output ?? []).map(name);
  }
  return copy;
}

describe('attention finder', () => {
  it('finds each layer in graph order and skips the classification softmax, without names', () => {
    for (const t of [torchStyleGraph({ layers: 3 }), hfStyleGraph({ layers: 4 })]) {
      const named = findAttention(t.model, 'm.onnx');
      const anon = findAttention(anonymise(t.model), 'm.onnx');
      const softmaxes = (t.model.graph!.node ?? []).filter((n) => n.opType === 'Softmax').length;
      assert.equal(softmaxes, t.weights.layers.length + 1);
      assert.equal(named.length, t.weights.layers.length);
      assert.equal(anon.length, t.weights.layers.length);
      assert.deepEqual(anon.map((s) => s.index), [...Array(t.weights.layers.length).keys()]);
      assert.ok(anon.every((s) => s.kind === 'self' && /^Softmax_\d+$/.test(s.nodeName)));
      assert.ok(!named.some((s) => s.output === 'probs'));
    }
  });

  it('a softmax over logits from a tied (transposed) or dequantized weight is not attention', () => {
    const g = new GraphBuilder('heads');
    const ids = g.input('input_ids', 'int64', [1, 'n']);
    const x = g.node('Gather', [g.f32('embed', [4, 2], [1, 2, 3, 4, 5, 6, 7, 8]), ids]);
    const tied = g.node('Transpose', [g.f32('emb2', [4, 2], [1, 0, 0, 1, 1, 1, 0, 0])], { attrs: { perm: [1, 0] } });
    g.node('Softmax', [g.node('MatMul', [x, tied])], { outputs: ['a'] });
    const deq = g.node('DequantizeLinear', [g.initializer('wq', 'uint8', [2, 3], Uint8Array.of(1, 2, 3, 4, 5, 6)), g.scalar('s', 0.1), g.initializer('zp', 'uint8', [], Uint8Array.of(0))]);
    g.node('Softmax', [g.node('Div', [g.node('MatMul', [x, deq]), g.scalar('temp', 2)])], { outputs: ['b'] });
    g.output('a');
    g.output('b');
    assert.throws(() => findAttention(g.toModel(), 'heads.onnx'), (e: Error) => e instanceof UserError && /heads\.onnx: no attention found/.test(e.message));
  });

  it('tells cross-attention (keys from the encoder) from self-attention with a KV cache', () => {
    const g = new GraphBuilder('encdec');
    const enc = g.input('encoder_hidden_states', 'float32', [1, 'm', 2]);
    const dec = g.input('decoder_hidden', 'float32', [1, 'n', 2]);
    const past = g.input('past_key', 'float32', [1, 'p', 2]);
    const w = (s: string): string => g.f32(s, [2, 2], [1, 0, 0, 1]);
    const qd = g.node('MatMul', [dec, w('wq')]);
    const kSelf = g.node('Concat', [past, g.node('MatMul', [dec, w('wk')])], { attrs: { axis: 1 } });
    const self = g.node('Softmax', [g.node('MatMul', [qd, g.node('Transpose', [kSelf], { attrs: { perm: [0, 2, 1] } })])], { name: 'self_sm' });
    const kEnc = g.node('Transpose', [g.node('MatMul', [enc, w('wk2')])], { attrs: { perm: [0, 2, 1] } });
    const cross = g.node('Softmax', [g.node('Mul', [g.node('MatMul', [g.node('MatMul', [self, qd]), kEnc]), g.scalar('sc', 0.7)])], { name: 'cross_sm' });
    g.output(cross);
    const sites = findAttention(g.toModel(), 'encdec.onnx');
    assert.deepEqual(sites.map((s) => [s.nodeName, s.kind]), [['self_sm', 'self'], ['cross_sm', 'cross']]);
  });

  it('refuses com.microsoft fused attention ops with the op and the file named', () => {
    for (const [op, domain] of [['Attention', 'com.microsoft'], ['GroupQueryAttention', 'com.microsoft'], ['MultiHeadAttention', 'com.microsoft']]) {
      const g = new GraphBuilder('fused', 23);
      const x = g.input('x', 'float32', [1, 4, 8]);
      g.node(op, [x, x, x], { domain: domain || undefined, outputs: ['y'] });
      g.output('y');
      const label = domain ? `${domain}.${op}` : op;
      assert.throws(
        () => findAttention(g.toModel(), 'fused.onnx'),
        (e: Error) => e instanceof UserError && e.message.startsWith(`fused.onnx: fused attention op ${label} `) && /not supported yet/.test(e.message),
      );
    }
  });

  it('surgery appends the probabilities as outputs and leaves the model object alone', () => {
    const t = torchStyleGraph({ layers: 2 });
    const sites = findAttention(t.model, 'm.onnx');
    const out = withExtraOutputs(t.model, sites.map((s) => s.output));
    assert.deepEqual(out.graph!.output!.map((o) => o.name), ['probs', ...sites.map((s) => s.output)]);
    assert.deepEqual(t.model.graph!.output!.map((o) => o.name), ['probs']);
  });

  it('folds leading dimensions into heads: [b*h,q,k], [b,h,q,k], [b,kv,g,q,k], [q,k]', () => {
    assert.deepEqual(attentionShape([12, 5, 5]), { heads: 12, queries: 5, keys: 5 });
    assert.deepEqual(attentionShape([1, 12, 5, 7]), { heads: 12, queries: 5, keys: 7 });
    assert.deepEqual(attentionShape([1, 4, 3, 5, 5]), { heads: 12, queries: 5, keys: 5 });
    assert.deepEqual(attentionShape([5, 6]), { heads: 1, queries: 5, keys: 6 });
  });
});
