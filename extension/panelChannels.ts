/**
 * The channel of each panel: its validators (beside the message types in protocol/) and its
 * handlers, run by one PanelHost (panelHost.ts). What a handler needs of VS Code or the runtime
 * comes in as an argument, so this module has no vscode import and the real channels are
 * unit-tested (test/unit/panelChannels.test.ts); the *Panel.ts files create the webview panels
 * and wire these in.
 */
import { compareToHost, type CompareToHost, type HostToCompare } from '../protocol/mechanismsWebview';
import { EstimateSweepRequest, HardwareProfilesRequest, MeasureEfficiencyRequest } from '../protocol/efficiency';
import { efficiencyToHost, type EfficiencySettings, type EfficiencyToHost, type HostToEfficiency } from '../protocol/efficiencyWebview';
import type { InternalsToHost } from '../protocol/internals';
import type { TileRequest } from '../protocol/runtime';
import { servingToHost, type HostToServing, type ServingToHost } from '../protocol/servingWebview';
import { attentionToHost, type HostToWebview, type WebviewToHost } from '../protocol/webview';
import { checkMeasureSizes, checkSweepSizes } from '../common/requestSizes';
import type { RequestType } from 'vscode-languageserver-protocol';
import type { ChannelSpec } from './panelHost';
import type { RequestOptions } from './runtimeContext';


type Posted<M, K> = Extract<M, { type: K }>;

/** What the Attention panel's handlers do, supplied by AttentionPanel (attentionPanel.ts). */
export interface AttentionActions {
  /** The reply to `ready`: the stored state and the theme. */
  init(): HostToWebview;
  /** What a reloaded page is shown again: the last capture (and a comparison's side A). */
  replay(): HostToWebview[];
  /** Whether a capture was shown here: tiles and internals are served only for those. */
  knows(captureId: string): boolean;
  tile(params: TileRequest.Params): Promise<{ rows: number; cols: number; data: string }>;
  internals(msg: InternalsToHost): Promise<HostToWebview>;
  selectHead(layer: number, head: number): void;
  inspect(text: string): void;
  export(msg: Posted<WebviewToHost, 'export'>): Promise<void>;
  log(level: 'info' | 'warn' | 'error', message: string): void;
}

export function attentionChannel(a: AttentionActions): ChannelSpec<HostToWebview, WebviewToHost> {
  const unknownCapture = (captureId: string): HostToWebview => ({ type: 'error', message: `capture ${captureId} was not shown in this panel; inspect the text again` });
  return {
    name: 'Attention panel',
    validators: attentionToHost,
    initialState: () => [a.init()],
    // A page that just came up has everything queued; one that reloaded lost everything.
    backlog: (queued, reloaded) => (reloaded || queued.length === 0 ? a.replay() : queued),
    handlers: {
      selectHead: (m) => a.selectHead(m.layer, m.head),
      requestTile: async ({ requestId, type: _t, ...params }) => {
        if (!a.knows(params.captureId)) return unknownCapture(params.captureId);
        const { rows, cols, data } = await a.tile(params);
        return { type: 'tile', requestId, rows, cols, data };
      },
      inspect: (m) => a.inspect(m.text),
      export: (m) => a.export(m),
      log: (m) => a.log(m.level, `panel: ${m.message}`),
      requestInternals: (m) => (a.knows(m.captureId) ? a.internals(m) : unknownCapture(m.captureId)),
      requestCorpus: (m) => (a.knows(m.captureId) ? a.internals(m) : unknownCapture(m.captureId)),
      requestAblation: (m) => (a.knows(m.captureId) ? a.internals(m) : unknownCapture(m.captureId)),
    },
  };
}

/** The mechanisms comparison page only says `ready`; results are posted by the command (mechanismsPanel.ts). */
export function mechanismsChannel(): ChannelSpec<HostToCompare, CompareToHost> {
  return { name: 'Compare panel', validators: compareToHost, handlers: {} };
}

/** The serving view only says `ready`; the report is posted by the command (servingPanel.ts). */
export function servingChannel(): ChannelSpec<HostToServing, ServingToHost> {
  return { name: 'KV-cache view', validators: servingToHost, handlers: {} };
}

/** What the Efficiency panel needs from the runtime context (extension/runtimeContext.ts): typed requests. */
export interface RuntimeRequests {
  request<P, R>(type: RequestType<P, R, void>, params: P, options?: RequestOptions): Promise<R>;
}

/** The Efficiency panel of one config: the page gets figures, the host keeps the config's path. */
export function efficiencyChannel(
  runtime: RuntimeRequests,
  configPath: string,
): ChannelSpec<HostToEfficiency, EfficiencyToHost> {
  return {
    name: 'Efficiency panel',
    validators: efficiencyToHost,
    initialState: async () => {
      const profiles = await runtime.request(HardwareProfilesRequest.type, { includeLocal: false });
      const probe = await runtime.request(EstimateSweepRequest.type, { configPath, seqs: [128], tableSeq: 128 });
      // The same precision as the config.json hover (server/efficiency/dtypeChoice.ts).
      const settings: EfficiencySettings = { batch: 1, dtype: probe.dtype ?? 'fp32', hardware: profiles[0]?.id ?? 'h100-sxm', decode: false, tableSeq: probe.maxPositions ?? 4096 };
      const hardware = [...profiles.map((p) => ({ id: p.id, name: p.name })), { id: 'local', name: 'This machine (measured)' }];
      return [{ type: 'init', modelName: probe.modelName, maxPositions: probe.maxPositions, hardware, settings }];
    },
    handlers: {
      settings: async ({ settings: s }) => {
        // Sizes from the webview are checked here, before they reach the runtime.
        checkSweepSizes({ tableSeq: s.tableSeq, batch: s.batch }, 'Efficiency panel');
        const r = await runtime.request(EstimateSweepRequest.type, {
          configPath, tableSeq: s.tableSeq, batch: s.batch, dtype: s.dtype, hardware: s.hardware, decode: s.decode,
        });
        return { type: 'curves', settings: s, curves: r.curves };
      },
      measure: async ({ seqs }) => {
        checkMeasureSizes({ seqs }, 'Efficiency panel');
        const r = await runtime.request(MeasureEfficiencyRequest.type, { configPath, seqs }, { progress: 'Attention Inspector: measuring attention on this machine' });
        return { type: 'measured', hardwareName: r.hardware, rows: r.points };
      },
    },
  };
}
