/**
 * The Efficiency panel channel: messages between the Efficiency webview (browser code) and its
 * host in the extension. Discriminated unions on `type`. The webview never sees file paths: the
 * host holds the config's path and answers with figures. The host posts nothing before `ready`.
 * The validators of what the webview posts stand beside its type (common/messageKernel.ts): only
 * well-formed messages with values in range reach the host, which turns them into runtime
 * requests. Sizes are bounded here, before any work: a measurement runs real attention on this
 * machine, and its memory grows with the square of the length.
 */
import { intList, isInt, messageParser, type MessageValidators } from '../common/messageKernel';
import type { MeasureEfficiencyRequest } from './efficiency';

export type EfficiencyDtype = 'fp32' | 'fp16' | 'bf16';

export interface EfficiencySettings {
  batch: number;
  dtype: EfficiencyDtype;
  /** Hardware profile id, or 'local' for this machine (measured once). */
  hardware: string;
  decode: boolean;
  /** Sequence length of the table. */
  tableSeq: number;
}

/** Per-variant figures at one length (a subset of the estimate's CostFigures). */
export interface EfficiencyRow {
  id: string;
  name: string;
  paper: string;
  flops: number;
  bytes: number;
  arithmeticIntensity: number;
  attentionMatrixBytesPerLayer: number;
  kvCacheBytes: number;
  kvCacheBytesPerToken: number;
  rooflineSeconds: number;
  bound: 'compute' | 'memory';
}

export interface EfficiencyCurves {
  seqs: number[];
  variants: Record<string, { name: string; rooflineSeconds: number[]; kvCacheBytes: number[]; flops: number[]; attentionMatrixBytes: number[] }>;
  byHardware: Record<string, { name: string; exact: number[]; flash: number[] }>;
  hardwareName: string;
  rows: EfficiencyRow[];
}

/** One measured length of one variant: the fields of the runtime's point the table shows (protocol/efficiency.ts). */
export type MeasuredRow = Pick<MeasureEfficiencyRequest.Point, 'variant' | 'seq' | 'heads' | 'headDim' | 'measuredMs' | 'estimatedMs' | 'ratio' | 'achievedFlopsPerSecond'>;

/** host -> webview */
export type HostToEfficiency =
  | { type: 'init'; modelName: string; maxPositions: number | null; hardware: { id: string; name: string }[]; settings: EfficiencySettings }
  | { type: 'curves'; settings: EfficiencySettings; curves: EfficiencyCurves }
  | { type: 'measured'; hardwareName: string; rows: MeasuredRow[] }
  | { type: 'busy'; message: string }
  | { type: 'error'; message: string; requestId?: number };

/** webview -> host */
export type EfficiencyToHost =
  | { type: 'ready' }
  | { type: 'settings'; settings: EfficiencySettings }
  | { type: 'measure'; seqs: number[] };

const DTYPES: readonly EfficiencyDtype[] = ['fp32', 'fp16', 'bf16'];
/** Hardware profile ids (server/efficiency/hardware.ts) and 'local'. */
const HARDWARE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** The estimator's own bounds on the table's length and batch (server/efficiency/estimate.ts). */
export const MAX_TABLE_SEQ = 1e8;
export const MAX_BATCH = 1e6;
/**
 * Longest measured length: 8 heads × n² scores in float32 is 512 MiB at 4,096, and the panel
 * asks for 128 to 512. Past it, measuring would exhaust memory instead of answering.
 */
export const MAX_MEASURE_SEQ = 4096;
export const MAX_MEASURE_LENGTHS = 8;

function parseSettings(raw: unknown): EfficiencySettings | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const s = raw as Record<string, unknown>;
  if (!isInt(s.batch, 1, MAX_BATCH) || !isInt(s.tableSeq, 1, MAX_TABLE_SEQ)) return undefined;
  if (typeof s.dtype !== 'string' || !DTYPES.includes(s.dtype as EfficiencyDtype)) return undefined;
  if (typeof s.hardware !== 'string' || !HARDWARE_ID.test(s.hardware)) return undefined;
  if (typeof s.decode !== 'boolean') return undefined;
  // A fresh object: nothing else the webview put in it travels on.
  return { batch: s.batch, tableSeq: s.tableSeq, dtype: s.dtype as EfficiencyDtype, hardware: s.hardware, decode: s.decode };
}

export const efficiencyToHost: MessageValidators<EfficiencyToHost> = {
  ready: () => ({ type: 'ready' }),
  settings: (m) => {
    const settings = parseSettings(m.settings);
    return settings ? { type: 'settings', settings } : undefined;
  },
  measure: (m) => {
    const seqs = intList(m.seqs, 1, MAX_MEASURE_SEQ, MAX_MEASURE_LENGTHS);
    return seqs ? { type: 'measure', seqs } : undefined;
  },
};

/** The message, narrowed, or undefined when anything is off. */
export const parseEfficiencyMessage = messageParser(efficiencyToHost);
