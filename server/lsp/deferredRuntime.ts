/**
 * Serves the onnxruntime-backed requests without loading onnxruntime-node at start: one
 * catch-all handler takes every `attention/...` request that has no handler of its own, loads
 * server/lsp/modelRuntime.ts on the first one (the native library comes with it), and hands the
 * request to the handler that module registered. Registering a new model request there is
 * enough; no method list is kept here.
 */
import { ErrorCodes, ResponseError, type CancellationToken, type Connection } from 'vscode-languageserver/node';
import type { ModelRuntime, ModelRuntimeOptions } from './modelRuntime';

type Handler = (params: unknown, token: CancellationToken) => unknown;

export interface DeferredRuntime {
  /** The model runtime when a request has loaded it; undefined while only light requests came. */
  readonly loaded: ModelRuntime | undefined;
}

/**
 * The connection as the model handlers see it: their onRequest calls are kept in `handlers`
 * (the real connection already has the catch-all), everything else is the real connection.
 */
function recordingConnection(connection: Connection, handlers: Map<string, Handler>): Connection {
  return new Proxy(connection, {
    get(target, prop, receiver) {
      if (prop === 'onRequest') {
        return (method: unknown, handler: Handler) => {
          // By name or by a protocol/ request type (whose `method` is the name).
          const name = typeof method === 'string' ? method : (method as { method?: unknown } | null)?.method;
          if (typeof name !== 'string') throw new Error('model runtime handlers register by method name or request type');
          handlers.set(name, handler);
          return { dispose: () => handlers.delete(name) };
        };
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

export function registerDeferredRuntime(connection: Connection, options: ModelRuntimeOptions): DeferredRuntime {
  const handlers = new Map<string, Handler>();
  let loading: Promise<ModelRuntime> | undefined;
  let loaded: ModelRuntime | undefined;
  const load = () =>
    (loading ??= import('./modelRuntime').then((m) => {
      loaded = m.registerModelRuntime(recordingConnection(connection, handlers), options);
      connection.console.info('model runtime loaded (onnxruntime-node)');
      return loaded;
    }));
  connection.onRequest(async (method: string, params: unknown, token: CancellationToken) => {
    // Other unknown requests (a newer client's, a typo) must not load the native library.
    if (!method.startsWith('attention/')) return new ResponseError(ErrorCodes.MethodNotFound, `the Attention runtime has no request ${method}`);
    await load();
    const handler = handlers.get(method);
    if (!handler) return new ResponseError(ErrorCodes.MethodNotFound, `the Attention runtime has no request ${method}`);
    return handler(params, token);
  });
  return {
    get loaded() {
      return loaded;
    },
  };
}
