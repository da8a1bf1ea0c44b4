/**
 * Which precision the memory figures use, the same in the config.json hover and the Efficiency
 * panel: the setting attentionInspector.estimateDtype, whose default 'config' means the config's
 * torch_dtype, and fp32 when it has none (transformers loads such a checkpoint in fp32).
 */
import type { Dtype } from './formulas';

export type DtypeSetting = 'config' | Dtype;

export function parseDtypeSetting(v: unknown): DtypeSetting {
  return v === 'fp32' || v === 'fp16' || v === 'bf16' ? v : 'config';
}

export function resolveDtype(setting: DtypeSetting, configDtype: Dtype | null | undefined): Dtype {
  return setting === 'config' ? (configDtype ?? 'fp32') : setting;
}
