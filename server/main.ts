/**
 * The Attention Inspector runtime: a language server over IPC (--node-ipc, as the extension
 * starts it) that opens models, runs captures and streams attention maps. Handlers live in
 * server/lsp/*; this file wires them to one connection.
 */
import './onnx/runtimeEnvironment';
import { createConnection, ProposedFeatures, TextDocuments, TextDocumentSyncKind } from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { registerConfigIntelligence } from './config/register';
import { registerCapture } from './lsp/captureHandler';
import { registerCatalog } from './lsp/catalogHandler';
import { registerCompare } from './lsp/compareHandler';
import { registerInternals } from './lsp/internalsHandler';
import { CaptureStore } from './lsp/captureStore';
import { sweepSpillFolders } from './lsp/spillFolders';
import { registerListModels } from './lsp/listModelsHandler';
import { registerKvReport } from './lsp/kvReportHandler';
import { registerOpenModel, registerTile } from './lsp/modelHandlers';
import { ModelRegistry } from './lsp/models';
import { RuntimeStatus } from './lsp/status';

const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);
const models = new ModelRegistry();
const store = new CaptureStore();
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
    serverInfo: { name: 'attention-inspector-runtime', version: '0.1.0' },
  };
});
connection.onInitialized(() => status.send('idle'));

registerOpenModel(connection, models, status);
registerCapture(connection, { models, store, status, layerPauseMs: () => layerPauseMs });
registerTile(connection, store);
registerCompare(connection, { models, status, layerPauseMs: () => layerPauseMs });
registerListModels(connection);
registerCatalog(connection);
registerKvReport(connection, { models });
registerInternals(connection, models);

// ---- config.json intelligence: hovers, diagnostics, CodeLens ----
registerConfigIntelligence(connection, documents);
// ---- end config.json intelligence ----

connection.onShutdown(async () => {
  await models.disposeAll();
});

documents.listen(connection);
connection.listen();
