/**
 * Attention flow (Abnar & Zuidema 2020): the layers as a graph, node (l, i) being token i after
 * layer l (l = 0 is the input), with an edge (l, i) -> (l - 1, j) of capacity A'_l[i][j], the
 * residual-augmented attention (rollout.ts). The flow from output token i to input token j is
 * the maximum flow from (L, i) to (0, j). One max-flow per pair makes this cost far more than
 * rollout, so callers limit it (the Flow view: n <= MAX_FLOW_TOKENS and a range of output rows).
 * Max-flow by Dinic's algorithm (BFS levels + blocking flows by DFS).
 */
import type { Mat } from './matrix';
import { residualAugment } from './rollout';

/** Longest input the Flow view computes on: n max-flows per output row over L n^2 edges. */
export const MAX_FLOW_TOKENS = 256;

const EPS = 1e-12;

/** A flow network in adjacency-list form, edges stored in pairs (edge ^ 1 is its reverse). */
export class Network {
  readonly head: Int32Array;
  to: number[] = [];
  next: number[] = [];
  cap: number[] = [];
  constructor(readonly nodes: number) {
    this.head = new Int32Array(nodes).fill(-1);
  }
  add(u: number, v: number, c: number): void {
    this.push(u, v, c);
    this.push(v, u, 0);
  }
  private push(u: number, v: number, c: number): void {
    this.to.push(v);
    this.cap.push(c);
    this.next.push(this.head[u]);
    this.head[u] = this.to.length - 1;
  }
}

/** Dinic's max flow from s to t; `cap` is consumed (pass a copy to reuse the network). */
export function maxFlow(net: Network, cap: Float64Array, s: number, t: number): number {
  const level = new Int32Array(net.nodes);
  const it = new Int32Array(net.nodes);
  const queue = new Int32Array(net.nodes);
  let total = 0;
  for (;;) {
    level.fill(-1);
    level[s] = 0;
    let qh = 0;
    let qt = 0;
    queue[qt++] = s;
    while (qh < qt) {
      const u = queue[qh++];
      for (let e = net.head[u]; e !== -1; e = net.next[e]) {
        const v = net.to[e];
        if (level[v] < 0 && cap[e] > EPS) {
          level[v] = level[u] + 1;
          queue[qt++] = v;
        }
      }
    }
    if (level[t] < 0) return total;
    it.set(net.head);
    const dfs = (u: number, f: number): number => {
      if (u === t) return f;
      for (; it[u] !== -1; it[u] = net.next[it[u]]) {
        const e = it[u];
        const v = net.to[e];
        if (cap[e] > EPS && level[v] === level[u] + 1) {
          const d = dfs(v, Math.min(f, cap[e]));
          if (d > EPS) {
            cap[e] -= d;
            cap[e ^ 1] += d;
            return d;
          }
        }
      }
      return 0;
    };
    for (let f = dfs(s, Infinity); f > EPS; f = dfs(s, Infinity)) total += f;
  }
}

/** The layered graph over layer maps given bottom layer first (already residual-augmented). */
export function flowNetwork(augmented: Mat[]): { net: Network; cap: Float64Array; node: (layer: number, token: number) => number } {
  const n = augmented[0]?.rows ?? 0;
  const L = augmented.length;
  const node = (l: number, i: number) => l * n + i;
  const net = new Network((L + 1) * n);
  augmented.forEach((a, idx) => {
    const l = idx + 1;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      const c = a.data[i * n + j];
      if (c > 0) net.add(node(l, i), node(l - 1, j), c);
    }
  });
  return { net, cap: Float64Array.from(net.cap), node };
}

/**
 * Flow from each output token in `outputs` (top layer) to every input token: [outputs, n].
 * `layerMeans` are head-mean maps, bottom layer first; they are residual-augmented here.
 */
export function attentionFlow(layerMeans: Mat[], outputs: number[]): Float64Array {
  const n = layerMeans[0]?.rows ?? 0;
  if (n > MAX_FLOW_TOKENS) throw new Error(`attention flow is limited to ${MAX_FLOW_TOKENS} tokens (got ${n}); use rollout or a shorter text`);
  const { net, cap, node } = flowNetwork(layerMeans.map(residualAugment));
  const L = layerMeans.length;
  const out = new Float64Array(outputs.length * n);
  const work = new Float64Array(cap.length);
  outputs.forEach((i, r) => {
    for (let j = 0; j < n; j++) {
      work.set(cap);
      out[r * n + j] = maxFlow(net, work, node(L, i), node(0, j));
    }
  });
  return out;
}
