/**
 * The local machine's hardware profile: its throughput measured once by a short onnxruntime-node
 * MatMul (the same runtime that runs the models, so the roofline speaks for it) and its memory
 * bandwidth by a large buffer copy, then cached on disk keyed by CPU model, core count and
 * onnxruntime version so later calls cost nothing. CPU only: the probe states it.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import '../onnx/runtimeEnvironment';
import { readCacheFile, userCacheDir, writeCacheFile } from '../files/userCache';
import { GraphBuilder } from '../onnx/graphBuilder';
import { DEFAULT_HARDWARE_ID, findHardware, type HardwareProfile } from './hardware';

export interface ProbeOptions {
  /** Folder of the cache file (default: the per-user cache folder, server/files/userCache.ts). */
  cacheDir?: string;
  /** Measure again even if a cached profile matches. */
  refresh?: boolean;
  /** Square matrix size of the probe (default 768: 0.9 GFLOP per run). */
  size?: number;
}

export interface LocalProfile extends HardwareProfile {
  probe: { key: string; matmulSize: number; matmulFlopsPerSecond: number; copyBytesPerSecond: number; measuredAt: string };
}

const CACHE_FILE = 'attention-inspector-hardware.json';

function machineKey(): string {
  const cpu = os.cpus()[0]?.model?.trim() ?? 'unknown cpu';
  return `${cpu}|${os.cpus().length} threads|${process.platform}-${process.arch}|ort ${ort.env.versions?.common ?? '?'}`;
}

/** L2 size per core where Linux tells it; the FlashAttention tile's M on a CPU. */
function l2Bytes(): number {
  try {
    const text = readFileSync('/sys/devices/system/cpu/cpu0/cache/index2/size', 'utf8').trim();
    const m = /^(\d+)([KM]?)$/.exec(text);
    if (m) return Number(m[1]) * (m[2] === 'M' ? 1 << 20 : m[2] === 'K' ? 1024 : 1);
  } catch {
    // Not Linux or no sysfs: fall through to a common L2 size.
  }
  return 1 << 20;
}

async function measureMatmul(size: number): Promise<number> {
  const g = new GraphBuilder('probe');
  g.input('a', 'float32', [size, size]);
  g.input('b', 'float32', [size, size]);
  g.node('MatMul', ['a', 'b'], { outputs: ['c'] });
  g.output('c', 'float32', [size, size]);
  const session = await ort.InferenceSession.create(g.toBytes(), { executionProviders: ['cpu'] });
  try {
    const data = new Float32Array(size * size);
    for (let i = 0; i < data.length; i++) data[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
    const feeds = { a: new ort.Tensor('float32', data, [size, size]), b: new ort.Tensor('float32', data, [size, size]) };
    await session.run(feeds); // warm-up: thread pool start and first allocation
    let best = Infinity;
    for (let r = 0; r < 3; r++) {
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
    }
    return (2 * size * size * size) / best;
  } finally {
    await session.release();
  }
}

function measureCopy(): number {
  const bytes = 64 << 20;
  const src = Buffer.alloc(bytes, 1);
  const dst = Buffer.alloc(bytes);
  src.copy(dst);
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t0 = process.hrtime.bigint();
    src.copy(dst);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  // A copy reads and writes every byte.
  return (2 * bytes) / best;
}

/** The local profile, from the cache when it matches this machine, else measured (about a second). */
export async function localHardwareProfile(options: ProbeOptions = {}): Promise<LocalProfile> {
  const dir = options.cacheDir ?? userCacheDir();
  const key = machineKey();
  const size = options.size ?? 768;
  if (!options.refresh) {
    try {
      const cached = JSON.parse(readCacheFile(dir, CACHE_FILE) ?? 'null') as LocalProfile | null;
      if (cached?.probe?.key === key && cached.probe.matmulSize === size) return cached;
    } catch {
      // Unparsable: measure again.
    }
  }
  const flops = await measureMatmul(size);
  const copy = measureCopy();
  const profile: LocalProfile = {
    id: 'local',
    name: `This machine (${os.cpus()[0]?.model?.trim() ?? 'CPU'}, ${os.cpus().length} threads, onnxruntime CPU)`,
    kind: 'cpu',
    // fp16/bf16 run through the same fp32 kernels on ORT's CPU provider, so one rate for all.
    peakFlops: { fp32: flops, fp16: flops, bf16: flops, fp8: flops, int8: flops },
    memoryBandwidth: copy,
    onChipBytes: l2Bytes(),
    memoryBytes: os.totalmem(),
    source: `measured: ${size}x${size} MatMul in onnxruntime-node, 64 MiB buffer copy`,
    measured: true,
    probe: { key, matmulSize: size, matmulFlopsPerSecond: flops, copyBytesPerSecond: copy, measuredAt: new Date().toISOString() },
  };
  // A read-only or unsafe cache folder only costs a new probe next time.
  writeCacheFile(dir, CACHE_FILE, JSON.stringify(profile, null, 2));
  return profile;
}

/** A profile by id, measuring the local machine for 'local'. */
export async function resolveHardware(id: string | undefined, options: ProbeOptions = {}): Promise<HardwareProfile> {
  if (id && id.toLowerCase() === 'local') return localHardwareProfile(options);
  return findHardware(id ?? DEFAULT_HARDWARE_ID);
}
