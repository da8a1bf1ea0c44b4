/**
 * attention/kvReport: the serving view's request. Opens the model for policy-masked runs
 * (server/serving/maskedModel.ts: its own session, since the masks are extra graph inputs),
 * builds the report (servingReport.ts) and releases the session. Parameters are checked
 * before anything loads.
 */
import type { Connection } from 'vscode-languageserver/node';
import { KvReportRequest } from '../../protocol/serving';
import type { ServingReport } from '../../protocol/servingWebview';
import { UserError } from '../../common/errors';
import { DEFAULT_SINKS } from '../serving/evictionPolicies';
import { openMaskedModel } from '../serving/maskedModel';
import { buildServingReport } from '../serving/servingReport';
import { guarded } from './errors';
import type { ModelRegistry } from './models';
import { isIndex, validExecutionProvider } from './validate';

const MAX_BUDGETS = 16;
const MAX_BUDGET = 1 << 20;

function checkParams(p: KvReportRequest.Params): void {
  const m = KvReportRequest.method;
  if (!p || typeof p !== 'object') throw new UserError(`${m}: missing parameters`);
  if (p.budgets !== undefined && (!Array.isArray(p.budgets) || p.budgets.length === 0 || p.budgets.length > MAX_BUDGETS || p.budgets.some((b) => !isIndex(b, 1, MAX_BUDGET)))) {
    throw new UserError(`${m}: budgets must be 1 to ${MAX_BUDGETS} whole numbers from 1 to ${MAX_BUDGET}`);
  }
  if (p.sinks !== undefined && !isIndex(p.sinks, 0, MAX_BUDGET)) throw new UserError(`${m}: sinks must be a whole number ≥ 0`);
  if (p.headMapBudget !== undefined && !isIndex(p.headMapBudget, 1, MAX_BUDGET)) throw new UserError(`${m}: headMapBudget must be a whole number ≥ 1`);
  if (p.text !== undefined && typeof p.text !== 'string') throw new UserError(`${m}: text must be a string`);
  if (p.ids !== undefined && (!Array.isArray(p.ids) || p.ids.some((i) => !isIndex(i, 0, 2 ** 31)))) throw new UserError(`${m}: ids must be a list of non-negative integers`);
  if (p.text === undefined && p.ids === undefined) throw new UserError(`${m}: give a text or token ids`);
  if (p.maxTokens !== undefined && !isIndex(p.maxTokens, 1, 1e7)) throw new UserError(`${m}: maxTokens must be a positive integer`);
  validExecutionProvider(p.executionProvider);
}

/** The request's work without the LSP around it. */
export async function kvReport(path: string, p: KvReportRequest.Params): Promise<ServingReport> {
  checkParams(p);
  const budgets = [...new Set(p.budgets ?? [4, 8, 16, 32])].sort((a, b) => a - b);
  const model = await openMaskedModel(path, validExecutionProvider(p.executionProvider) ?? 'auto');
  try {
    const { ids, tokens } = await model.resolve({ text: p.text, ids: p.ids }, p.maxTokens);
    return await buildServingReport(model, ids, tokens, {
      budgets,
      sinks: p.sinks ?? DEFAULT_SINKS,
      headMapBudget: p.headMapBudget ?? budgets[Math.floor((budgets.length - 1) / 2)],
    });
  } finally {
    await model.dispose();
  }
}

export function registerKvReport(connection: Connection, ctx: { models: ModelRegistry }): void {
  const method = KvReportRequest.method;
  connection.onRequest(
    KvReportRequest.type,
    guarded(connection, method, async (p: KvReportRequest.Params) => {
      const path = p?.path ?? (p?.modelId !== undefined ? ctx.models.get(p.modelId).path : undefined);
      if (typeof path !== 'string') throw new UserError(`${method}: give a modelId from attention/openModel or a path`);
      return kvReport(path, p);
    }),
  );
}
