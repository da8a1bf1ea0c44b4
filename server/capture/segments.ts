/**
 * Cutting a model into segments at its attention-layer boundaries, found from the graph's
 * structure, never from tensor names. Segment k holds every node between the cut before
 * attention site k and the cut after it, so running the segments in order computes each node
 * exactly once, and segment k can later be re-run alone from the tensors it reads from earlier
 * segments (its boundary: the residual stream entering the layer, masks, positions).
 *
 * Where to cut between site k-1 and site k: after the node where the fewest activations are
 * alive (produced before, read after). In a transformer that is the residual stream between two
 * blocks; ties go to the latest position, so a block's MLP stays with its attention. Values
 * computed from weights only (shapes, constants, transposed weights) are not cut at all: every
 * segment that reads one gets its own copy of the nodes producing it.
 */
import type { onnx } from 'onnx-proto';

export interface SegmentSpec {
  index: number;
  /** The nodes of this segment (its own, then copies of constant producers), in graph order. */
  nodes: onnx.INodeProto[];
  /** Activations this segment reads from the graph's inputs or from earlier segments. */
  inputs: string[];
  /** Activations later segments read, and graph outputs produced here. */
  outputs: string[];
  /** The attention probabilities produced here, in site order. */
  sites: string[];
  /** Initializer names the segment's nodes read. */
  initializers: string[];
}

/** Names a subgraph (If/Loop/Scan body) reads from the scope around it. */
function outerReads(graph: onnx.IGraphProto, defined: Set<string> = new Set()): Set<string> {
  const local = new Set<string>(defined);
  for (const v of graph.input ?? []) local.add(v.name ?? '');
  for (const t of graph.initializer ?? []) local.add(t.name ?? '');
  const reads = new Set<string>();
  for (const n of graph.node ?? []) {
    for (const x of n.input ?? []) if (x && !local.has(x)) reads.add(x);
    for (const a of n.attribute ?? []) {
      for (const g of [a.g, ...(a.graphs ?? [])]) if (g) for (const x of outerReads(g, local)) reads.add(x);
    }
    for (const o of n.output ?? []) if (o) local.add(o);
  }
  return reads;
}

/** Every value a node reads, including those its subgraphs read from the enclosing graph. */
export function nodeReads(n: onnx.INodeProto): string[] {
  const reads = new Set((n.input ?? []).filter((x) => x));
  for (const a of n.attribute ?? []) {
    for (const g of [a.g, ...(a.graphs ?? [])]) if (g) for (const x of outerReads(g)) reads.add(x);
  }
  return [...reads];
}

/** Stable topological order (ONNX asks for sorted graphs; not every exporter delivers one). */
function sorted(nodes: onnx.INodeProto[], reads: string[][]): number[] {
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => (n.output ?? []).forEach((o) => o && producer.set(o, i)));
  const order: number[] = [];
  const state = new Uint8Array(nodes.length);
  for (let root = 0; root < nodes.length; root++) {
    if (state[root]) continue;
    // Iterative depth-first walk: graphs with thousands of nodes would overflow recursion.
    const stack: [number, number][] = [[root, 0]];
    state[root] = 1;
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const [i, next] = top;
      if (next < reads[i].length) {
        top[1]++;
        const p = producer.get(reads[i][next]);
        if (p !== undefined && state[p] === 0) {
          state[p] = 1;
          stack.push([p, 0]);
        }
      } else {
        stack.pop();
        state[i] = 2;
        order.push(i);
      }
    }
  }
  return order;
}

/**
 * Cuts `graph` into one segment per attention site. `sites` are the probability tensors in
 * graph order; `graphOutputs` the outputs the last users of the model expect (logits, caches).
 */
