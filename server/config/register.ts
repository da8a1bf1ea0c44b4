/**
 * Wires config.json intelligence to the runtime's connection: hovers, diagnostics on open and
 * change (cleared on close), CodeLenses, and the attention/estimate and
 * attention/hardwareProfiles requests. Other documents are ignored, so the runtime can share
 * the connection with every other feature.
 */
import type { Connection, TextDocuments } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { basename, dirname } from 'node:path';
import { EstimateRequest, EstimateSweepRequest, HardwareProfilesRequest, MeasureEfficiencyRequest } from '../../protocol/efficiency';
import { estimate } from '../efficiency/estimate';
import { DEFAULT_HARDWARE_ID, findHardware, HARDWARE_PROFILES, type HardwareProfile } from '../efficiency/hardware';
import { loadModelShape } from '../efficiency/modelShape';
import { checkMeasureSizes, checkSweepSizes } from '../../common/requestSizes';
import { curvesFromSweep, sweep } from '../efficiency/sweep';
import { configCodeLenses } from './codeLens';
import { isConfigUri } from './configDocument';
import { configDiagnostics } from './diagnostics';
import { configHover } from './hover';
import { modelDisplayName } from '../discovery/modelName';
import { parseDtypeSetting, resolveDtype, type DtypeSetting } from '../efficiency/dtypeChoice';
import { guarded } from '../lsp/errors';

/**
 * A published profile by id, or this machine measured: only the measurement runs onnxruntime,
 * so it is imported then (the runtime serves hovers and estimates without the native library).
 */
async function resolveHardware(id: string | undefined): Promise<HardwareProfile> {
  if (id && id.toLowerCase() === 'local') return (await import('../efficiency/localProbe')).localHardwareProfile();
  return findHardware(id ?? DEFAULT_HARDWARE_ID);
}

export function registerConfigIntelligence(connection: Connection, documents: TextDocuments<TextDocument>): void {
  const publish = (doc: TextDocument) => {
    if (!isConfigUri(doc.uri)) return;
    void connection.sendDiagnostics({ uri: doc.uri, version: doc.version, diagnostics: configDiagnostics(doc) });
  };
  // TextDocuments reports an open as a content change too, so one listener covers both.
  documents.onDidChangeContent((e) => publish(e.document));
  documents.onDidClose((e) => {
    if (isConfigUri(e.document.uri)) void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
  });

  // attentionInspector.estimateDtype, pushed by the client (synchronize.configurationSection).
  let dtypeSetting: DtypeSetting = 'config';
  connection.onDidChangeConfiguration((p) => {
    dtypeSetting = parseDtypeSetting((p.settings as { attentionInspector?: { estimateDtype?: unknown } } | undefined)?.attentionInspector?.estimateDtype);
  });
  connection.onHover((params) => {
    const doc = documents.get(params.textDocument.uri);
    return doc ? configHover(doc, doc.offsetAt(params.position), dtypeSetting) : null;
  });
  connection.onCodeLens((params) => {
    const doc = documents.get(params.textDocument.uri);
    return doc ? configCodeLenses(doc) : [];
  });

  connection.onRequest(EstimateRequest.type, guarded(connection, EstimateRequest.method, async (p: EstimateRequest.Params) => {
    const shape = loadModelShape(p.configPath);
    const hardware = await resolveHardware(p.hardware);
    const result = estimate(shape, { seq: p.seq, batch: p.batch, dtype: p.dtype, hardware, decode: p.decode, variants: p.variants });
    return result;
  }));
  connection.onRequest(EstimateSweepRequest.type, guarded(connection, EstimateSweepRequest.method, async (p: EstimateSweepRequest.Params) => {
    checkSweepSizes(p ?? {});
    const shape = loadModelShape(p.configPath);
    const hardware = await resolveHardware(p.hardware);
    const tableSeq = p.tableSeq ?? shape.maxPositions ?? 2048;
    const profiles = hardware.id === 'local' ? [hardware] : [];
    const result = sweep(shape, { seqs: p.seqs, tableSeq, batch: p.batch, dtype: p.dtype, hardware, decode: p.decode, profiles });
    // Named as the Models view names it: a hub-cache snapshot by its repository, else its folder.
    const modelName = basename(p.configPath) === 'config.json' ? modelDisplayName(dirname(p.configPath)) : basename(p.configPath);
    const d = resolveDtype(dtypeSetting, shape.dtype);
    // The panel offers fp32, fp16 and bf16; an fp8/int8 config starts it at its own default.
    return { modelName, maxPositions: shape.maxPositions, curves: curvesFromSweep(result), dtype: d === 'fp32' || d === 'fp16' || d === 'bf16' ? d : undefined };
  }));
  connection.onRequest(MeasureEfficiencyRequest.type, guarded(connection, MeasureEfficiencyRequest.method, async (p: MeasureEfficiencyRequest.Params) => {
    checkMeasureSizes(p ?? {});
    const shape = loadModelShape(p.configPath);
    const local = await resolveHardware('local');
    const { measureVsEstimate } = await import('../efficiency/measured');
    const points = await measureVsEstimate(shape, { seqs: p.seqs, variants: p.variants, hardware: local, maxHeads: p.maxHeads ?? 8 });
    return { hardware: local.name, points };
  }));
  connection.onRequest(HardwareProfilesRequest.type, guarded(connection, HardwareProfilesRequest.method, async (p: HardwareProfilesRequest.Params) => {
    const list: HardwareProfilesRequest.Profile[] = [...HARDWARE_PROFILES];
    if (p?.includeLocal) list.push(await resolveHardware('local'));
    return list;
  }));
}
