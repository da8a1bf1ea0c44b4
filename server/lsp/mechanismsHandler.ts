/**
 * attention/compareVariants: the Compare panel's request. Captures Q, K, V of one layer
 * (qkvCapture), runs the variants on them through mechanismsRun.compareVariants (the same code as
 * the CLI's compare), then times each variant again at every requested length for the scaling
 * plots. Progress is reported per variant run; cancellation stops between variants.
 */
import { basename } from 'node:path';
import type { CancellationToken, Connection } from 'vscode-languageserver/node';
import { CompareVariantsRequest, type CompareMap, type CompareScalingPoint, type CompareVariantRow } from '../../protocol/mechanisms';
import { encodeFloat32 } from '../../protocol/encoding';
import { UserError } from '../../common/errors';
import { compareVariants, extendInputs, pickHead, type VariantResult } from '../variants/mechanismsRun';
import { openQkvSource, type QkvSource } from '../variants/qkvCapture';
import { checkRunsFit } from '../variants/memoryNeed';
import { getVariant } from '../variants/registry';
import type { VariantInputs } from '../variants/types';
import { guarded } from './errors';
import type { ModelRegistry } from './models';
import { poolMaps } from './pooling';
import type { RuntimeStatus } from './status';
import { isIndex, validExecutionProvider } from './validate';

export interface CompareContext {
  models: ModelRegistry;
  status: RuntimeStatus;
  /** Pause after each variant (initializationOptions.layerPauseMs), as between capture layers. */
  layerPauseMs: () => number;
}

/** Maps above this many rows or columns are pooled (block maxima) so the response stays small. */
export const MAX_MAP_SIDE = 256;
const MAX_SEQ_LENGTH = 16384;
const SEED = 1234;

function checkParams(p: CompareVariantsRequest.Params): void {
  const m = CompareVariantsRequest.method;
  if (!p || typeof p !== 'object') throw new UserError(`${m}: missing parameters`);
  if (!isIndex(p.layer, 0, 1e6)) throw new UserError(`${m}: layer must be a non-negative integer (attention layers count from 0)`);
  if (p.head !== undefined && !isIndex(p.head, 0, 1e6)) throw new UserError(`${m}: head must be a non-negative integer`);
  if (!Array.isArray(p.variants) || p.variants.length === 0 || p.variants.some((v) => typeof v !== 'string')) {
    throw new UserError(`${m}: variants must be a non-empty list of variant ids`);
  }
  p.variants.forEach(getVariant);
  if (p.seqLengths !== undefined && (!Array.isArray(p.seqLengths) || p.seqLengths.some((n) => !isIndex(n, 1, MAX_SEQ_LENGTH)))) {
    throw new UserError(`${m}: seqLengths must be integers from 1 to ${MAX_SEQ_LENGTH}`);
  }
  if (p.repeats !== undefined && !isIndex(p.repeats, 1, 50)) throw new UserError(`${m}: repeats must be an integer from 1 to 50`);
  if (p.text !== undefined && typeof p.text !== 'string') throw new UserError(`${m}: text must be a string`);
  if (p.ids !== undefined && (!Array.isArray(p.ids) || p.ids.some((i) => !isIndex(i, 0, 2 ** 31)))) {
    throw new UserError(`${m}: ids must be a list of non-negative integers`);
  }
  if (p.maxTokens !== undefined && !isIndex(p.maxTokens, 1, 1e7)) throw new UserError(`${m}: maxTokens must be a positive integer`);
  validExecutionProvider(p.executionProvider);
}

function row(r: VariantResult): CompareVariantRow {
  const { id, paper, relL2, cosine, js, massKept, latencyMs, peakBytes, flops, bytes, notes, mapMeaning, error } = r;
  return { id, paper, relL2, cosine, js, massKept, latencyMs, peakBytes, flops, bytes, notes, ...(mapMeaning ? { mapMeaning } : {}), ...(error ? { error } : {}) };
}

/** The selected head of a [heads, n, m] map, pooled to at most MAX_MAP_SIDE a side. */
export function headMap(id: string, map: Float32Array, dims: number[], head: number): CompareMap | undefined {
  if (dims.length !== 3 || head >= dims[0]) return undefined;
  const [, rows, cols] = dims;
  const one = pickHead(map, dims[0], head);
  const pool = Math.max(1, Math.ceil(Math.max(rows, cols) / MAX_MAP_SIDE));
  if (pool === 1) return { id, rows, cols, pool, data: encodeFloat32(one) };
  const pooled = poolMaps(one, 1, rows, cols, pool);
  return { id, rows: pooled.rows, cols: pooled.cols, pool, data: encodeFloat32(pooled.max) };
}

/** Yields so queued messages ($/cancelRequest above all) are handled before the next variant. */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => (ms > 0 ? setTimeout(resolve, ms) : setImmediate(resolve)));
}

/** Q/K/V at length n: the model rerun on the ids repeated to n, else the text's rows tiled. */
async function inputsAt(source: QkvSource, ids: number[], x: VariantInputs, n: number): Promise<{ x: VariantInputs; how: string }> {
  try {
    const c = await source.capture(Array.from({ length: n }, (_, i) => ids[i % ids.length]));
    return { x: { ...c.inputs, seed: x.seed }, how: `n = ${n}: the model rerun on the ids repeated to this length` };
  } catch (e) {
    return { x: extendInputs(x, n, 'repeat'), how: `n = ${n}: the text's Q/K/V rows tiled (rerun failed: ${(e as Error).message.split('\n')[0]})` };
  }
}

