/** attention/runtimeInfo: versions, provider, open models and memory of this runtime process. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Connection } from 'vscode-languageserver/node';
import { RuntimeInfoRequest } from '../../protocol/runtime';
import type { DeferredRuntime } from './deferredRuntime';
import { guarded } from './errors';
import type { RuntimeStatus } from './status';

/**
 * The installed onnxruntime-node's version, read from its package.json: resolving the package
 * finds its files without loading the native library.
 */
function onnxruntimeVersion(): string | null {
  try {
    let dir = dirname(require.resolve('onnxruntime-node'));
    for (let i = 0; i < 4; i++, dir = dirname(dir)) {
      try {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
        if (pkg.name === 'onnxruntime-node' && typeof pkg.version === 'string') return pkg.version;
      } catch {
        // not this folder; look one up
      }
    }
  } catch {
    // not installed beside the runtime
  }
  return null;
}

export function registerRuntimeInfo(connection: Connection, ctx: { version: string; runtime: DeferredRuntime; status: RuntimeStatus }): void {
  connection.onRequest(RuntimeInfoRequest.type, guarded(connection, RuntimeInfoRequest.method, async (): Promise<RuntimeInfoRequest.Result> => {
    const models = ctx.runtime.loaded?.models.list() ?? [];
    return {
      runtimeVersion: ctx.version,
      nodeVersion: process.versions.node,
      platform: `${process.platform}-${process.arch}`,
      onnxruntimeVersion: onnxruntimeVersion(),
      onnxruntimeLoaded: ctx.runtime.loaded !== undefined,
      executionProvider: ctx.status.provider,
      models: models.map((m) => ({ modelId: m.info.modelId, name: m.info.name, path: m.path, layers: m.info.layers.length, heads: m.info.heads })),
      pid: process.pid,
      rssBytes: process.memoryUsage.rss(),
      uptimeSeconds: Math.round(process.uptime()),
      ...(process.platform === 'linux' ? { glibcTunables: process.env.GLIBC_TUNABLES ?? null } : {}),
    };
  }));
}
