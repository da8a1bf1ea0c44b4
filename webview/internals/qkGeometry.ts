/**
 * The joint query–key embedding of AttentionViz (Yeh et al. 2023): queries and keys of a head
 * in one 2-D picture, placed so that nearness means high attention. Two transformations leave
 * every attention weight unchanged and make distance track the dot product:
 *  - translation: adding one vector c to every key adds q·c to every score of a query, which the
 *    softmax cancels; keys are moved so their centroid sits on the queries' centroid;
 *  - scaling: q·k = (a·q)·(k/a); a is chosen so queries and keys have the same mean norm.
 * Each head (and each group of texts in a corpus) is normalised on its own, then all points go
 * through one projection: PCA (ml-pca) by default, UMAP (umap-js) on request.
 */
import { PCA } from 'ml-pca';
import { UMAP } from 'umap-js';
import { mulberry32 } from '../../common/seededRandom';

export interface QkGroup {
  /** Head index. */
  head: number;
  /** [rows, d] each; grouped-query keys already repeated per query head. */
  q: Float32Array;
  k: Float32Array;
  rows: number;
  d: number;
  /** Token strings, one per row. */
  tokens: string[];
  /** Which text of a corpus each row belongs to, and its position in that text. */
  text: Int32Array;
  position: Int32Array;
}

export interface QkPoints {
  count: number;
  x: Float32Array;
  y: Float32Array;
  /** 1 for a query, 0 for a key. */
  isQuery: Uint8Array;
  head: Int32Array;
  text: Int32Array;
  position: Int32Array;
  tokens: string[];
  /** Normalised vectors (for tests and re-projection): [count, d]. */
  vectors: Float64Array;
  d: number;
}

export type Projection = 'pca' | 'umap';

/** AttentionViz's translation and scaling of one group, in float64: [2·rows, d], queries first. */
export function normaliseGroup(g: QkGroup): Float64Array {
  const { rows, d } = g;
  const mq = new Float64Array(d);
  const mk = new Float64Array(d);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < d; c++) {
      mq[c] += g.q[r * d + c] / rows;
      mk[c] += g.k[r * d + c] / rows;
    }
  }
  const out = new Float64Array(2 * rows * d);
  let nq = 0;
  let nk = 0;
  for (let r = 0; r < rows; r++) {
    let sq = 0;
    let sk = 0;
    for (let c = 0; c < d; c++) {
      const q = g.q[r * d + c];
      const k = g.k[r * d + c] - mk[c] + mq[c];
      out[r * d + c] = q;
      out[(rows + r) * d + c] = k;
      sq += q * q;
      sk += k * k;
    }
    nq += Math.sqrt(sq) / rows;
    nk += Math.sqrt(sk) / rows;
  }
  const a = nq > 0 && nk > 0 ? Math.sqrt(nk / nq) : 1;
  for (let i = 0; i < rows * d; i++) out[i] *= a;
  for (let i = rows * d; i < 2 * rows * d; i++) out[i] /= a;
  return out;
}

/** Every group normalised and projected into one 2-D embedding. */
export function embedQk(groups: QkGroup[], projection: Projection = 'pca'): QkPoints {
  const d = groups[0]?.d ?? 0;
  const count = groups.reduce((a, g) => a + 2 * g.rows, 0);
  const vectors = new Float64Array(count * d);
  const isQuery = new Uint8Array(count);
  const head = new Int32Array(count);
  const text = new Int32Array(count);
  const position = new Int32Array(count);
  const tokens: string[] = new Array(count);
  let o = 0;
  for (const g of groups) {
    vectors.set(normaliseGroup(g), o * d);
    for (let side = 0; side < 2; side++) {
      for (let r = 0; r < g.rows; r++, o++) {
        isQuery[o] = side === 0 ? 1 : 0;
        head[o] = g.head;
        text[o] = g.text[r];
        position[o] = g.position[r];
        tokens[o] = g.tokens[r];
      }
    }
  }
  const rows: number[][] = Array.from({ length: count }, (_, i) => Array.from(vectors.subarray(i * d, (i + 1) * d)));
  const x = new Float32Array(count);
  const y = new Float32Array(count);
  if (count === 0) return { count, x, y, isQuery, head, text, position, tokens, vectors, d };
  let xy: number[][];
  if (projection === 'umap' && count > 3) {
    const umap = new UMAP({ nComponents: 2, nNeighbors: Math.min(15, count - 1), minDist: 0.1, random: mulberry32(7) });
    xy = umap.fit(rows);
  } else {
    // The covariance form costs d×d, not count×count: 20,000 points of 128 dimensions stay fast.
    const pca = new PCA(rows, { method: 'covarianceMatrix', center: true });
    const p = pca.predict(rows, { nComponents: Math.min(2, d) }).to2DArray();
    xy = p.map((r) => [r[0] ?? 0, r[1] ?? 0]);
  }
  for (let i = 0; i < count; i++) {
    x[i] = xy[i][0];
    y[i] = xy[i][1];
  }
  return { count, x, y, isQuery, head, text, position, tokens, vectors, d };
}
