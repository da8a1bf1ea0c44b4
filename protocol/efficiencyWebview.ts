/**
 * The Efficiency panel channel: messages between the Efficiency webview (browser code) and its
 * host in the extension. Discriminated unions on `type`. The webview never sees file paths: the
 * host holds the config's path and answers with figures. The host posts nothing before `ready`.
 */

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

export interface MeasuredRow {
  variant: string;
  seq: number;
  heads: number;
  headDim: number;
  measuredMs: number;
  estimatedMs: number;
  ratio: number;
  achievedFlopsPerSecond: number;
}

/** host -> webview */
export type HostToEfficiency =
  | { type: 'init'; modelName: string; maxPositions: number | null; hardware: { id: string; name: string }[]; settings: EfficiencySettings }
  | { type: 'curves'; settings: EfficiencySettings; curves: EfficiencyCurves }
  | { type: 'measured'; hardwareName: string; rows: MeasuredRow[] }
  | { type: 'busy'; message: string }
  | { type: 'error'; message: string };

/** webview -> host */
export type EfficiencyToHost =
  | { type: 'ready' }
  | { type: 'settings'; settings: EfficiencySettings }
  | { type: 'measure'; seqs: number[] };
