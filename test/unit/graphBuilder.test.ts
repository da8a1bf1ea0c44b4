/**
 * The graph builder's own encodings: half-precision constants (checked against the decoder the
 * capture uses for fp16 outputs) and fragments spliced into a user's graph, whose made-up names
 * must all carry the fragment's prefix.
 */
import { strict as assert } from 'node:assert';
import { halfToFloat } from '../../server/capture/tensorData';
import { floatToHalf, GraphBuilder } from '../../server/onnx/graphBuilder';

describe('ONNX graph builder', () => {
  it('encodes every finite half exactly: decode then encode gives the same bits', () => {
    for (let h = 0; h < 0x10000; h++) {
      if (h === 0x8000 || ((h >> 10) & 0x1f) === 31) continue; // -0 encodes as 0; inf/NaN are never constants
      assert.equal(floatToHalf(halfToFloat(h)), h, `bits 0x${h.toString(16)}`);
    }
  });

  it('rounds to the nearest half, carrying into the exponent, and clamps past the largest', () => {
    assert.equal(floatToHalf(2047.9), 0x6800); // 2048: the mantissa rounds up to the next power of two
    assert.equal(halfToFloat(floatToHalf(0.1)), 0.0999755859375);
    assert.equal(floatToHalf(-1e9), 0xfbff); // -65504
    assert.equal(floatToHalf(1e-9), 0);
  });

  it('gives a fragment only names under its prefix, and fp16 scalars their type', () => {
    const g = new GraphBuilder('fragment', 17, 'Attention_0/expanded/');
    const x = 'hidden';
    const y = g.node('Mul', [g.node('Reshape', [x, g.ints([0, 0, 2, -1])]), g.floatScalar(0.5, 'float16')]);
    g.node('Identity', [g.dim(y, 3)], { outputs: ['present'] });
    const { nodes, initializers } = g.fragment();
    const made = [...nodes.map((n) => n.name ?? ''), ...nodes.flatMap((n) => n.output ?? []), ...initializers.map((t) => t.name ?? '')]
      .filter((name) => name !== 'present');
    assert.ok(made.length > 8);
    for (const name of made) assert.ok(name.startsWith('Attention_0/expanded/'), name);
    const half = initializers.find((t) => t.dataType === 10);
    assert.ok(half, 'an fp16 initializer');
    assert.deepEqual([...half.rawData!], [0x00, 0x38]); // 0.5 = 0x3800, little-endian
  });
});
