/**
 * The Attention Inspector runtime: a language server over IPC (--node-ipc, as the extension
 * starts it) that opens models, runs captures and streams attention maps. Handlers live in
 * server/lsp/*; this file wires them to one connection.
 *
 * onnxruntime-node is not loaded at start: config.json hovers, estimates and the model list
 * need no model, and most workspaces that open a JSON file never open one. The requests that
 * need it load it on first use (server/lsp/deferredRuntime.ts).
 */
import './onnx/runtimeEnvironment';
import { createConnection, ProposedFeatures, TextDocuments, TextDocumentSyncKind } from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { registerConfigIntelligence } from './config/register';
import { registerCatalog } from './lsp/catalogHandler';
import { registerDeferredRuntime } from './lsp/deferredRuntime';
import { sweepSpillFolders } from './lsp/spillFolders';
import { registerListModels } from './lsp/listModelsHandler';
import { registerRuntimeInfo } from './lsp/runtimeInfoHandler';
import { RuntimeStatus } from './lsp/status';

const RUNTIME_VERSION = '0.1.0';

const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);
// Spill folders of runtimes that were killed (kill -9, a crash) hold GBs nobody will read.
sweepSpillFolders();
const status = new RuntimeStatus(connection);
let layerPauseMs = 0;

connection.onInitialize((params) => {
  const opts = (params.initializationOptions ?? {}) as { layerPauseMs?: unknown };
  if (typeof opts.layerPauseMs === 'number' && opts.layerPauseMs >= 0) layerPauseMs = Math.min(opts.layerPauseMs, 5000);
  return {
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      hoverProvider: true,
      codeLensProvider: { resolveProvider: false },
    },
    serverInfo: { name: 'attention-inspector-runtime', version: RUNTIME_VERSION },
  };
});
connection.onInitialized(() => status.send('idle'));

// Models, captures, tiles, comparisons, KV reports, internals: loaded with onnxruntime-node.
const runtime = registerDeferredRuntime(connection, { status, layerPauseMs: () => layerPauseMs });
registerListModels(connection);
registerCatalog(connection);
registerRuntimeInfo(connection, { version: RUNTIME_VERSION, runtime, status });

// ---- config.json intelligence: hovers, diagnostics, CodeLens ----
registerConfigIntelligence(connection, documents);
// ---- end config.json intelligence ----

connection.onShutdown(async () => {
  await runtime.loaded?.models.disposeAll();
});

documents.listen(connection);
connection.listen();
