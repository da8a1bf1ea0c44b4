/**
 * The serving view's data: KV-cache eviction policies swept over budgets on one text, the real
 * maps with each policy's kept keys at one budget, and the head-type scores. Written into the
 * standalone serving report by the runtime (server/serving/servingReport.ts) and read by the
 * view (webview/serving/main.ts). Maps are float32 base64 [heads, n, n]; kept keys are one
 * byte per cell (1 kept), base64, same layout.
 */
import type { MessageValidators } from '../common/messageKernel';

export type ServingPolicy = 'streaming' | 'h2o' | 'snapkv' | 'tova';

export interface ServingPoint {
  budget: number;
  /** Mean over layers, heads and rows of the mass on the kept keys. */
  massKept: number;
  /** Per layer, mean over heads. */
  massKeptByLayer: number[];
  /** Mean over layers of the relative L2 error of the attention output (null where unknown). */
  outputRelativeL2: number | null;
  nextTokenKL: number | null;
  top1Agreement: number | null;
  kvBytesSaved: number | null;
}

export interface ServingPolicyCurve {
  name: string;
  paper: string;
  /** How the policy was mapped onto a prefill pass, one sentence. */
  mapping: string;
  points: ServingPoint[];
  /** Per layer: kept keys at the head-map budget, base64 bytes [heads, n, n]. */
  kept: string[];
  /** At the head-map budget: mass kept [layer][head] and each layer's attention-output error. */
  atHeadMapBudget: { massKept: number[][]; outputRelativeL2: (number | null)[] };
}

export interface ServingLayer {
  heads: number;
  /** base64 float32 [heads, n, n], the full-cache map. */
  map: string;
  previousToken: (number | null)[];
  duplicateToken: (number | null)[];
  induction: (number | null)[];
  sink: (number | null)[];
}

export interface ServingReport {
  model: string;
  executionProvider: string;
  tokens: string[];
  ids: number[];
  /** The repeat probe, when the text is one. */
  probe?: { repeat: number; seed: number; bos: number | null };
  budgets: number[];
  sinks: number;
  /** Budget of the head map's kept keys. */
  headMapBudget: number;
  policies: Record<ServingPolicy, ServingPolicyCurve>;
  layers: ServingLayer[];
}

/** Host -> view: the report (the view posts `ready` first when it runs in a webview). */
export type HostToServing = { type: 'report'; report: ServingReport } | { type: 'error'; message: string; requestId?: number };
/** View -> host: the view only says `ready`. */
export type ServingToHost = { type: 'ready' };

export const servingToHost: MessageValidators<ServingToHost> = {
  ready: () => ({ type: 'ready' }),
};

export function encodeBytes(data: Uint8Array): string {
  if (typeof Buffer !== 'undefined') return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
  let s = '';
  for (let i = 0; i < data.length; i += 0x8000) s += String.fromCharCode(...data.subarray(i, i + 0x8000));
  return btoa(s);
}

export function decodeBytes(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
