/**
 * The serving report: every policy swept over budgets on one text (one full-cache run, one
 * masked run per policy and budget), the full-cache maps with each policy's kept keys at one
 * budget for the head map, and the head-type scores. Bounded before any work: the head map
 * carries every layer's maps, so long texts on big models are refused with the way out.
 */
import type { ServingPolicy, ServingReport } from '../../protocol/servingWebview';
import { encodeBytes } from '../../protocol/servingWebview';
import { encodeFloat32 } from '../../protocol/encoding';
import { UserError } from '../../common/errors';
import { POLICIES, POLICY_PAPERS, type EvictionPolicy } from './evictionPolicies';
import { scoreLayer } from '../../common/headScores';
import { assertCausal, simulateKv } from './kvSimulation';
import type { MaskedModel } from './maskedModel';

/** Map cells the report may carry (float32 map + kept bytes per policy: ~8 bytes a cell). */
export const MAX_REPORT_CELLS = 8 * 2 ** 20;

export const POLICY_MAPPINGS: Record<EvictionPolicy, string> = {
  streaming: 'query q keeps the first s keys and the last B − s (itself included)',
  h2o: 'a cache evolving token by token: above B keys, the key with the lowest accumulated attention outside the recent B/2 leaves',
  snapkv: 'query q is the first generated token after the prompt x<q, which SnapKV compressed with the votes of its last w rows',
  tova: 'a cache evolving token by token: above B keys, the key with the lowest head-averaged attention of the current query leaves',
};

const NAMES: Record<EvictionPolicy, string> = { streaming: 'StreamingLLM', h2o: 'H2O', snapkv: 'SnapKV', tova: 'TOVA' };

export interface ReportOptions {
  budgets: number[];
  sinks: number;
  headMapBudget: number;
  probe?: ServingReport['probe'];
}

export async function buildServingReport(model: MaskedModel, ids: number[], tokens: string[], o: ReportOptions): Promise<ServingReport> {
  const n = ids.length;
  const cells = model.heads.reduce((a, b) => a + b, 0) * n * n;
  if (cells > MAX_REPORT_CELLS) {
    throw new UserError(`${model.path}: ${n} tokens make ${cells} map cells, above the report's ${MAX_REPORT_CELLS}; use a shorter text, or the kv command for the figures alone`);
  }
  const full = await model.run(ids);
  assertCausal(full.probs, n, model.path);
  const budgets = [...new Set([...o.budgets, o.headMapBudget])].sort((a, b) => a - b);
  const policies = {} as ServingReport['policies'];
  for (const policy of POLICIES) {
    const points = [];
    let kept: string[] = [];
    let atHeadMapBudget: ServingReport['policies'][ServingPolicy]['atHeadMapBudget'] = { massKept: [], outputRelativeL2: [] };
    for (const budget of budgets) {
      const { report, details } = await simulateKv(model, ids, full, { policy, budget, sinks: policy === 'streaming' ? Math.min(o.sinks, budget - 1) : undefined });
      const byLayer = report.layers.map((l) => l.massKept.reduce((a, b) => a + b, 0) / l.massKept.length);
      const errs = details.outputRelativeL2.filter((e): e is number => e !== null);
      points.push({
        budget,
        massKept: byLayer.reduce((a, b) => a + b, 0) / byLayer.length,
        massKeptByLayer: byLayer,
        outputRelativeL2: errs.length > 0 ? errs.reduce((a, b) => a + b, 0) / errs.length : null,
        nextTokenKL: report.nextTokenKL,
        top1Agreement: report.top1Agreement,
        kvBytesSaved: report.kvBytesSaved,
      });
      if (budget === o.headMapBudget) {
        kept = details.kept.map((m) => encodeBytes(m.keep));
        atHeadMapBudget = { massKept: report.layers.map((l) => l.massKept), outputRelativeL2: details.outputRelativeL2 };
      }
    }
    policies[policy as ServingPolicy] = { name: NAMES[policy], paper: POLICY_PAPERS[policy], mapping: POLICY_MAPPINGS[policy], points, kept, atHeadMapBudget };
  }
  return {
    model: model.name,
    executionProvider: model.provider,
    tokens,
    ids,
    ...(o.probe ? { probe: o.probe } : {}),
    budgets,
    sinks: o.sinks,
    headMapBudget: o.headMapBudget,
    policies,
    layers: full.probs.map((p) => {
      const heads = p.length / (n * n);
      return { heads, map: encodeFloat32(p), ...scoreLayer({ heads, queries: n, keys: n, data: p }, ids) };
    }),
  };
}
