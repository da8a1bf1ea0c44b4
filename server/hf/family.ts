/**
 * What every family builder provides. A model is embed -> layers -> head; the same three
 * pieces are composed into one graph (all in memory) or run as separate stages (layer mode).
 */
import { UserError } from '../capture/types';
import type { BuildCtx } from './binder';

export interface FamilyGraph {
  /** [T, hidden] from the host inputs. */
  embed(ctx: BuildCtx): string;
  /** One block: the new hidden state and its attention probabilities [1, heads, T, T]. */
  layer(ctx: BuildCtx, index: number, x: string): { x: string; probs: string };
  /** Logits [T, V] (or the final hidden state for encoders saved without a head). */
  head(ctx: BuildCtx, x: string): string;
}

/** The first prefix under which `probe` exists, e.g. "transformer." for GPT2LMHeadModel. */
export function findPrefix(has: (name: string) => boolean, probe: string, prefixes: string[], file: string): string {
  for (const p of prefixes) if (has(p + probe)) return p;
  throw new UserError(`${file}: no tensor "${probe}" (tried prefixes ${prefixes.map((p) => JSON.stringify(p)).join(', ')}); the weights do not match config.json's model_type.`);
}
