/**
 * Choosing the onnxruntime execution provider. `auto` tries the GPU providers that this
 * platform's onnxruntime-node build ships, in order of preference, and falls back to CPU;
 * every provider skipped gets a one-line note (shown in the log and the capture summary).
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import '../onnx/runtimeEnvironment';
import type { ExecutionProviderSetting } from '../../protocol/runtime';
import { UserError, firstLine } from '../../common/errors';

export interface ProviderSession {
  session: ort.InferenceSession;
  provider: string;
  notes: string[];
}

const GPU_PREFERENCE: Record<string, string[]> = {
  linux: ['cuda', 'webgpu'],
  win32: ['cuda', 'dml', 'webgpu'],
  darwin: ['coreml', 'webgpu'],
};

function backends(): Map<string, boolean> {
  const list = (ort as unknown as { listSupportedBackends?: () => { name: string; bundled: boolean }[] })
    .listSupportedBackends?.() ?? [{ name: 'cpu', bundled: true }];
  return new Map(list.map((b) => [b.name, b.bundled]));
}

/** Dawn needs the Vulkan loader on Linux; without it webgpu cannot start, so skip it cheaply. */
function vulkanLoaderPresent(): boolean {
  const dirs = [
    ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter((d) => d),
    '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib', '/lib/x86_64-linux-gnu',
  ];
  return dirs.some((d) => existsSync(join(d, 'libvulkan.so.1')));
}

/**
 * Whether this Linux machine has a GPU device node: a DRM render node (Intel, AMD, nouveau,
 * virtual GPUs), NVIDIA's driver nodes, or WSL2's paravirtual GPU. Why `auto` asks: a Vulkan
 * driver with no GPU behind it (Mesa's lavapipe, installed with the desktop's Mesa packages)
 * runs WebGPU on the CPU: 512 tokens of the bench model took 11 s for the plain forward and 24 s
 * for a capture there, against 0.26 and 0.4 s on the CPU provider (docs/device-checks.md).
 * `webgpu` chosen by name still runs there.
 */
export function gpuDevicePresent(dev = '/dev'): boolean {
  const names = (dir: string): string[] => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  };
  return names(join(dev, 'dri')).some((n) => n.startsWith('renderD')) || names(dev).some((n) => /^nvidia\d+$/.test(n) || n === 'dxg');
}

/**
 * Unbundled providers (CUDA on Linux/Windows) are added to onnxruntime-node's binary folder by
 * its installer (`--onnxruntime-node-install=cuda12`); listSupportedBackends() still reports
 * them as not bundled, so look for the provider library itself.
 */
function providerLibraryInstalled(name: string): boolean {
  try {
    const pkg = dirname(require.resolve('onnxruntime-node/package.json'));
    const dir = join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
    const file = process.platform === 'win32' ? `onnxruntime_providers_${name}.dll` : `libonnxruntime_providers_${name}.so`;
    return existsSync(join(dir, file));
  } catch {
    return false;
  }
}

/**
 * What to do about a GPU provider whose binaries onnxruntime-node downloads separately. Said for
 * both installs: a source checkout, and the extension as installed from a VSIX, whose folder is
 * the one above node_modules/onnxruntime-node (npm is needed there, once, with network).
 */
export function missingProviderAdvice(name: string, pkgDir = onnxruntimeDir()): string {
  const extDir = pkgDir ? dirname(dirname(pkgDir)) : undefined;
  const fix = name === 'cuda' ? 'ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node' : `npm rebuild onnxruntime-node with its ${name} binaries`;
  const where = extDir ? `cd "${extDir}" && ${fix}` : fix;
  return `${name}: this onnxruntime-node has no ${name} provider (it is a separate download). To add it (${name === 'cuda' ? 'CUDA 12, ' : ''}network needed once): ${where}, then "Attention: Restart Runtime"; until then set attentionInspector.executionProvider to webgpu or cpu`;
}

