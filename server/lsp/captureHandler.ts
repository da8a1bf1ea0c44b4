/**
 * attention/capture: runs one input through an opened model and streams its layers. Each
 * layer goes out as an attention/layer notification the moment the engine hands it over, so
 * the notifications all precede the response; the request's cancellation stops the run between
 * layers and the response then says cancelled. Above the send budget (default: the memory
 * budget) the grid gets pooled maps while the full ones stay here for attention/tile (spilled to
 * temp files past the memory budget).
 */
import { randomBytes } from 'node:crypto';
import type { CancellationToken, Connection } from 'vscode-languageserver/node';
import { encodeFloat32 } from '../../protocol/encoding';
import { CaptureRequest, CaptureStartedNotification, LayerNotification, type CaptureSummary } from '../../protocol/runtime';
import type { LayerMap } from '../capture/types';
import type { LayerReductions } from '../capture/layerReductions';
import type { CaptureStore } from './captureStore';
import { exactParams, panelPlan, reducedNotification, type PanelPlan } from './reducedLayers';
import { guarded } from './errors';
import type { ModelRegistry } from './models';
import { choosePool, poolMaps } from './pooling';
import type { RuntimeStatus } from './status';
import { CancelledError } from '../../common/cancellation';
import { holdForTest } from './testHold';
import { validExecutionProvider } from './validate';
import { UserError } from '../../common/errors';

export interface CaptureContext {
  models: ModelRegistry;
  store: CaptureStore;
  status: RuntimeStatus;
  /** Pause after each layer (initializationOptions.layerPauseMs): slows streaming for demos
   *  and lets tests cancel between layers of a tiny model deterministically. 0 in use. */
  layerPauseMs: () => number;
}

let counter = 0;
const CAPTURE_ID = /^[A-Za-z0-9_-]{1,64}$/;

function checkParams(p: CaptureRequest.Params): void {
  if (!p || typeof p !== 'object') throw new UserError('attention/capture: missing parameters');
  if (p.text !== undefined && typeof p.text !== 'string') throw new UserError('attention/capture: text must be a string');
  if (p.ids !== undefined && (!Array.isArray(p.ids) || p.ids.some((i) => !Number.isInteger(i) || i < 0))) {
    throw new UserError('attention/capture: ids must be a list of non-negative integers');
  }
  if (p.targetText !== undefined && typeof p.targetText !== 'string') throw new UserError('attention/capture: targetText must be a string');
  if (p.targetIds !== undefined && (!Array.isArray(p.targetIds) || p.targetIds.some((i) => !Number.isInteger(i) || i < 0))) {
    throw new UserError('attention/capture: targetIds must be a list of non-negative integers');
  }
  if (p.maxTokens !== undefined && !(Number.isInteger(p.maxTokens) && p.maxTokens > 0)) {
    throw new UserError(`attention/capture: maxTokens ${p.maxTokens} is not a positive integer; fix attentionInspector.maxTokens`);
  }
  if (p.memoryBudgetBytes !== undefined && !(typeof p.memoryBudgetBytes === 'number' && p.memoryBudgetBytes > 0)) {
    throw new UserError(`attention/capture: memoryBudgetBytes ${p.memoryBudgetBytes} is not a positive number; fix attentionInspector.memoryBudgetMB`);
  }
  if (p.sendBudgetBytes !== undefined && !(typeof p.sendBudgetBytes === 'number' && p.sendBudgetBytes > 0)) {
    throw new UserError(`attention/capture: sendBudgetBytes ${p.sendBudgetBytes} is not a positive number; fix attentionInspector.sendBudgetMB`);
  }
  if (p.means !== undefined && typeof p.means !== 'boolean') throw new UserError('attention/capture: means must be true or false');
  if (p.spillMaps !== undefined && typeof p.spillMaps !== 'boolean') throw new UserError('attention/capture: spillMaps must be true or false');
  if (p.captureId !== undefined && (typeof p.captureId !== 'string' || !CAPTURE_ID.test(p.captureId))) {
    throw new UserError('attention/capture: captureId must be 1 to 64 letters, digits, _ or -');
  }
  validExecutionProvider(p.executionProvider);
}

/** What one layer may take of what is sent to the client for an inspection (undefined: no bound). */
export function layerShare(params: Pick<CaptureRequest.Params, 'memoryBudgetBytes' | 'sendBudgetBytes'>, layerCount: number): number | undefined {
  const budget = params.sendBudgetBytes ?? params.memoryBudgetBytes;
  return budget !== undefined ? budget / Math.max(1, layerCount) : undefined;
}

/** The attention/layer notification for one layer at pool factor `pool` (exported for bench/views). */
export function layerParams(captureId: string, map: LayerMap, pool: number, means = false): LayerNotification.Params {
  const base = { captureId, layer: map.index, kind: map.kind, heads: map.heads, queries: map.queries, keys: map.keys };
  if (pool <= 1) return { ...base, pool: 1, data: encodeFloat32(map.data) };
  const pooled = poolMaps(map.data, map.heads, map.queries, map.keys, pool);
  // The panel draws block maxima only; means go out when a client asks for them.
  return { ...base, pool, data: encodeFloat32(pooled.max), ...(means ? { meanData: encodeFloat32(pooled.mean) } : {}) };
}

