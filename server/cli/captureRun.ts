/**
 * One capture from the command line into a folder: tokens.json, layer_<i>.npy per
 * self-attention layer (cross_<i>.npy per cross-attention layer), summary.json. Shared by the
 * capture and demo commands.
 */
import { existsSync, statSync } from 'node:fs';
import type { ExecutionProviderSetting } from '../../protocol/runtime';
import { openModel } from '../capture/openModel';
import { statsJson } from '../capture/layerReductions';
import { type CaptureInput, type CaptureResult, type LayerMap, type OpenedModel } from '../capture/types';
import { requireRegularFile } from '../regularFile';
import { UsageError, positiveInt, type Flags, requireModelAndOut } from './args';
import { parseIdList, readIdsFile, readTextFile } from './inputFiles';
import { OutputFolder } from './outputFolder';
import type { NpyRowWriter } from '../capture/npy';

export const EXECUTION_PROVIDERS: ExecutionProviderSetting[] = ['auto', 'cuda', 'dml', 'coreml', 'webgpu', 'cpu'];

export interface CaptureRequest {
  model: string;
  input: CaptureInput;
  out: string;
  executionProvider: ExecutionProviderSetting;
  maxTokens?: number;
  /** Bound on the maps one run returns (--memory-budget-mb); layers are written as they come. */
  memoryBudgetBytes?: number;
  log?: (line: string) => void;
  /** Called after each layer is written. */
  onLayer?: (map: LayerMap) => void;
  /** The opened --out folder when the caller adds files and finishes it itself (demo). */
  folder?: OutputFolder;
  /** --maps: 'none' writes no layer_<i>.npy / cross_<i>.npy, only stats.json (default 'full'). */
  maps?: 'full' | 'none';
}

export interface CaptureOutcome {
  model: OpenedModel;
  result: CaptureResult;
  files: string[];
  summary: Record<string, unknown>;
}

/** Reads --text / --text-file / --ids / --ids-file (exactly one) into a capture input. */
export function inputFromFlags(flags: Flags, command: string): CaptureInput {
  const given = ['text', 'text-file', 'ids', 'ids-file'].filter((f) => flags[f] !== undefined);
  if (given.length !== 1) throw new UsageError(`${command}: give exactly one of --text, --text-file, --ids, --ids-file`);
  if (typeof flags.text === 'string') return { text: flags.text };
  if (typeof flags['text-file'] === 'string') {
    const file = flags['text-file'];
    // Standard input is read whole; a missing path or a folder gets inputFiles' one-line error.
    if (file === '-' || !existsSync(file) || statSync(file).isDirectory()) return { text: readTextFile(file) };
    requireRegularFile(file, 'the text to inspect', 'pass a text file to --text-file');
    // Read while tokenizing, only as far as --max-tokens needs (server/tokenize/textSource.ts).
    return { textFile: file };
  }
  if (typeof flags['ids-file'] === 'string') return { ids: readIdsFile(flags['ids-file']) };
  return { ids: parseIds(flags.ids, 'ids', command) };
}

function parseIds(value: string | boolean | undefined, flag: string, command: string): number[] {
  return parseIdList(String(value), `${command}: --${flag}`, `--${flag} 3,17,5`);
}

/** --target-text / --target-ids (at most one): the decoder's input of an encoder-decoder model. */
export function targetFromFlags(flags: Flags, command: string): Pick<CaptureInput, 'targetText' | 'targetIds'> {
  if (flags['target-text'] !== undefined && flags['target-ids'] !== undefined) {
    throw new UsageError(`${command}: give at most one of --target-text, --target-ids`);
  }
  if (typeof flags['target-text'] === 'string') return { targetText: flags['target-text'] };
  if (flags['target-ids'] !== undefined) return { targetIds: parseIds(flags['target-ids'], 'target-ids', command) };
  return {};
}

const mib = (n: number | undefined) => (n === undefined ? undefined : n * 2 ** 20);

/** --ep, one of EXECUTION_PROVIDERS; auto when not given. */
export function executionProviderFlag(flags: Flags, command: string): ExecutionProviderSetting {
  const ep = (flags.ep ?? 'auto') as ExecutionProviderSetting;
  if (!EXECUTION_PROVIDERS.includes(ep)) throw new UsageError(`${command}: --ep must be one of ${EXECUTION_PROVIDERS.join(', ')}`);
  return ep;
}

export function requestFromFlags(flags: Flags, command: string): CaptureRequest {
  requireModelAndOut(flags, command);
  const ep = executionProviderFlag(flags, command);
  return {
    model: flags.model,
    input: { ...inputFromFlags(flags, command), ...targetFromFlags(flags, command) },
    out: flags.out,
    executionProvider: ep,
    maxTokens: positiveInt(flags['max-tokens'], 'max-tokens', command),
    memoryBudgetBytes: mib(positiveInt(flags['memory-budget-mb'], 'memory-budget-mb', command)),
    ...(flags.maps !== undefined ? { maps: mapsFlag(flags.maps, command) } : {}),
  };
}

