/**
 * Attention tensors as [heads, queries, keys] with batch 1: torch exports give
 * [batch*heads, q, k], Hugging Face exports [batch, heads, q, k], grouped-query exports may
 * add a dimension, a single head gives [q, k]. C order makes all of them the same bytes; only
 * the leading dimensions fold into heads.
 */
export function attentionShape(dims: readonly number[]): { heads: number; queries: number; keys: number } {
  if (dims.length < 2) throw new Error(`attention tensor of rank ${dims.length}`);
  const queries = dims[dims.length - 2];
  const keys = dims[dims.length - 1];
  const heads = dims.slice(0, -2).reduce((a, b) => a * b, 1);
  return { heads, queries, keys };
}
