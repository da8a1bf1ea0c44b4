/**
 * Memory-efficient attention (Rabe & Staats 2021, "Self-attention Does Not Need O(n²) Memory",
 * §3): queries in chunks, and for each key chunk c a local max m_c, sum s_c = Σ exp(S - m_c) and
 * value sum v_c = exp(S - m_c) V. The chunks are combined afterwards with the log-sum-exp trick,
 * M = max_c m_c, out = Σ_c v_c e^{m_c - M} / Σ_c s_c e^{m_c - M}. Exact; key chunks entirely
 * above the causal diagonal are skipped.
 */
import { after, finish, qkvGraph, rowMax, rowSum, slice, wantMap } from './graphParts';
import { tileScores } from './flash';
import type { VariantSpec } from './types';

export const chunked: VariantSpec = {
  id: 'chunked',
  paper: 'Rabe & Staats 2021, Self-attention Does Not Need O(n²) Memory',
  summary: 'Exact attention over query and key chunks combined with log-sum-exp weights',
  exact: true,
  sparse: false,
  defaults: { queryChunk: 1024, keyChunk: 4096, map: 1 },
  cost: { name: 'Memory-efficient chunked attention', from: 'analytic' },
  build(x, params) {
    const cq = Math.max(1, Math.floor(params.queryChunk ?? 1024));
    const ck = Math.max(1, Math.floor(params.keyChunk ?? 4096));
    const keep = wantMap(params);
    const qkv = qkvGraph('chunked', x);
    const { g } = qkv;
    const outs: string[] = [];
    const maps: string[] = [];
    for (let r0 = 0; r0 < x.n; r0 += cq) {
      const rows = Math.min(cq, x.n - r0);
      const qs = slice(g, qkv.q, 1, r0, r0 + rows);
      const q = outs.length ? after(g, qs, outs[outs.length - 1]) : qs;
      const parts: { m: string; s: string; v: string; S: string }[] = [];
      let covered = 0;
      for (let c0 = 0; c0 < x.m; c0 += ck) {
        const cols = Math.min(ck, x.m - c0);
        const S = tileScores(g, q, qkv.k, x, r0, rows, c0, cols, parts.length ? [parts[parts.length - 1].s, parts[parts.length - 1].v] : []);
        if (!S) break;
        covered = c0 + cols;
        const m = rowMax(g, S);
        const e = g.node('Exp', [g.node('Sub', [S, m])]);
        parts.push({ m, s: rowSum(g, e), v: g.node('MatMul', [e, slice(g, qkv.v, 1, c0, c0 + cols)]), S });
      }
      const M = parts.length === 1 ? parts[0].m : g.node('Max', parts.map((p) => p.m));
      let num = '';
      let den = '';
      for (const p of parts) {
        const w = g.node('Exp', [g.node('Sub', [p.m, M])]);
        const vn = g.node('Mul', [p.v, w]);
        const sn = g.node('Mul', [p.s, w]);
        num = num ? g.node('Add', [num, vn]) : vn;
        den = den ? g.node('Add', [den, sn]) : sn;
      }
      outs.push(g.node('Div', [num, den]));
      if (keep) {
        const S = parts.length === 1 ? parts[0].S : g.node('Concat', parts.map((p) => p.S), { attrs: { axis: -1 } });
        let map = g.node('Div', [g.node('Exp', [g.node('Sub', [S, M])]), den]);
        if (covered < x.m) map = g.node('Pad', [map, g.i64('pads', [0, 0, 0, 0, 0, x.m - covered])]);
        maps.push(map);
      }
    }
    const cat = (t: string[]) => (t.length === 1 ? t[0] : g.node('Concat', t, { attrs: { axis: 1 } }));
    return finish(qkv, cat(outs), maps.length ? cat(maps) : undefined, [
      `query chunks of ${cq}, key chunks of ${ck}; combination by log-sum-exp`,
    ]);
  },
  flops: (n, m, d, h) => h * (4 * n * m * d + 6 * n * m),
  memoryBytes: (n, m, d, h, p) => {
    const cq = Math.min(p.queryChunk || 1024, n);
    const ck = Math.min(p.keyChunk || 4096, m);
    return 4 * h * (2 * cq * ck + (Math.ceil(m / ck) + 1) * cq * d + n * d);
  },
};