export function cutSegments(graph: onnx.IGraphProto, sites: string[], graphOutputs: string[]): SegmentSpec[] {
  const original = graph.node ?? [];
  const originalReads = original.map(nodeReads);
  const order = sorted(original, originalReads);
  const nodes = order.map((i) => original[i]);
  const reads = order.map((i) => originalReads[i]);

  const weights = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  const constant = new Set(weights);
  const isConstNode = nodes.map((n, i) => {
    const c = reads[i].every((x) => constant.has(x)) && !(reads[i].length === 0 && (n.opType === 'RandomNormal' || n.opType === 'RandomUniform'));
    if (c) for (const o of n.output ?? []) if (o) constant.add(o);
    return c;
  });
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => (n.output ?? []).forEach((o) => o && producer.set(o, i)));

  const sitePos = sites.map((s) => {
    const p = producer.get(s);
    if (p === undefined || isConstNode[p]) throw new Error(`attention site ${s} has no producing activation node`);
    return p;
  });
  // Last reader of each activation (graph outputs are read after the last node).
  const lastRead = new Map<string, number>();
  reads.forEach((rs, i) => {
    if (isConstNode[i]) return;
    for (const x of rs) if (!constant.has(x)) lastRead.set(x, i);
  });
  const end = nodes.length;
  for (const o of graphOutputs) if (!constant.has(o)) lastRead.set(o, end);
  // Cost of cutting after position p in [s(k-1), s(k)): activations born in that interval and
  // still alive. Those born earlier (masks, positions, the stream entering layer k-1) cross
  // every cut of the interval alike, so they are left out: counting them would make the point
  // where the last layer's mask dies look cheaper than the residual stream.
  const delta = new Int32Array(end + 1);
  let interval = 0;
  const intervalOf = new Int32Array(end).fill(-1);
  for (let p = 0; p < end; p++) {
    while (interval < sites.length - 1 && p >= sitePos[interval + 1]) interval++;
    if (p >= sitePos[0] && interval < sites.length - 1) intervalOf[p] = interval;
  }
  nodes.forEach((n, p) => {
    const k = intervalOf[p];
    if (k < 0 || isConstNode[p]) return;
    for (const o of n.output ?? []) {
      const last = o ? lastRead.get(o) : undefined;
      if (last === undefined) continue;
      delta[p]++;
      delta[Math.min(last, sitePos[k + 1])]--;
    }
  });
  const cost = new Int32Array(end);
  let acc = 0;
  for (let p = 0; p < end; p++) cost[p] = acc += delta[p];

  const cuts: number[] = [];
  for (let k = 1; k < sites.length; k++) {
    // Ties go to the latest position: the stream after a block's MLP, not after its attention.
    let best = sitePos[k - 1];
    for (let p = sitePos[k - 1]; p < sitePos[k]; p++) if (cost[p] <= cost[best]) best = p;
    cuts.push(best);
  }
  cuts.push(end - 1);

  const segmentOf = new Int32Array(end);
  let k = 0;
  for (let p = 0; p < end; p++) {
    while (p > cuts[k]) k++;
    segmentOf[p] = k;
  }
  const producedIn = (v: string): number => {
    const p = producer.get(v);
    return p === undefined ? -1 : segmentOf[p];
  };
  const readLater = new Map<string, number>();
  reads.forEach((rs, i) => {
    if (isConstNode[i]) return;
    for (const x of rs) if (!constant.has(x)) readLater.set(x, Math.max(readLater.get(x) ?? -1, segmentOf[i]));
  });
  const outputsSet = new Set(graphOutputs);

  return sites.map((site, s) => {
    const own: number[] = [];
    for (let p = 0; p < end; p++) if (segmentOf[p] === s && !isConstNode[p]) own.push(p);
    // Copies of the constant subgraphs the segment's nodes read.
    const need = new Set<number>();
    const stack = own.flatMap((p) => reads[p]).filter((x) => constant.has(x) && !weights.has(x));
    const seen = new Set(stack);
    while (stack.length > 0) {
      const p = producer.get(stack.pop()!);
      if (p === undefined || need.has(p)) continue;
      need.add(p);
      for (const x of reads[p]) {
        if (weights.has(x) || seen.has(x)) continue;
        seen.add(x);
        stack.push(x);
      }
    }
    const members = [...own, ...need].sort((a, b) => a - b);
    const inputs = new Set<string>();
    const outputs = new Set<string>();
    const initializers = new Set<string>();
    for (const p of members) {
      for (const x of reads[p]) {
        if (weights.has(x)) initializers.add(x);
        else if (!constant.has(x) && producedIn(x) !== s) inputs.add(x);
      }
      if (isConstNode[p]) continue;
      for (const o of nodes[p].output ?? []) {
        if (o && ((readLater.get(o) ?? -1) > s || outputsSet.has(o))) outputs.add(o);
      }
    }
    return {
      index: s,
      nodes: members.map((p) => nodes[p]),
      inputs: [...inputs],
      outputs: [...outputs].filter((o) => o !== site),
      sites: [site],
      initializers: [...initializers],
    };
  });
}
