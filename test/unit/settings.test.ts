/** The typed settings reader (extension/settings.ts) against package.json's configuration. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ESTIMATE_DTYPES, EXECUTION_PROVIDERS, readSettings, SETTING_DEFAULTS, SETTING_MINIMUMS, SETTINGS_SECTION, captureLimits, type SettingsSource } from '../../extension/settings';

interface Declared {
  type: string;
  default: unknown;
  minimum?: number;
  enum?: string[];
}
const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { contributes: { configuration: { properties: Record<string, Declared> } } };
const declared = new Map(Object.entries(pkg.contributes.configuration.properties).map(([k, v]) => [k.slice(SETTINGS_SECTION.length + 1), v]));

const source = (values: Record<string, unknown>): SettingsSource => ({ get: <T>(key: string) => values[key] as T | undefined });

describe('settings reader', () => {
  it('reads every setting package.json declares, and only those', () => {
    for (const k of Object.keys(pkg.contributes.configuration.properties)) assert.ok(k.startsWith(`${SETTINGS_SECTION}.`), k);
    assert.deepEqual(Object.keys(SETTING_DEFAULTS).sort(), [...declared.keys()].sort());
  });

  it("falls back to package.json's defaults when nothing is set", () => {
    const read = readSettings(source({}));
    for (const [key, d] of declared) assert.deepEqual(read[key as keyof typeof read], d.default, key);
  });

  it("has package.json's minimums and enums", () => {
    for (const [key, d] of declared) assert.equal(SETTING_MINIMUMS[key as keyof typeof SETTING_MINIMUMS], d.minimum, key);
    assert.deepEqual([...EXECUTION_PROVIDERS], declared.get('executionProvider')!.enum);
    assert.deepEqual([...ESTIMATE_DTYPES], declared.get('estimateDtype')!.enum);
  });

  it('keeps set values, clamps them to the minimums and ignores values of the wrong type', () => {
    assert.deepEqual(readSettings(source({ executionProvider: 'cuda', maxTokens: 100.7, memoryBudgetMB: 1024, sendBudgetMB: 8, estimateDtype: 'bf16' })), {
      executionProvider: 'cuda', maxTokens: 100, memoryBudgetMB: 1024, sendBudgetMB: 8, estimateDtype: 'bf16',
    });
    assert.deepEqual(readSettings(source({ maxTokens: 0, memoryBudgetMB: 2, sendBudgetMB: -5 })), { ...SETTING_DEFAULTS, maxTokens: 1, memoryBudgetMB: 16, sendBudgetMB: 1 });
    assert.deepEqual(readSettings(source({ executionProvider: 'tpu', maxTokens: '9', memoryBudgetMB: Number.NaN, estimateDtype: 'fp8' })), { ...SETTING_DEFAULTS });
  });

  it('turns the budgets into the bytes a capture request carries', () => {
    const limits = captureLimits(readSettings(source({ memoryBudgetMB: 16, sendBudgetMB: 3 })));
    assert.equal(limits.memoryBudgetBytes, 16 * 1048576);
    assert.equal(limits.sendBudgetBytes, 3 * 1048576);
    assert.equal(limits.maxTokens, 4096);
    assert.equal(limits.executionProvider, 'auto');
  });
});
