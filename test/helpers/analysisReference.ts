/**
 * Independent references for the analysis tests (unit and webview): plain nested arrays and
 * textbook algorithms, sharing no code with webview/analysis.
 */

/** Max flow by Edmonds-Karp (BFS shortest augmenting paths) on a dense capacity matrix. */
export function edmondsKarp(capIn: number[][], s: number, t: number): number {
  const n = capIn.length;
  const cap = capIn.map((r) => r.slice());
  let flow = 0;
  for (;;) {
    const parent = new Array<number>(n).fill(-1);
    parent[s] = s;
    const queue = [s];
    while (queue.length && parent[t] < 0) {
      const u = queue.shift()!;
      for (let v = 0; v < n; v++) {
        if (parent[v] < 0 && cap[u][v] > 1e-12) {
          parent[v] = u;
          queue.push(v);
        }
      }
    }
    if (parent[t] < 0) return flow;
    let f = Infinity;
    for (let v = t; v !== s; v = parent[v]) f = Math.min(f, cap[parent[v]][v]);
    for (let v = t; v !== s; v = parent[v]) {
      cap[parent[v]][v] -= f;
      cap[v][parent[v]] += f;
    }
    flow += f;
  }
}

/** 0.5 A + 0.5 I, rows renormalised. */
export function augment(a: number[][]): number[][] {
  return a.map((row, i) => {
    const r = row.map((x, j) => 0.5 * x + (i === j ? 0.5 : 0));
    const s = r.reduce((x, y) => x + y, 0);
    return r.map((x) => x / s);
  });
}

export function product(a: number[][], b: number[][]): number[][] {
  return a.map((row) => b[0].map((_, j) => row.reduce((s, x, k) => s + x * b[k][j], 0)));
}

/** Rollout of head-mean maps (bottom layer first) by direct products: A'_L ... A'_1. */
export function rolloutReference(means: number[][][]): number[][] {
  return means.map(augment).reduce((acc, a) => product(a, acc));
}

/** Flow from output token i to input token j through layered augmented maps, via Edmonds-Karp. */
export function flowReference(means: number[][][], i: number, j: number): number {
  const n = means[0].length;
  const L = means.length;
  const N = (L + 1) * n;
  const cap = Array.from({ length: N }, () => new Array<number>(N).fill(0));
  means.forEach((a, idx) => {
    const aug = augment(a);
    for (let x = 0; x < n; x++) for (let y = 0; y < n; y++) cap[(idx + 1) * n + x][idx * n + y] = aug[x][y];
  });
  return edmondsKarp(cap, L * n + i, j);
}

/** Head h of a [heads, n, n] layer as nested arrays, restricted to `kept` and rows renormalised. */
export function headArrays(data: Float32Array, h: number, n: number, kept?: number[]): number[][] {
  const idx = kept ?? Array.from({ length: n }, (_, i) => i);
  return idx.map((q) => {
    const row = idx.map((k) => data[(h * n + q) * n + k]);
    const s = row.reduce((x, y) => x + y, 0);
    // Renormalised only when keys were dropped: the captured rows are kept as they came.
    return kept && s > 0 ? row.map((x) => x / s) : row;
  });
}

/** Mean over heads of nested-array maps. */
export function meanArrays(heads: number[][][]): number[][] {
  return heads[0].map((row, q) => row.map((_, k) => heads.reduce((s, m) => s + m[q][k], 0) / heads.length));
}

/** Independent per-row statistics of one head (nested arrays, index loops). */
export function statsOf(map: number[][], k: number): Record<string, number> {
  const n = map.length;
  const mean = (f: (q: number) => number, from = 0) => {
    let s = 0;
    for (let q = from; q < n; q++) s += f(q);
    return s / (n - from);
  };
  return {
    entropy: mean((q) => map[q].reduce((s, a) => (a > 0 ? s + a * Math.log(1 / a) : s), 0)),
    distance: mean((q) => map[q].reduce((s, a, j) => s + a * Math.abs(q - j), 0)),
    first: mean((q) => map[q][0]),
    previous: mean((q) => map[q][q - 1], 1),
    self: mean((q) => map[q][q]),
    sparsity: mean((q) => [...map[q]].sort((a, b) => b - a).slice(0, k).reduce((s, a) => s + a, 0) / map[q].reduce((s, a) => s + a, 0)),
  };
}
