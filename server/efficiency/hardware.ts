/**
 * Hardware profiles for roofline estimates: dense peak throughput per dtype (no 2:4 sparsity),
 * memory bandwidth and the on-chip memory one FlashAttention tile can use (shared memory / L1
 * per SM on GPUs, threadgroup memory on Apple GPUs, L2 per core on CPUs). Figures are the
 * vendors' datasheet peaks; Apple does not publish FLOP/s, so those rows are community figures
 * and say so. The local machine's profile is measured (localProbe.ts), not listed here.
 */
import { UserError } from '../../common/errors';
import type { Dtype } from './formulas';

export interface HardwareProfile {
  id: string;
  name: string;
  kind: 'gpu' | 'cpu';
  /** Peak FLOP/s per dtype (tensor cores / matrix units where the dtype uses them). */
  peakFlops: Record<Dtype, number>;
  /** Main-memory (HBM, GDDR, unified or DDR) bandwidth, bytes/s. */
  memoryBandwidth: number;
  /** On-chip memory one attention tile can use, bytes (M of Dao et al. 2022). */
  onChipBytes: number;
  /** Main-memory capacity, bytes. */
  memoryBytes: number;
  source: string;
  measured?: boolean;
}

const T = 1e12;
const G = 1e9;
const KiB = 1024;
const GB = 1e9;

function peaks(fp32: number, fp16: number, bf16 = fp16, fp8 = fp16, int8 = fp8): Record<Dtype, number> {
  return { fp32, fp16, bf16, fp8, int8 };
}

export const HARDWARE_PROFILES: HardwareProfile[] = [
  {
    id: 'h100-sxm', name: 'NVIDIA H100 SXM5 80GB', kind: 'gpu',
    peakFlops: peaks(66.9 * T, 989.4 * T, 989.4 * T, 1978.9 * T), memoryBandwidth: 3350 * G,
    onChipBytes: 228 * KiB, memoryBytes: 80 * GB, source: 'NVIDIA H100 datasheet; Hopper tuning guide (228 KB L1/shared per SM, 132 SMs)',
  },
  {
    id: 'h200-sxm', name: 'NVIDIA H200 SXM 141GB', kind: 'gpu',
    peakFlops: peaks(66.9 * T, 989.4 * T, 989.4 * T, 1978.9 * T), memoryBandwidth: 4800 * G,
    onChipBytes: 228 * KiB, memoryBytes: 141 * GB, source: 'NVIDIA H200 datasheet',
  },
  {
    id: 'a100-80gb', name: 'NVIDIA A100 SXM4 80GB', kind: 'gpu',
    peakFlops: peaks(19.5 * T, 312 * T, 312 * T, 312 * T, 624 * T), memoryBandwidth: 2039 * G,
    onChipBytes: 192 * KiB, memoryBytes: 80 * GB, source: 'NVIDIA A100 datasheet; Dao et al. 2022 §2.1 (192 KB SRAM per SM, 108 SMs)',
  },
  {
    id: 'a100-40gb', name: 'NVIDIA A100 SXM4 40GB', kind: 'gpu',
    peakFlops: peaks(19.5 * T, 312 * T, 312 * T, 312 * T, 624 * T), memoryBandwidth: 1555 * G,
    onChipBytes: 192 * KiB, memoryBytes: 40 * GB, source: 'NVIDIA A100 datasheet',
  },
  {
    id: 'l4', name: 'NVIDIA L4 24GB', kind: 'gpu',
    peakFlops: peaks(30.3 * T, 121 * T, 121 * T, 242.5 * T), memoryBandwidth: 300 * G,
    onChipBytes: 128 * KiB, memoryBytes: 24 * GB, source: 'NVIDIA L4 datasheet (dense); Ada tuning guide (128 KB L1 per SM)',
  },
  {
    id: 'rtx-4090', name: 'NVIDIA GeForce RTX 4090', kind: 'gpu',
    peakFlops: peaks(82.6 * T, 165.2 * T, 165.2 * T, 330.3 * T), memoryBandwidth: 1008 * G,
    onChipBytes: 128 * KiB, memoryBytes: 24 * GB, source: 'NVIDIA Ada Lovelace whitepaper (FP16 tensor with FP32 accumulate, dense)',
  },
  {
    id: 'apple-m1', name: 'Apple M1 (8-core GPU)', kind: 'gpu',
    peakFlops: peaks(2.6 * T, 2.6 * T, 2.6 * T, 2.6 * T), memoryBandwidth: 68.25 * G,
    onChipBytes: 32 * KiB, memoryBytes: 16 * GB, source: 'Apple M1 announcement (2.6 TFLOPS); Metal feature set tables (32 KB threadgroup memory)',
  },
  {
    id: 'apple-m2-max', name: 'Apple M2 Max (38-core GPU)', kind: 'gpu',
    peakFlops: peaks(13.6 * T, 13.6 * T, 13.6 * T, 13.6 * T), memoryBandwidth: 400 * G,
    onChipBytes: 32 * KiB, memoryBytes: 96 * GB, source: 'Apple M2 Max announcement (13.6 TFLOPS, 400 GB/s); FP16 at FP32 rate',
  },
  {
    id: 'apple-m3-max', name: 'Apple M3 Max (40-core GPU)', kind: 'gpu',
    peakFlops: peaks(16.4 * T, 16.4 * T, 16.4 * T, 16.4 * T), memoryBandwidth: 400 * G,
    onChipBytes: 32 * KiB, memoryBytes: 128 * GB, source: 'Apple (400 GB/s); FLOP/s not published by Apple, community figure 40 cores x 128 ALUs x 2 x 1.6 GHz',
  },
  {
    id: 'epyc-9654', name: 'AMD EPYC 9654 (96 Zen 4 cores)', kind: 'cpu',
    peakFlops: peaks(7.37 * T, 7.37 * T, 14.7 * T, 14.7 * T, 14.7 * T), memoryBandwidth: 460.8 * G,
    onChipBytes: 1024 * KiB, memoryBytes: 768 * GB, source: 'AMD: 96 cores x 2.4 GHz x 32 FP32 FLOP/cycle (AVX-512 on 2x256-bit), AVX512-BF16 2x; 12 x DDR5-4800',
  },
  {
    id: 'xeon-8480', name: 'Intel Xeon Platinum 8480+ (56 cores, AMX)', kind: 'cpu',
    peakFlops: peaks(7.17 * T, 7.17 * T, 114.7 * T, 114.7 * T, 229.4 * T), memoryBandwidth: 307.2 * G,
    onChipBytes: 2048 * KiB, memoryBytes: 512 * GB, source: 'Intel: 56 cores x 2.0 GHz x 64 FP32 FLOP/cycle (2 AVX-512 FMA), AMX BF16 1024 FLOP/cycle; 8 x DDR5-4800',
  },
];

export const DEFAULT_HARDWARE_ID = 'h100-sxm';

/** A profile by id (case-insensitive); the error lists the ids there are. */
export function findHardware(id: string, extra: HardwareProfile[] = []): HardwareProfile {
  const want = id.toLowerCase();
  const hit = [...extra, ...HARDWARE_PROFILES].find((p) => p.id === want);
  if (!hit) {
    const ids = [...HARDWARE_PROFILES.map((p) => p.id), 'local'].join(', ');
    throw new UserError(`Unknown hardware "${id}"; use one of: ${ids}.`);
  }
  return hit;
}
