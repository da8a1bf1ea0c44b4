/**
 * Rank of a weight within its query's row (1 = the key this query attends to most). Ties share
 * the better rank (competition ranking: 1, 2, 2, 4), so two keys with equal weight read alike.
 */

/** Ranks of row[start..end), in that order: 1 + how many entries of the range are larger. */
export function rowRanks(row: ArrayLike<number>, start = 0, end = row.length): Int32Array {
  const n = end - start;
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => row[start + b] - row[start + a]);
  const ranks = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const prev = i > 0 ? order[i - 1] : -1;
    ranks[order[i]] = prev >= 0 && row[start + prev] === row[start + order[i]] ? ranks[prev] : i + 1;
  }
  return ranks;
}
