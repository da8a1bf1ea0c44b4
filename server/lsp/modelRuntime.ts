/**
 * The requests that need onnxruntime-node: opening models, captures, tiles, mechanism
 * comparisons, KV-cache reports and head internals. Loaded by server/lsp/deferredRuntime.ts on
 * the first such request, so a runtime that only serves config.json hovers, estimates and the
 * model list never loads the native library.
 */
import type { Connection } from 'vscode-languageserver/node';
import { registerCapture } from './captureHandler';
import { CaptureStore } from './captureStore';
import { registerMechanisms } from './mechanismsHandler';
import { registerInternals } from './internalsHandler';
import { registerKvReport } from './kvReportHandler';
import { registerOpenModel, registerTile } from './modelHandlers';
import { ModelRegistry } from './models';
import type { RuntimeStatus } from './status';

export interface ModelRuntimeOptions {
  status: RuntimeStatus;
  layerPauseMs: () => number;
}

export interface ModelRuntime {
  models: ModelRegistry;
}

export function registerModelRuntime(connection: Connection, options: ModelRuntimeOptions): ModelRuntime {
  const models = new ModelRegistry();
  const store = new CaptureStore();
  const { status, layerPauseMs } = options;
  registerOpenModel(connection, models, status);
  registerCapture(connection, { models, store, status, layerPauseMs });
  registerTile(connection, store);
  registerMechanisms(connection, { models, status, layerPauseMs });
  registerKvReport(connection, { models });
  registerInternals(connection, models);
  return { models };
}