function onnxruntimeDir(): string | undefined {
  try {
    return dirname(require.resolve('onnxruntime-node/package.json'));
  } catch {
    return undefined;
  }
}

/** Why a provider cannot be tried here, or undefined when it can. */
function unavailable(name: string, have: Map<string, boolean>): string | undefined {
  if (!have.has(name)) return `${name}: not available in onnxruntime-node for ${process.platform}-${process.arch}`;
  if (have.get(name) === false && !providerLibraryInstalled(name)) {
    return missingProviderAdvice(name);
  }
  if (name === 'webgpu' && process.platform === 'linux' && !vulkanLoaderPresent()) {
    return 'webgpu: no Vulkan loader (libvulkan.so.1) on this machine';
  }
  return undefined;
}

/**
 * A capture runs one session per model segment, one after another. Each session has its own
 * intra-op thread pool, whose threads by default spin for a while after every parallel section:
 * those of the segment that just ran kept taking the cores from the next one (measured on 2
 * cores: a 512-token panel capture of 12 segments 1.5 s spinning, 0.95 s without).
 */
const NO_SPINNING = { session: { intra_op: { allow_spinning: '0' } } };

type ConfigTree = { [key: string]: string | ConfigTree };

/**
 * The caller's config entries (`extra`, a tree onnxruntime-node flattens to dotted keys) with
 * spinning off, merged key by key: a caller's own `session` entries, such as the folder of a
 * model's external data, must not replace `session.intra_op.allow_spinning` (a shallow spread
 * did, and every segment of such a model spun: a 512-token panel capture took 1.8x as long).
 */
export function segmentExtra(extra: Record<string, unknown> = {}): ConfigTree {
  const merge = (a: ConfigTree, b: Record<string, unknown>): ConfigTree => {
    const out: ConfigTree = { ...a };
    for (const [k, v] of Object.entries(b)) {
      const mine = out[k];
      out[k] = v !== null && typeof v === 'object' && typeof mine === 'object' ? merge(mine, v as Record<string, unknown>) : (v as string | ConfigTree);
    }
    return out;
  };
  return merge(NO_SPINNING, extra);
}

export async function createSession(
  model: Uint8Array,
  setting: ExecutionProviderSetting = 'auto',
  base: ort.InferenceSession.SessionOptions = {},
  log?: (line: string) => void,
): Promise<ProviderSession> {
  const have = backends();
  const notes: string[] = [];
  const note = (line: string): void => {
    notes.push(line);
    log?.(line);
  };
  const tryCreate = (name: string): Promise<ort.InferenceSession> =>
    ort.InferenceSession.create(model, { ...base, extra: segmentExtra(base.extra), executionProviders: [name] });

  if (setting !== 'auto') {
    const why = setting === 'cpu' ? undefined : unavailable(setting, have);
    if (why) throw new UserError(`execution provider ${why}; use auto or cpu`);
    try {
      return { session: await tryCreate(setting), provider: setting, notes };
    } catch (e) {
      if (setting === 'cpu') throw e;
      throw new UserError(`execution provider ${setting} failed to start: ${firstLine(e)}; use auto or cpu`);
    }
  }

  for (const name of GPU_PREFERENCE[process.platform] ?? []) {
    const why =
      unavailable(name, have) ??
      (name === 'webgpu' && process.platform === 'linux' && !gpuDevicePresent()
        ? 'webgpu: no GPU device here (/dev/dri/renderD*, /dev/nvidia*, /dev/dxg); a Vulkan driver without one runs on the CPU, slower than the cpu provider'
        : undefined);
    if (why) {
      note(why);
      continue;
    }
    try {
      return { session: await tryCreate(name), provider: name, notes };
    } catch (e) {
      note(`${name}: session creation failed: ${firstLine(e)}`);
    }
  }
  return { session: await tryCreate('cpu'), provider: 'cpu', notes };
}
