/**
 * How a reduced segment is put together: the reductions' names never take a model tensor's
 * name, and query blocks give the rows a pool factor does not divide a block of their own.
 */
import assert from 'node:assert/strict';
import type { onnx } from 'onnx-proto';
import { reductionDecoration } from '../../server/capture/reductions';
import { blockRanges } from '../../server/capture/blockAssembly';

const softmax = (input: string): onnx.INodeProto => ({ opType: 'Softmax', input: [input], output: ['probs'], attribute: [{ name: 'axis', i: -1, type: 2 }] });

function defined(nodes: onnx.INodeProto[]): string[] {
  const out: string[] = [];
  const walk = (ns: onnx.INodeProto[]) => {
    for (const n of ns) {
      out.push(...(n.output ?? []));
      for (const a of n.attribute ?? []) if (a.g) walk(a.g.node ?? []);
    }
  };
  walk(nodes);
  return out;
}

describe('reduced segments: names and query block ranges', () => {
  it('a model tensor named like any name the reductions make is read, never redefined', () => {
    const first = reductionDecoration('probs', 0, 17, { pooled: true }, softmax('scores'))!;
    // Model graphs made by a builder (query blocks' parts, generated models) use names such as
    // Where_119_out0_120; take every name the reductions make, without their prefixes.
    const raw = [...new Set(defined(first.nodes).map((n) => n.split('/').pop()!))];
    assert.ok(raw.length > 100);
    for (const name of raw) {
      const d = reductionDecoration('probs', 0, 17, { pooled: true }, softmax(name))!;
      const made = defined(d.nodes);
      assert.ok(!made.includes(name), `the reductions define the model's ${name}`);
      assert.equal(new Set(made).size, made.length, `a name defined twice with scores ${name}`);
      assert.ok(d.nodes.some((n) => (n.input ?? []).includes(name)), `the scores ${name} are not read`);
    }
  });

  it('blocks cover every row once, in order; only the last holds rows the pool factor does not divide', () => {
    for (const [total, rows, pool] of [[2048, 1359, 9], [2048, 1365, 1], [512, 510, 3], [7, 9, 9], [4096, 675, 9], [18, 9, 9], [20, 9, 9]]) {
      const ranges = blockRanges(total, rows, pool);
      let next = 0;
      for (const [i, [start, n]] of ranges.entries()) {
        assert.equal(start, next);
        assert.ok(n > 0 && n <= rows);
        if (i < ranges.length - 1) assert.equal(n % pool, 0, `block ${i} of ${total} rows by ${rows}, pool ${pool}`);
        next += n;
      }
      assert.equal(next, total);
      const rest = total % pool;
      if (rest > 0 && total > pool) assert.deepEqual(ranges[ranges.length - 1], [total - rest, rest]);
    }
  });
});
