/**
 * attention/internals, attention/internalsCorpus and attention/ablate: the head internals of a
 * model the runtime holds (by modelId), for the panel's query–key, neuron, value-weighted and
 * ablation views. The internals graph of the last model asked about is kept, so moving between
 * layers does not rebuild it.
 */
import type { CancellationToken, Connection } from 'vscode-languageserver/node';
import { encodeFloat32 } from '../../protocol/encoding';
import { AblationRequest, CorpusInternalsRequest, InternalsRequest, type LayerInternalsData } from '../../protocol/internals';
import { UserError } from '../../common/errors';
import { ablateHeads } from '../internals/ablation';
import { openInternalsSession, type LayerInternals } from '../internals/headInternals';
import { openInternalsGraph, type InternalsGraph } from '../internals/internalsGraph';
import { guarded } from './errors';
import type { ModelRegistry } from './models';
import { validExecutionProvider } from './validate';

/** A corpus bigger than this is a mistake or a hostile webview; embeddings past it are not drawable anyway. */
export const MAX_CORPUS_TEXTS = 2000;
const MAX_IDS = 1 << 16;

/** The wire form; `heads` limits q and k to those heads (in that order). */
export function toWire(x: LayerInternals, qk: boolean, heads?: number[]): LayerInternalsData {
  const per = x.n * x.dHead;
  const pick = (t: Float32Array) => {
    if (!heads) return t;
    const out = new Float32Array(heads.length * per);
    heads.forEach((h, i) => out.set(t.subarray(h * per, (h + 1) * per), i * per));
    return out;
  };
  return {
    layer: x.layer, heads: x.heads, n: x.n, dHead: x.dHead, scale: x.scale, causal: x.causal, ...(x.window ? { window: x.window } : {}),
    ...(qk ? { q: encodeFloat32(pick(x.q)), k: encodeFloat32(pick(x.k)), ...(heads ? { qkHeads: heads } : {}) } : {}),
    ...(x.valueNorms ? { valueNorms: encodeFloat32(x.valueNorms) } : {}),
    ...(x.mixing ? { mixing: encodeFloat32(x.mixing) } : {}),
    notes: x.notes,
  };
}

function checkIds(ids: unknown, method: string): number[] {
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_IDS || ids.some((i) => !Number.isInteger(i) || i < 0)) {
    throw new UserError(`${method}: ids must be a non-empty list of non-negative integers`);
  }
  return ids as number[];
}

export function registerInternals(connection: Connection, models: ModelRegistry): void {
  let cached: { path: string; graph: InternalsGraph } | undefined;
  const graphFor = async (modelId: string) => {
    const path = models.get(modelId).path;
    // Read again when the file changed: sessions read its weights from the file itself.
    if (cached?.path !== path || cached.graph.changed()) cached = { path, graph: await openInternalsGraph(path) };
    return cached.graph;
  };
  connection.onRequest(InternalsRequest.type, guarded(connection, InternalsRequest.method, async (p: InternalsRequest.Params) => {
    const ids = checkIds(p?.ids, InternalsRequest.method);
    if (!Array.isArray(p.layers) || p.layers.length === 0 || p.layers.some((l) => !Number.isInteger(l) || l < 0)) throw new UserError(`${InternalsRequest.method}: layers must be a non-empty list of layer indices`);
    const g = await graphFor(p.modelId);
    const s = await openInternalsSession(g, [...new Set(p.layers)], validExecutionProvider(p.executionProvider));
    try {
      return (await s.run(ids)).map((x) => toWire(x, p.qk === true));
    } finally {
      await s.release();
    }
  }));
  connection.onRequest(CorpusInternalsRequest.type, guarded(connection, CorpusInternalsRequest.method, async (p: CorpusInternalsRequest.Params) => {
    if (!Array.isArray(p?.texts) || p.texts.some((t) => typeof t !== 'string')) throw new UserError(`${CorpusInternalsRequest.method}: texts must be a list of strings`);
    const texts = p.texts.filter((t) => t.trim() !== '');
    if (texts.length === 0) throw new UserError('the corpus file has no text; put one text per line');
    if (texts.length > MAX_CORPUS_TEXTS) throw new UserError(`the corpus has ${texts.length} texts, more than ${MAX_CORPUS_TEXTS}; split it into smaller files`);
    if (p.heads !== undefined && (!Array.isArray(p.heads) || p.heads.some((h) => !Number.isInteger(h) || h < 0))) throw new UserError(`${CorpusInternalsRequest.method}: heads must be a list of head indices`);
    const g = await graphFor(p.modelId);
    const s = await openInternalsSession(g, [p.layer], validExecutionProvider(p.executionProvider), { norms: false });
    try {
      const out: CorpusInternalsRequest.Result['texts'] = [];
      for (const text of texts) {
        const { ids, tokens } = await g.resolve({ text }, p.maxTokens);
        const [x] = await s.run(ids);
        const heads = p.heads?.filter((h) => h < x.heads);
        out.push({ tokens, data: toWire(x, true, heads && heads.length > 0 ? heads : undefined) });
      }
      return { texts: out };
    } finally {
      await s.release();
    }
  }));
  connection.onRequest(AblationRequest.type, guarded(connection, AblationRequest.method, async (p: AblationRequest.Params, token: CancellationToken) => {
    const ids = checkIds(p?.ids, AblationRequest.method);
    const g = await graphFor(p.modelId);
    // One forward per head; each run yields to the event loop, so $/cancelRequest lands between heads.
    const r = await ablateHeads(g, ids, validExecutionProvider(p.executionProvider), { isCancelled: () => token.isCancellationRequested });
    return { metric: r.metric, position: r.position, layers: r.layers, target: r.target, notes: r.notes };
  }));
}
