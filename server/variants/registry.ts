/**
 * The variant catalog: every attention variant the inspector knows, by id, with its paper, its
 * parameters and its cost model. The runnable ones (VARIANTS) build a graph on captured Q, K, V;
 * `exact` is the reference the metrics compare against. The KV layouts are for the efficiency
 * estimator only. The CLI (`variants`), the estimator, the Compare and Efficiency panels (through
 * attention/listVariants) and docs/variants.md all read this file: a new variant is its own file
 * and one line below.
 */
import { UserError } from '../../common/errors';
import type { VariantCatalogEntry } from '../../protocol/catalog';
import { analyticCost, type CostModel } from './costModel';
import { gqa, mha, mqa, type KvLayoutSpec } from './kvLayouts';
import type { VariantParams, VariantSpec } from './types';
// Scoring functions, local and sparse patterns, LSH, exact tiled kernels
import { exact } from './exact';
import { luongDot } from './luongDot';
import { luongGeneral } from './luongGeneral';
import { bahdanauAdditive } from './bahdanau';
import { decomposable } from './decomposable';
import { gravesCosine } from './gravesCosine';
import { luongLocation } from './luongLocation';
import { flash } from './flash';
import { chunked } from './chunked';
import { luongLocalP } from './luongLocalP';
import { longformer } from './longformer';
import { bigbird } from './bigbird';
import { reformerLsh } from './reformer';
// Linear, low-rank, random features, gated, hierarchical, mixtures
import { linear } from './linear';
import { performer } from './performer';
import { linformer } from './linformer';
import { mega } from './mega';
import { moa } from './moa';
import { switchHead } from './switchHead';
import { hat } from './hat';
import { structuredSelfAttention } from './structuredSelfAttention';

export const VARIANTS: VariantSpec[] = [
  // Scoring functions, local and sparse patterns, LSH, exact tiled kernels
  exact,
  luongDot,
  luongGeneral,
  bahdanauAdditive,
  decomposable,
  gravesCosine,
  luongLocation,
  flash,
  chunked,
  luongLocalP,
  longformer,
  bigbird,
  reformerLsh,
  // Linear, low-rank, random features, gated, hierarchical, mixtures
  linear,
  performer,
  linformer,
  mega,
  moa,
  switchHead,
  hat,
  structuredSelfAttention,
];

/** KV-head layouts: estimated, not run (kvLayouts.ts). */
export const KV_LAYOUTS: KvLayoutSpec[] = [mha, gqa, mqa];

/** An id as typed (an alias such as `lsh` included) -> the catalog id, with a note when it was an alias. */
export function resolveVariantId(id: string): { id: string; note?: string } {
  for (const v of VARIANTS) {
    const alias = v.aliases?.find((a) => a.id === id);
    if (alias) return { id: v.id, note: `variant "${id}" is now "${v.id}" (${alias.note})` };
  }
  return { id };
}

const allIds = () => [...VARIANTS.map((v) => v.id), ...KV_LAYOUTS.map((v) => v.id)];

/** A runnable variant by id or alias. */
export function getVariant(id: string): VariantSpec {
  const resolved = resolveVariantId(id).id;
  const spec = VARIANTS.find((v) => v.id === resolved);
  if (!spec) {
    const layout = KV_LAYOUTS.some((v) => v.id === resolved) ? ` ("${resolved}" is a KV-head layout, estimated only)` : '';
    throw new UserError(
      `unknown attention variant "${id}"${layout}: run \`attention-inspector variants\` for the list (${VARIANTS.map((v) => v.id).join(', ')})`,
    );
  }
  return spec;
}

/** The cost model the estimator uses for a variant: its own, or one from its analytic counts. */
export function costModelOf(spec: VariantSpec | KvLayoutSpec): CostModel {
  const c = spec.cost;
  if ('from' in c) return analyticCost(c.name, spec as VariantSpec, c.note);
  return c;
}

export interface CostedVariant {
  id: string;
  paper: string;
  cost: CostModel;
}

/** Every catalog entry with its cost model, in catalog order: what the estimator runs by default. */
export function costedVariants(): CostedVariant[] {
  return [...VARIANTS, ...KV_LAYOUTS].map((v) => ({ id: v.id, paper: v.paper, cost: costModelOf(v) }));
}

/** A cost model by id or alias, or a one-line error listing the ids. */
export function costedVariant(id: string): CostedVariant {
  const resolved = resolveVariantId(id).id;
  const hit = costedVariants().find((v) => v.id === resolved);
  if (!hit) throw new UserError(`Unknown variant "${id}"; use one of: ${allIds().join(', ')}.`);
  return hit;
}

/** The catalog as the runtime serves it (attention/listVariants) and the CLI prints it. */
export function variantCatalog(): VariantCatalogEntry[] {
  const params = (p: VariantParams) => Object.fromEntries(Object.entries(p).filter(([k]) => k !== 'map'));
  return [
    ...VARIANTS.map((v) => {
      const cost = costModelOf(v);
      return {
        id: v.id, paper: v.paper, summary: v.summary, runnable: true, exact: v.exact, sparse: v.sparse,
        params: params(v.defaults), aliases: (v.aliases ?? []).map((a) => a.id),
        cost: { name: cost.name, model: 'from' in v.cost ? 'analytic' as const : 'io' as const, source: cost.source ?? v.paper },
      };
    }),
    ...KV_LAYOUTS.map((v) => ({
      id: v.id, paper: v.paper, summary: v.summary, runnable: false, exact: true, sparse: false, params: {}, aliases: [],
      cost: { name: v.cost.name, model: 'io' as const, source: v.cost.source ?? v.paper },
    })),
  ];
}
