/**
 * The serving channel: KV-cache eviction policies simulated on a model (server/serving/*),
 * asked for by the serving view's host. One namespace per message, as in protocol/runtime.ts;
 * the view's own messages are in protocol/servingWebview.ts.
 */
import { RequestType } from 'vscode-languageserver-protocol';
import type { ExecutionProviderSetting } from './runtime';
import type { ServingReport } from './servingWebview';

/**
 * Client -> runtime: every policy swept over budgets on one text, with the head map's kept
 * keys and the head types. The response is the report the serving view draws.
 */
export namespace KvReportRequest {
  export const method = 'attention/kvReport';
  export interface Params {
    /** A modelId from attention/openModel, or a path (.onnx, ONNX folder, Hugging Face folder). */
    modelId?: string;
    path?: string;
    text?: string;
    ids?: number[];
    /** Budgets B in tokens per head (default 4, 8, 16, 32). */
    budgets?: number[];
    /** StreamingLLM's sinks (default 4; at most B − 1 at each budget). */
    sinks?: number;
    /** Budget of the head map's kept keys (default the middle budget). */
    headMapBudget?: number;
    maxTokens?: number;
    executionProvider?: ExecutionProviderSetting;
  }
  export type Result = ServingReport;
  export const type = new RequestType<Params, Result, void>(method);
}
