/**
 * A text the tokenizer mostly does not know (another script, a vocabulary for another domain)
 * still gives maps, but of [UNK] after [UNK]: the run is told so, by the CLI and the panel.
 */

/** Share of unknown tokens above which the warning is given. */
export const UNKNOWN_SHARE = 0.5;

export function unknownTokenWarning(ids: number[], tokens: string[], unkId: number | undefined): string | undefined {
  if (unkId === undefined || ids.length === 0) return undefined;
  let unknown = 0;
  for (const id of ids) if (id === unkId) unknown++;
  if (unknown <= ids.length * UNKNOWN_SHARE) return undefined;
  const name = tokens[ids.indexOf(unkId)] ?? String(unkId);
  return `${unknown} of ${ids.length} tokens are unknown to the tokenizer (${name}): most of this text is outside its vocabulary, so its maps say little about the text; use text in the model's language or a tokenizer that covers it`;
}
