/**
 * Every attention variant the inspector can run, by id. `exact` is the reference the metrics
 * compare against. Exact-cost mechanisms (scoring functions, local/sparse, LSH, exact tiled
 * kernels) and efficient ones (linear, low-rank, random features, gated, hierarchical, mixtures)
 * each add one line here.
 */
import { UserError } from '../capture/types';
import type { VariantSpec } from './types';
// Scoring functions, local and sparse patterns, LSH, exact tiled kernels
import { exact } from './exact';
import { luongDot } from './luongDot';
import { luongGeneral } from './luongGeneral';
import { bahdanauAdditive } from './bahdanau';
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

export function getVariant(id: string): VariantSpec {
  const spec = VARIANTS.find((v) => v.id === id);
  if (!spec) {
    throw new UserError(
      `unknown attention variant "${id}": run \`attention-inspector variants\` for the list (${VARIANTS.map((v) => v.id).join(', ')})`,
    );
  }
  return spec;
}
