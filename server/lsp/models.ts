/**
 * The models the runtime holds, by modelId. Opening the same path with the same provider
 * setting again reuses the loaded session instead of paying the load twice.
 */
import { resolve } from 'node:path';
import type { ExecutionProviderSetting } from '../../protocol/runtime';
import { openModel } from '../capture/openModel';
import type { OpenedModel } from '../capture/types';
import { UserError } from '../../common/errors';

export class ModelRegistry {
  private readonly byId = new Map<string, OpenedModel>();
  private readonly byKey = new Map<string, string>();

  async open(path: string, executionProvider: ExecutionProviderSetting | undefined, log: (line: string) => void): Promise<OpenedModel> {
    if (typeof path !== 'string' || path.trim() === '') throw new UserError('no model path given; pick an .onnx file or a checkpoint folder');
    const key = `${resolve(path)}\u0000${executionProvider ?? 'auto'}`;
    const known = this.byKey.get(key);
    const existing = known ? this.byId.get(known) : undefined;
    // A model whose weight files changed on disk is read again (its sessions read them in place).
    if (existing && !existing.changed?.()) return existing;
    const model = await openModel(path, { executionProvider, log });
    const previous = this.byId.get(model.info.modelId);
    // Same model under another provider setting: the newer session replaces the older one.
    if (previous && previous !== model) await previous.dispose();
    this.byId.set(model.info.modelId, model);
    this.byKey.set(key, model.info.modelId);
    return model;
  }

  get(modelId: string): OpenedModel {
    const model = typeof modelId === 'string' ? this.byId.get(modelId) : undefined;
    if (!model) throw new UserError(`model ${String(modelId)} is not open in the runtime (it may have restarted); open the model again`);
    return model;
  }

  /** The models open now, in the order they were opened. */
  list(): OpenedModel[] {
    return [...this.byId.values()];
  }

  async disposeAll(): Promise<void> {
    const models = [...this.byId.values()];
    this.byId.clear();
    this.byKey.clear();
    await Promise.allSettled(models.map((m) => m.dispose()));
  }
}
