/**
 * BigBird (Zaheer et al. 2020, "Big Bird: Transformers for Longer Sequences", §2 and appendix D,
 * BIGBIRD-ITC): keys in blocks of b; each query block sees its 3 neighbouring blocks, the first
 * g (global) blocks, and r random blocks drawn from the seed; the global blocks' queries see
 * every key. Random blocks under causal masking are drawn from earlier blocks only.
 */
import { blockSparseAttend, visible } from './blockSparse';
import type { KeyLists } from './blockSparse';
import { qkvGraph, wantMap } from './graphParts';
import { mulberry32, subSeed } from './rng';
import type { VariantInputs, VariantSpec } from './types';
import * as F from '../efficiency/formulas';
import { materialised } from './costModel';

/** Key blocks per query block: window, global, then random (seeded), as token lists. */
export function bigbirdLists(x: VariantInputs, b: number, globals: number, random: number): KeyLists & { blocks: number[][] } {
  const { n, m } = x;
  const shift = m - n;
  const B = Math.max(1, Math.min(b, Math.max(n, m)));
  const nbq = Math.ceil(n / B);
  const nbk = Math.ceil(m / B);
  const g = Math.min(globals, nbk);
  const rand = mulberry32(subSeed(x.seed, 41));
  const blocks: number[][] = [];
  for (let qb = 0; qb < nbq; qb++) {
    const own = Math.floor((qb * B + shift) / B);
    const chosen = new Set<number>();
    for (const kb of [own - 1, own, own + 1]) if (kb >= 0 && kb < nbk) chosen.add(kb);
    for (let kb = 0; kb < g; kb++) chosen.add(kb);
    const limit = x.causal ? Math.min(own, nbk - 1) : nbk - 1;
    const pool = [];
    for (let kb = 0; kb <= limit; kb++) if (!chosen.has(kb)) pool.push(kb);
    for (let r = 0; r < random && pool.length; r++) chosen.add(pool.splice(Math.floor(rand() * pool.length), 1)[0]);
    blocks.push([...chosen]);
  }
  const K = B * Math.max(...blocks.map((l) => l.length));
  const index = new Int32Array(nbq * K);
  const allow = new Uint8Array(nbq * B * K);
  blocks.forEach((list, qb) => {
    for (let t = 0; t < K; t++) {
      const kb = list[Math.floor(t / B)];
      const j = kb === undefined ? -1 : kb * B + (t % B);
      index[qb * K + t] = j >= 0 && j < m ? j : 0;
      for (let r = 0; r < B; r++) {
        const i = qb * B + r;
        allow[(qb * B + r) * K + t] = i < n && j >= 0 && j < m && visible(x, i, j) ? 1 : 0;
      }
    }
  });
  const fullRows = Array.from({ length: Math.min(g * B, n) }, (_, i) => i);
  return { block: B, perBlock: K, index, allow, fullRows, blocks };
}

export const bigbird: VariantSpec = {
  id: 'bigbird',
  paper: 'Zaheer et al. 2020, Big Bird: Transformers for Longer Sequences',
  summary: 'Block sparse: 3 window blocks + global blocks + seeded random blocks per query block',
  exact: false,
  sparse: true,
  defaults: { block: 16, globals: 1, random: 2, map: 1 },
  cost: {
    name: 'BigBird', source: 'Zaheer et al. 2020 (blocks of 64: 3 window, 3 random, 2 global)',
    defaults: () => ({ block: 64, windowBlocks: 3, randomBlocks: 3, globalBlocks: 2 }),
    layer: (c, p) => {
      const pairs = c.decode
        ? Math.min(c.m, (p.windowBlocks + p.randomBlocks + p.globalBlocks) * p.block)
        : F.bigBirdPairs(c.n, c.m, p.block, p.windowBlocks, p.randomBlocks, p.globalBlocks);
      const base = materialised(c, pairs / c.n, c.kvHeads, c.m);
      return { ...base, cacheElements: 2 * c.kvHeads * c.headDim * c.m };
    },
  },
  build(x, params) {
    const b = Math.max(1, Math.floor(params.block ?? 16));
    const g = Math.max(0, Math.floor(params.globals ?? 1));
    const r = Math.max(0, Math.floor(params.random ?? 2));
    const qkv = qkvGraph('bigbird', x);
    return blockSparseAttend(qkv, x, bigbirdLists(x, b, g, r), wantMap(params), [
      `block ${b}, ${g} global block(s), ${r} random block(s) per query block seeded (seed ${x.seed})`,
    ]);
  },
  flops: (n, m, d, h, p) => {
    const b = Math.min(p.block ?? 16, n);
    const keys = b * (3 + (p.globals ?? 1) + (p.random ?? 2));
    const gRows = (p.globals ?? 1) * b;
    return h * (4 * n * keys * d + 5 * n * keys + gRows * (4 * m * d + 5 * m));
  },
  memoryBytes: (n, m, d, h, p) => {
    const b = Math.min(p.block ?? 16, n);
    const keys = b * (3 + (p.globals ?? 1) + (p.random ?? 2));
    return 4 * h * (2 * n * keys + 2 * (n / b) * keys * d) + 4 * n * keys;
  },
};
