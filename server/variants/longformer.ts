/**
 * Longformer (Beltagy et al. 2020, "Longformer: The Long-Document Transformer", §3.1): a sliding
 * window where query i sees keys |i - j| <= w, plus global tokens that see every key and that
 * every query sees. Run as blocks of w queries gathering the 3w keys around them (the paper's
 * "sliding chunks" kernel) and the global keys, so cost is linear in n.
 */
import { blockSparseAttend, visible } from './blockSparse';
import type { KeyLists } from './blockSparse';
import { qkvGraph, wantMap } from './graphParts';
import type { VariantInputs, VariantSpec } from './types';
import * as F from '../efficiency/formulas';
import { materialised } from './costModel';

/** Window and global-token key lists; global tokens are the first `globals` positions. */
export function longformerLists(x: VariantInputs, window: number, globals: number): KeyLists {
  const { n, m } = x;
  const shift = m - n;
  const B = Math.max(1, Math.min(window, n));
  const nb = Math.ceil(n / B);
  const glob = Array.from({ length: Math.min(globals, m) }, (_, i) => i);
  const span = 3 * B;
  const K = span + glob.length;
  const index = new Int32Array(nb * K);
  const allow = new Uint8Array(nb * B * K);
  for (let b = 0; b < nb; b++) {
    const start = b * B + shift - B;
    for (let t = 0; t < span; t++) index[b * K + t] = Math.min(Math.max(start + t, 0), m - 1);
    glob.forEach((j, gi) => { index[b * K + span + gi] = j; });
    for (let r = 0; r < B; r++) {
      const i = b * B + r;
      if (i >= n) continue;
      const row = (b * B + r) * K;
      for (let t = 0; t < span; t++) {
        const j = start + t;
        const inWindow = j >= 0 && j < m && Math.abs(i + shift - j) <= window;
        allow[row + t] = inWindow && j >= glob.length && visible(x, i, j) ? 1 : 0;
      }
      glob.forEach((j, gi) => { allow[row + span + gi] = visible(x, i, j) ? 1 : 0; });
    }
  }
  return { block: B, perBlock: K, index, allow, fullRows: glob.filter((j) => j < n) };
}

export const longformer: VariantSpec = {
  id: 'longformer',
  paper: 'Beltagy et al. 2020, Longformer: The Long-Document Transformer',
  summary: 'Sliding window |i-j| <= w plus global tokens, in blocks of w queries',
  exact: false,
  sparse: true,
  defaults: { window: 128, globals: 1, map: 1 },
  aliases: [{ id: 'sliding', note: 'the estimate counts its sliding window, not the global tokens' }],
  cost: {
    name: 'Sliding-window attention', source: 'Beltagy et al. 2020, Longformer; Jiang et al. 2023, Mistral 7B',
    defaults: (m) => ({ window: m.window ?? 512 }),
    layer: (c, p) => materialised({ ...c, window: p.window }, F.slidingKeysPerQuery(c.m, p.window), c.kvHeads, F.slidingKeysPerQuery(c.m, p.window)),
  },
  build(x, params) {
    const w = Math.max(0, Math.floor(params.window ?? 128));
    const globals = Math.max(0, Math.floor(params.globals ?? 1));
    const qkv = qkvGraph('longformer', x);
    return blockSparseAttend(qkv, x, longformerLists(x, w, globals), wantMap(params), [
      `one-sided window w = ${w}, global tokens = first ${globals} position(s), blocks of ${Math.max(1, Math.min(w, x.n))} queries`,
    ]);
  },
  flops: (n, m, d, h, p) => {
    const w = p.window ?? 128;
    const g = p.globals ?? 1;
    const keys = 3 * Math.min(w, n) + g;
    return h * (4 * n * keys * d + 5 * n * keys + g * (4 * m * d + 5 * m));
  },
  memoryBytes: (n, m, d, h, p) => {
    const keys = 3 * Math.min(p.window ?? 128, n) + (p.globals ?? 1);
    return 4 * h * (2 * n * keys + 2 * (n / Math.min(p.window ?? 128, n)) * keys * d) + 4 * n * keys;
  },
};