/** The names a capture writes: an earlier capture's files with these names are stale. */
export const CAPTURE_FILES = [/^(layer|cross)_\d+\.npy$/, /^tokens\.json$/, /^stats\.json$/];

export function openCaptureFolder(out: string, command: string): OutputFolder {
  return OutputFolder.open(out, { command, owns: CAPTURE_FILES });
}

function mapsFlag(value: string | boolean, command: string): 'full' | 'none' {
  if (value !== 'full' && value !== 'none') throw new UsageError(`${command}: --maps must be full or none, got "${value}"`);
  return value;
}

export async function captureToFolder(req: CaptureRequest): Promise<CaptureOutcome> {
  // Checked before the model loads: a bad --out is a one-line error, not a lost run.
  const folder = req.folder ?? openCaptureFolder(req.out, 'capture');
  const model = await openModel(req.model, { executionProvider: req.executionProvider, log: req.log });
  const rowFiles = new Map<number, { file: string; writer: NpyRowWriter; commit: () => void }>();
  try {
    const files: string[] = [];
    const shapes: { index: number; kind: string; heads: number; queries: number; keys: number; file: string }[] = [];
    let self = 0;
    let cross = 0;
    const warnings: string[] = [];
    const stats: ReturnType<typeof statsJson>[] = [];
    const result = await model.capture(req.input, {
      maxTokens: req.maxTokens,
      memoryBudgetBytes: req.memoryBudgetBytes,
      log: req.log,
      onWarning: (line) => {
        warnings.push(line);
        process.stderr.write(`warning: ${line}\n`);
      },
      maps: req.maps ?? 'full',
      onReductions: (r) => void (stats[r.index] = statsJson(r)),
      // Layers run by query blocks: each block's rows go to the layer's file as they come.
      onLayerRows: (block) => {
        let open = rowFiles.get(block.index);
        if (!open) {
          const file = block.kind === 'cross' ? `cross_${cross++}.npy` : `layer_${self++}.npy`;
          open = { file, ...folder.npyRows(file, [block.heads, block.queries, block.keys]) };
          rowFiles.set(block.index, open);
        }
        open.writer.writeRows(block.start, block.rows, block.data);
        if (!open.writer.complete) return;
        open.commit();
        rowFiles.delete(block.index);
        files.push(open.file);
        shapes.push({ index: block.index, kind: block.kind, heads: block.heads, queries: block.queries, keys: block.keys, file: open.file });
      },
      onLayer: (map) => {
        const file = map.kind === 'cross' ? `cross_${cross++}.npy` : `layer_${self++}.npy`;
        folder.writeNpy(file, map.data, [map.heads, map.queries, map.keys]);
        files.push(file);
        shapes.push({ index: map.index, kind: map.kind, heads: map.heads, queries: map.queries, keys: map.keys, file });
        req.onLayer?.(map);
      },
    });
    const target = result.targetIds ? { targetTokens: result.targetTokens, targetIds: result.targetIds } : {};
    // JSON has no NaN: a statistic undefined for a head (no qualifying row) is written as null.
    folder.writeJson('stats.json', { layers: stats });
    folder.writeJson('tokens.json', { tokens: result.tokens, ids: result.ids, ...target });
    const summary = {
      model: { path: model.path, name: model.info.name, format: model.info.format },
      layers: result.layers.length,
      selfAttentionLayers: self,
      crossAttentionLayers: cross,
      heads: Math.max(0, ...result.layers.map((l) => l.heads)),
      tokens: result.ids.length,
      // Encoder-decoder: cross_<i>.npy is [heads, targetTokens, tokens] (target queries over source keys).
      ...(result.targetIds ? { targetTokens: result.targetIds.length } : {}),
      layerFiles: shapes.map((s, i) => ({ ...s, source: result.layers[i]?.source })),
      executionProvider: result.executionProvider,
      providerNotes: result.providerNotes,
      timings: result.timings,
      maps: req.maps ?? 'full',
      ...(result.segmentRuns !== undefined ? { segmentRuns: result.segmentRuns } : {}),
      ...(result.firstLayerMs !== undefined ? { firstLayerMs: result.firstLayerMs } : {}),
      peakRssBytes: result.peakRssBytes,
      // The malloc settings the timings and peak RSS were measured under (common/mallocTunables.ts).
      ...(process.platform === 'linux' ? { glibcTunables: process.env.GLIBC_TUNABLES ?? null } : {}),
      cancelled: result.cancelled,
      ...(warnings.length ? { warnings } : {}),
    };
    if (!req.folder) folder.finish(summary);
    return { model, result, files, summary };
  } catch (e) {
    for (const open of rowFiles.values()) open.writer.discard();
    await model.dispose();
    throw e;
  }
}

export function summaryLine(o: CaptureOutcome): string {
  const r = o.result;
  const heads = Math.max(0, ...r.layers.map((l) => l.heads));
  return `${o.model.info.name}: ${r.layers.length} attention layers x ${heads} heads over ${r.ids.length} tokens on ${r.executionProvider} in ${r.timings.totalMs.toFixed(0)} ms (peak RSS ${(r.peakRssBytes / 2 ** 20).toFixed(0)} MiB)`;
}
