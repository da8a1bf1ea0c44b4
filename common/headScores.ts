/**
 * Head-type scores over captured causal maps a[q, k] of tokens x (definitions in
 * docs/serving.md): previous-token (Olsson et al. 2022's shifted diagonal), duplicate-token,
 * induction (Olsson et al. 2022) and sink (mass on the first token; a sink head above
 * ε = 0.3, after Gu et al. 2024). A score over rows that do not exist is null, not 0, so "no
 * repeats in the text" cannot read as "not an induction head".
 */
/** One layer's maps, [heads, queries, keys] row-major: the fields of the runtime's LayerMap that scoring reads. */
export interface ScoredMap {
  heads: number;
  queries: number;
  keys: number;
  data: ArrayLike<number>;
}

export const SINK_THRESHOLD = 0.3;

export interface LayerHeadScores {
  previousToken: (number | null)[];
  duplicateToken: (number | null)[];
  induction: (number | null)[];
  sink: (number | null)[];
}

export type HeadType = 'previous-token' | 'duplicate-token' | 'induction' | 'sink';

/** Rows q with some j < q (duplicate) or j < q-1 (induction) holding the same token. */
function earlierCopies(ids: number[]): { duplicate: number[][]; induction: number[][] } {
  const seen = new Map<number, number[]>();
  const duplicate: number[][] = [];
  const induction: number[][] = [];
  ids.forEach((x, q) => {
    const before = seen.get(x) ?? [];
    duplicate.push([...before]);
    induction.push(before.filter((j) => j < q - 1));
    before.push(q);
    seen.set(x, before);
  });
  return { duplicate, induction };
}

const mean = (sum: number, rows: number): number | null => (rows > 0 ? sum / rows : null);

/** Scores of every head of one self-attention layer ([heads, n, n]) over token ids x. */
export function scoreLayer(map: ScoredMap, ids: number[]): LayerHeadScores {
  const { heads, queries: n, keys: m, data } = map;
  if (n !== ids.length || m !== ids.length) throw new Error(`head scores need an n x n self-attention map over the ${ids.length} tokens, got ${n} x ${m}`);
  const copies = earlierCopies(ids);
  const out: LayerHeadScores = { previousToken: [], duplicateToken: [], induction: [], sink: [] };
  for (let h = 0; h < heads; h++) {
    const row = (q: number) => (h * n + q) * m;
    let prev = 0;
    let sink = 0;
    let dup = 0;
    let dupRows = 0;
    let ind = 0;
    let indRows = 0;
    for (let q = 0; q < n; q++) {
      const r = row(q);
      sink += data[r];
      if (q >= 1) prev += data[r + q - 1];
      const d = copies.duplicate[q];
      if (d.length > 0) {
        dupRows++;
        for (const j of d) dup += data[r + j];
      }
      const c = copies.induction[q];
      if (c.length > 0) {
        indRows++;
        for (const j of c) ind += data[r + j + 1];
      }
    }
    out.previousToken.push(mean(prev, n - 1));
    out.sink.push(mean(sink, n));
    out.duplicateToken.push(mean(dup, dupRows));
    out.induction.push(mean(ind, indRows));
  }
  return out;
}

/** Score a head must exceed to carry a type: ε = 0.3 for sinks (Gu et al. 2024), 0.4 otherwise. */
export const TYPE_THRESHOLDS: Record<HeadType, number> = { sink: SINK_THRESHOLD, 'previous-token': 0.4, induction: 0.4, 'duplicate-token': 0.4 };

/**
 * The types a head carries, strongest first: every type whose score clears its threshold. 0.4
 * is well above what a uniform head scores on the repeat probe (the qualifying keys are a few of
 * ~2N). An induction head that parks on the first token while nothing repeats is both
 * induction and sink; its stronger score comes first and names it in the grid.
 */
export function headTypes(s: LayerHeadScores): HeadType[][] {
  return s.sink.map((_, h) => {
    const cands: [HeadType, number | null][] = [
      ['sink', s.sink[h]],
      ['previous-token', s.previousToken[h]],
      ['induction', s.induction[h]],
      ['duplicate-token', s.duplicateToken[h]],
    ];
    return cands
      .filter((c): c is [HeadType, number] => c[1] !== null && c[1] > TYPE_THRESHOLDS[c[0]])
      .sort((a, b) => b[1] - a[1])
      .map((c) => c[0]);
  });
}
