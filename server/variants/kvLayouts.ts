/**
 * Key/value head layouts: the same softmax attention with one KV head per query head (MHA), a
 * few groups (GQA) or one shared head (MQA). They change the projections and the KV cache of a
 * model, not what attention computes on a captured layer, so the catalog lists them for the
 * efficiency estimator only (no graph to run on captured Q, K, V).
 */
import { configuredKeys, materialised, type CostModel } from './costModel';

export interface KvLayoutSpec {
  id: string;
  paper: string;
  summary: string;
  cost: CostModel;
}

function defaultGroups(heads: number, kvHeads: number): number {
  if (kvHeads > 1 && kvHeads < heads) return kvHeads;
  for (let g = Math.max(1, Math.floor(heads / 4)); g >= 1; g--) if (heads % g === 0) return g;
  return 1;
}

export const mha: KvLayoutSpec = {
  id: 'mha',
  paper: 'Vaswani et al. 2017, Attention Is All You Need',
  summary: 'Multi-head attention with one KV head per query head',
  cost: { name: 'Multi-head attention (one KV head per head)', defaults: () => ({}), layer: (c) => materialised(c, configuredKeys(c), c.heads) },
};

export const gqa: KvLayoutSpec = {
  id: 'gqa',
  paper: 'Ainslie et al. 2023, GQA: Training Generalized Multi-Query Transformer Models from Multi-Head Checkpoints',
  summary: 'Query heads in groups that share one KV head each',
  cost: {
    name: 'Grouped-query attention',
    defaults: (m) => ({ kvHeads: defaultGroups(m.heads, m.kvHeads) }),
    layer: (c, p) => materialised(c, configuredKeys(c), p.kvHeads),
  },
};

export const mqa: KvLayoutSpec = {
  id: 'mqa',
  paper: 'Shazeer 2019, Fast Transformer Decoding: One Write-Head is All You Need',
  summary: 'Every query head shares one KV head',
  cost: { name: 'Multi-query attention (one KV head)', defaults: () => ({}), layer: (c) => materialised(c, configuredKeys(c), 1) },
};
