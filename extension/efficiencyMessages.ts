/**
 * Validation of what the Efficiency webview posts (protocol/efficiencyWebview.ts), as the
 * Attention panel's messages are checked (panelMessages.ts): only well-formed messages with
 * values in range reach the host, which turns them into runtime requests. Sizes are bounded
 * here, before any work: a measurement runs real attention on this machine, and its memory
 * grows with the square of the length. No vscode import, so it is unit-tested.
 */
import type { EfficiencyDtype, EfficiencySettings, EfficiencyToHost } from '../protocol/efficiencyWebview';

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

function isInt(v: unknown, lo: number, hi: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
}

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

/** The message, narrowed, or undefined when anything is off. */
export function parseEfficiencyMessage(raw: unknown): EfficiencyToHost | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const m = raw as Record<string, unknown>;
  switch (m.type) {
    case 'ready':
      return { type: 'ready' };
    case 'settings': {
      const settings = parseSettings(m.settings);
      return settings ? { type: 'settings', settings } : undefined;
    }
    case 'measure': {
      const { seqs } = m;
      if (!Array.isArray(seqs) || seqs.length < 1 || seqs.length > MAX_MEASURE_LENGTHS) return undefined;
      // Index by index: every() skips the holes of a sparse array ([128, , 256]).
      const out: number[] = [];
      for (let i = 0; i < seqs.length; i++) {
        const v: unknown = seqs[i];
        if (!isInt(v, 1, MAX_MEASURE_SEQ)) return undefined;
        out.push(v);
      }
      return { type: 'measure', seqs: out };
    }
    default:
      return undefined;
  }
}
