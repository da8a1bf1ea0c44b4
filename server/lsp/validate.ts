/** Checks on request parameters shared by the handlers: the client is trusted less than code. */
import type { ExecutionProviderSetting } from '../../protocol/runtime';
import { UserError } from '../../common/errors';

const PROVIDERS: readonly ExecutionProviderSetting[] = ['auto', 'cuda', 'dml', 'coreml', 'webgpu', 'cpu'];

export function validExecutionProvider(v: unknown): ExecutionProviderSetting | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !PROVIDERS.includes(v as ExecutionProviderSetting)) {
    throw new UserError(`execution provider "${String(v)}" is not one of ${PROVIDERS.join(', ')}; fix attentionInspector.executionProvider`);
  }
  return v as ExecutionProviderSetting;
}

export function isIndex(v: unknown, lo: number, hi: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
}
