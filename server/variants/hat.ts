/**
 * Hierarchical attention (Chalkidis et al. 2022, "An Exploration of Hierarchical Attention
 * Transformers for Efficient Long Document Classification"): segment-wise attention inside
 * segments of s tokens, then cross-segment attention between the segments' representatives
 * (their first tokens), broadcast back to every token of the segment. In one softmax per token:
 * scores against its own segment's keys use its own query; scores against the other segments'
 * representatives use its representative's query, so each segment shares one cross-segment
 * view. With one segment this is exact attention.
 */
import { UserError } from '../../common/errors';
import { NEG, finish, qkvGraph, scores, softmax, wantMap } from './graphParts';
import type { VariantSpec } from './types';

export const hat: VariantSpec = {
  id: 'hat',
  paper: 'Chalkidis et al. 2022, An Exploration of Hierarchical Attention Transformers for Efficient Long Document Classification',
  summary: 'Attention within segments of s tokens plus cross-segment attention between segment representatives',
  exact: false,
  sparse: true,
  defaults: { segment: 16 },
  cost: { name: 'Hierarchical attention (HAT)', from: 'analytic' },
  build(x, params) {
    if (x.n !== x.m) {
      throw new UserError(`hat: segments are defined on one sequence, so queries and keys must match (n=${x.n}, m=${x.m}); capture without a cached prefix`);
    }
    const n = x.n;
    const s = Math.min(n, Math.max(1, Math.round(params.segment ?? 16)));
    const seg = (i: number) => Math.floor(i / s);
    const qkv = qkvGraph('hat', x);
    const { g } = qkv;
    const scale = 1 / Math.sqrt(x.d);
    const repIdx = g.i64('rep_index', Array.from({ length: n }, (_, i) => seg(i) * s));
    const qRep = g.node('Gather', [qkv.q, repIdx], { attrs: { axis: 1 } });
    const sOwn = scores(g, qkv.q, qkv.k, scale);
    const sRep = scores(g, qRep, qkv.k, scale);
    // Masks from index vectors, so the graph stays linear in n: same segment (and j <= i when
    // causal) for own keys; another segment's representative (an earlier one when causal).
    const segRow = g.f32('seg_rows', [n, 1], Float32Array.from({ length: n }, (_, i) => seg(i)));
    const segCol = g.f32('seg_cols', [1, n], Float32Array.from({ length: n }, (_, j) => seg(j)));
    const isRep = g.initializer('is_rep', 'bool', [1, n], Uint8Array.from({ length: n }, (_, j) => (j % s === 0 ? 1 : 0)));
    const same = g.node('Equal', [segRow, segCol]);
    let ownMask = same;
    let crossMask = g.node('And', [g.node('Not', [same]), isRep]);
    if (x.causal) {
      const row = g.f32('rows', [n, 1], Float32Array.from({ length: n }, (_, i) => i));
      const col = g.f32('cols', [1, n], Float32Array.from({ length: n }, (_, j) => j));
      ownMask = g.node('And', [same, g.node('LessOrEqual', [col, row])]);
      crossMask = g.node('And', [crossMask, g.node('Less', [segCol, segRow])]);
    }
    const sAll = g.node('Where', [ownMask, sOwn, g.node('Where', [crossMask, sRep, g.scalar('neg', NEG)])]);
    const p = softmax(g, sAll);
    const out = g.node('MatMul', [p, qkv.v]);
    const segments = Math.ceil(n / s);
    return finish(
      qkv, out, wantMap(params) ? p : undefined,
      [
        'no learned parameters: the checkpoint\'s Q/K/V; representatives are the first token of each segment',
        `${segments} segment(s) of ${s} tokens${segments === 1 ? ': one segment, so exact attention' : ''}`,
        'this graph masks an n×n score matrix for clarity; the flops and memory figures are those of the segment-wise form',
      ],
      'probabilities over own-segment keys and other segments\' representatives (rows sum to 1)',
    );
  },
  // Per token: s own-segment keys; per segment: n/s representatives (queries of the representative).
  flops: (n, _m, d, h, p) => {
    const s = Math.min(n, p.segment ?? 16), segs = Math.ceil(n / s);
    return h * (4 * n * s * d + 2 * segs * segs * d + 2 * n * segs * d + 5 * n * (s + segs));
  },
  memoryBytes: (n, _m, d, h, p) => {
    const s = Math.min(n, p.segment ?? 16), segs = Math.ceil(n / s);
    return 4 * h * (2 * n * (s + segs) + n * d);
  },
};