export interface CompareHooks {
  isCancelled?: () => boolean;
  /** After each variant run; n is set for the scaling runs. */
  onResult?: (r: VariantResult, n?: number) => Promise<void> | void;
}

/** The request's work on a model at `path`, without the LSP around it (the panel tests call it in process). */
export async function runComparison(path: string, modelName: string, params: CompareVariantsRequest.Params, hooks: CompareHooks = {}): Promise<CompareVariantsRequest.Result> {
  checkParams(params);
  const ep = validExecutionProvider(params.executionProvider) ?? 'auto';
  const ids = params.variants.includes('exact') ? [...params.variants] : ['exact', ...params.variants];
  const repeats = params.repeats ?? 3;
  const isCancelled = () => hooks.isCancelled?.() ?? false;
  const source = await openQkvSource(path, params.layer, ep);
  try {
    const { ids: tokenIds, tokens } = await source.resolve({ text: params.text, ids: params.ids }, params.maxTokens, isCancelled);
    const captured = await source.capture(tokenIds);
    const x: VariantInputs = { ...captured.inputs, seed: SEED };
    const head = params.head ?? 0;
    if (head >= x.heads) throw new UserError(`${CompareVariantsRequest.method}: head ${head} is out of range (layer ${params.layer} has ${x.heads} heads)`);
    // Every length checked against free memory before the first variant runs.
    checkRunsFit([x.n], ids, () => ({ heads: x.heads, d: x.d, maps: true }), {}, { label: (n) => `the text's ${n} tokens`, fix: (k) => `use a shorter text (at most ${k} tokens)` });
    checkRunsFit(params.seqLengths ?? [], ids, () => ({ heads: x.heads, d: x.d, maps: false, rerun: true }), {}, { label: (n) => `length ${n}`, fix: (k) => `use lengths up to ${k}` });
    const maps: CompareMap[] = [];
    const main = await compareVariants(ids, x, {
      executionProvider: ep, repeats, isCancelled, onResult: (r) => hooks.onResult?.(r),
      onMap: (id, map, dims) => {
        const m = headMap(id, map, dims, head);
        if (m) maps.push(m);
      },
    });
    let cancelled = !!main.cancelled;
    const notes = [...captured.notes];
    const scaling: CompareScalingPoint[] = [];
    for (const n of params.seqLengths ?? []) {
      if (cancelled || isCancelled()) break;
      const at = await inputsAt(source, tokenIds, x, n);
      notes.push(at.how);
      const r = await compareVariants(ids, at.x, { executionProvider: ep, repeats, maps: false, isCancelled, onResult: (res) => hooks.onResult?.(res, n) });
      for (const p of r.results) {
        scaling.push({ id: p.id, n, latencyMs: p.latencyMs, peakBytes: p.peakBytes, estFlops: p.flops, estBytes: p.bytes, ...(p.error ? { error: p.error } : {}) });
      }
      cancelled ||= !!r.cancelled;
    }
    return {
      modelName, layer: params.layer, head, heads: x.heads, n: x.n, m: x.m, d: x.d, tokens, causal: x.causal,
      executionProvider: source.provider, variants: main.results.map(row), maps, scaling, notes, cancelled: cancelled || isCancelled(),
    };
  } finally {
    await source.dispose();
  }
}

export function registerMechanisms(connection: Connection, ctx: CompareContext): void {
  const method = CompareVariantsRequest.method;
  connection.onRequest(
    CompareVariantsRequest.type,
    guarded(connection, method, async (params: CompareVariantsRequest.Params, token: CancellationToken): Promise<CompareVariantsRequest.Result> => {
      checkParams(params);
      if (typeof params.modelId !== 'string' && typeof params.path !== 'string') throw new UserError(`${method}: give modelId (open the model first) or path`);
      const opened = typeof params.modelId === 'string' ? ctx.models.get(params.modelId) : undefined;
      const path = opened?.path ?? (params.path as string);
      const modelName = opened?.info.name ?? basename(path);
      const variants = params.variants.includes('exact') ? params.variants.length : params.variants.length + 1;
      const total = variants * (1 + (params.seqLengths?.length ?? 0));
      let done = 0;
      const progress = connection.window.attachWorkDoneProgress(params.workDoneToken);
      progress.begin(`Attention: comparing variants on ${modelName}`, 0, 'capturing Q, K, V…', true);
      ctx.status.send('running', `comparing attention variants on ${modelName}`);
      try {
        const result = await runComparison(path, modelName, params, {
          isCancelled: () => token.isCancellationRequested,
          onResult: async (r, n) => {
            done++;
            progress.report(Math.round((100 * done) / total), `${r.id}${n ? ` at n = ${n}` : ''} (${done} of ${total})`);
            await pause(ctx.layerPauseMs());
          },
        });
        ctx.status.send('idle', result.cancelled ? 'comparison cancelled' : undefined, result.executionProvider);
        return result;
      } catch (e) {
        ctx.status.send('error', e instanceof Error ? e.message.split('\n')[0] : String(e));
        throw e;
      } finally {
        progress.done();
      }
    }),
  );
}