/** One layer's notification as this capture's parameters ask: pooled to the send budget's share. */
export function layerNotification(captureId: string, map: LayerMap, params: PoolParams, layerCount: number): LayerNotification.Params {
  return layerParams(captureId, map, poolFor(params, map.heads, map.queries, map.keys, layerCount), params.means === true);
}

type PoolParams = Pick<CaptureRequest.Params, 'memoryBudgetBytes' | 'sendBudgetBytes' | 'means'>;

/** The pool factor of a [heads, queries, keys] layer under this capture's parameters. */
export function poolFor(params: PoolParams, heads: number, queries: number, keys: number, layerCount: number): number {
  return choosePool(heads, queries, keys, layerShare(params, layerCount), params.means === true);
}

/** Lets queued messages ($/cancelRequest above all) in before the next layer. */
function yieldToMessages(ms: number): Promise<void> {
  return new Promise((resolve) => (ms > 0 ? setTimeout(resolve, ms) : setImmediate(resolve)));
}

export function registerCapture(connection: Connection, ctx: CaptureContext): void {
  const log = (line: string) => connection.console.info(line);
  connection.onRequest(
    CaptureRequest.type,
    guarded(connection, CaptureRequest.method, async (params: CaptureRequest.Params, token: CancellationToken): Promise<CaptureSummary> => {
      checkParams(params);
      const model = ctx.models.get(params.modelId);
      const captureId = params.captureId ?? `c${++counter}-${randomBytes(4).toString('hex')}`;
      const layerCount = Math.max(1, model.info.layers.length);
      const progress = connection.window.attachWorkDoneProgress(params.workDoneToken);
      progress.begin(`Attention: ${model.info.name}`, 0, 'tokenizing…', true);
      ctx.status.send('running', `capturing ${model.info.name}`);
      ctx.store.begin(captureId, model.info.modelId, params.memoryBudgetBytes);
      let sent = 0;
      const warnings: string[] = [];
      const afterLayer = async (keys: number) => {
        if (sent === 0) await holdForTest(keys, token, log);
        sent++;
        progress.report(Math.round((100 * sent) / layerCount), `layer ${sent} of ${layerCount}`);
        await yieldToMessages(ctx.layerPauseMs());
      };
      let plan: PanelPlan = { maps: 'full', poolFactor: () => 1 };
      const reductions = new Map<number, LayerReductions>();
      try {
        const result = await model.capture(
          { text: params.text, ids: params.ids, targetText: params.targetText, targetIds: params.targetIds },
          {
            maxTokens: params.maxTokens,
            executionProvider: params.executionProvider,
            memoryBudgetBytes: params.memoryBudgetBytes,
            isCancelled: () => token.isCancellationRequested,
            log,
            onWarning: (line) => {
              warnings.push(line);
              connection.console.warn(`capture ${captureId}: ${line}`);
            },
            // Read by the engine after onTokens, once the length (and so the pool) is known.
            get maps() {
              return plan.maps;
            },
            poolFactor: (l, h, q, k) => plan.poolFactor(l, h, q, k),
            onTokens: (tokens, ids, target) => {
              plan = panelPlan(params, model, Math.max(ids.length, target?.ids.length ?? 0));
              void connection.sendNotification(CaptureStartedNotification.type, {
                captureId, modelId: model.info.modelId, tokens, ids, layers: model.info.layers,
                ...(target ? { targetTokens: target.tokens, targetIds: target.ids } : {}),
                ...(warnings.length ? { warnings } : {}),
              });
            },
            onReductions: async (r) => {
              if (plan.maps === 'full') return void reductions.set(r.index, r);
              // No full map reached the runtime: a tile of this layer re-runs its segment.
              ctx.store.addRecomputable(captureId, r.index);
              await connection.sendNotification(LayerNotification.type, reducedNotification(captureId, r));
              await afterLayer(r.keys);
            },
            onLayer: async (map) => {
              // Engines that keep segment boundaries recompute a layer for its tiles instead of spilling it.
              ctx.store.add(captureId, map, model.recomputes === true && params.spillMaps !== true);
              const r = reductions.get(map.index);
              reductions.delete(map.index);
              const sent = layerNotification(captureId, map, params, layerCount);
              await connection.sendNotification(LayerNotification.type, { ...sent, ...(r ? exactParams(r, sent.pool) : {}) });
              await afterLayer(map.keys);
            },
          },
        );
        ctx.store.setRecompute(captureId, result.recompute, result.recomputeRows);
        const cancelled = result.cancelled || token.isCancellationRequested;
        // A cancelled run is not kept: its maps (and spill files) go now, not when three later
        // captures push it out. The panel keeps what it was sent; a tile of it asks for a rerun.
        if (cancelled) ctx.store.drop(captureId);
        ctx.status.send('idle', cancelled ? 'capture cancelled' : undefined, result.executionProvider);
        log(`capture ${captureId}: ${result.layers.length} layers, ${result.tokens.length} tokens on ${result.executionProvider} in ${Math.round(result.timings.totalMs)} ms${cancelled ? ' (cancelled)' : ''}`);
        const { recompute: _recompute, recomputeRows: _recomputeRows, ...summary } = result;
        return { captureId, modelId: model.info.modelId, ...summary, cancelled };
      } catch (e) {
        ctx.store.drop(captureId);
        if (e instanceof CancelledError) ctx.status.send('idle', 'capture cancelled');
        else ctx.status.send('error', e instanceof Error ? e.message.split('\n')[0] : String(e));
        throw e;
      } finally {
        progress.done();
      }
    }),
  );
}
