/**
 * The `attentionInspector.*` settings, typed, with the defaults and minimums package.json
 * declares (test/unit/settings.test.ts holds the two together). No vscode import: the runtime
 * context passes `workspace.getConfiguration(SETTINGS_SECTION)` in.
 */
import type { ExecutionProviderSetting } from '../protocol/runtime';

export const SETTINGS_SECTION = 'attentionInspector';

export type EstimateDtypeSetting = 'config' | 'fp32' | 'fp16' | 'bf16';

export interface Settings {
  executionProvider: ExecutionProviderSetting;
  maxTokens: number;
  memoryBudgetMB: number;
  sendBudgetMB: number;
  estimateDtype: EstimateDtypeSetting;
}

export const SETTING_DEFAULTS: Readonly<Settings> = {
  executionProvider: 'auto',
  maxTokens: 4096,
  memoryBudgetMB: 512,
  sendBudgetMB: 32,
  estimateDtype: 'config',
};

/** package.json's `minimum`s: VS Code only warns about a smaller value in settings.json. */
export const SETTING_MINIMUMS: Readonly<Partial<Record<keyof Settings, number>>> = {
  maxTokens: 1,
  memoryBudgetMB: 16,
  sendBudgetMB: 1,
};

export const EXECUTION_PROVIDERS: readonly ExecutionProviderSetting[] = ['auto', 'cuda', 'dml', 'coreml', 'webgpu', 'cpu'];
export const ESTIMATE_DTYPES: readonly EstimateDtypeSetting[] = ['config', 'fp32', 'fp16', 'bf16'];

/** What settings are read from: vscode's WorkspaceConfiguration fits. */
export interface SettingsSource {
  get<T>(key: string): T | undefined;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T): T {
  return typeof value === 'string' && (allowed as readonly string[]).includes(value) ? (value as T) : fallback;
}

function atLeast(key: 'maxTokens' | 'memoryBudgetMB' | 'sendBudgetMB', value: unknown): number {
  const n = typeof value === 'number' && Number.isFinite(value) ? Math.floor(value) : SETTING_DEFAULTS[key];
  return Math.max(SETTING_MINIMUMS[key] ?? 1, n);
}

/** Every setting, each one its default when missing or of the wrong type, and never below its minimum. */
export function readSettings(source: SettingsSource): Settings {
  return {
    executionProvider: oneOf(source.get('executionProvider'), EXECUTION_PROVIDERS, SETTING_DEFAULTS.executionProvider),
    maxTokens: atLeast('maxTokens', source.get('maxTokens')),
    memoryBudgetMB: atLeast('memoryBudgetMB', source.get('memoryBudgetMB')),
    sendBudgetMB: atLeast('sendBudgetMB', source.get('sendBudgetMB')),
    estimateDtype: oneOf(source.get('estimateDtype'), ESTIMATE_DTYPES, SETTING_DEFAULTS.estimateDtype),
  };
}

/** The capture request's limits, in the units the runtime takes. */
export function captureLimits(s: Settings): { maxTokens: number; executionProvider: ExecutionProviderSetting; memoryBudgetBytes: number; sendBudgetBytes: number } {
  return { maxTokens: s.maxTokens, executionProvider: s.executionProvider, memoryBudgetBytes: s.memoryBudgetMB * 1024 * 1024, sendBudgetBytes: s.sendBudgetMB * 1024 * 1024 };
}
