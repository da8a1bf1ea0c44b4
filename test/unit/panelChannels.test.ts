/**
 * Every webview channel validates what its webview posts, as the Attention panel does: the
 * Efficiency panel's settings and measure messages reach the runtime only well-formed and in
 * range (a measurement of 12,000 tokens would take gigabytes), and the Compare panel accepts
 * nothing but `ready`. Malformed messages are dropped before any work.
 *
 * The hosts are the real ones (extension/panelHost.ts running the channels of
 * extension/panelChannels.ts) on a fake webview object: VS Code cannot be loaded in mocha, so
 * the channels take the webview, the log and the runtime as arguments.
 */
import assert from 'node:assert/strict';
import type { RequestType } from 'vscode-languageserver-protocol';
import { attentionChannel, mechanismsChannel, efficiencyChannel, servingChannel, type AttentionActions, type RuntimeRequests } from '../../extension/panelChannels';
import { PanelHost, type ChannelSpec, type PanelLog, type WebviewPort } from '../../extension/panelHost';
import type { Message } from '../../common/messageKernel';
import { parseCompareMessage } from '../../protocol/mechanismsWebview';
import { EstimateSweepRequest, HardwareProfilesRequest, MeasureEfficiencyRequest } from '../../protocol/efficiency';
import { MAX_MEASURE_SEQ, parseEfficiencyMessage } from '../../protocol/efficiencyWebview';
import type { HostToWebview } from '../../protocol/webview';

const SETTINGS = { batch: 1, dtype: 'fp16', hardware: 'h100-sxm', decode: false, tableSeq: 8192 };

describe('Efficiency and Compare panel messages', () => {
  it('Efficiency: the messages its webview sends pass as they are', () => {
    for (const m of [{ type: 'ready' }, { type: 'settings', settings: SETTINGS }, { type: 'settings', settings: { ...SETTINGS, hardware: 'local', decode: true } }, { type: 'measure', seqs: [128, 256, 512] }]) {
      assert.deepEqual(parseEfficiencyMessage(m), m);
    }
  });

  it('Efficiency: out-of-range or malformed settings are dropped, by field', () => {
    const bad: [string, unknown][] = [
      ['batch 0', { ...SETTINGS, batch: 0 }],
      ['batch 1.5', { ...SETTINGS, batch: 1.5 }],
      ['batch "1"', { ...SETTINGS, batch: '1' }],
      ['tableSeq 1e300', { ...SETTINGS, tableSeq: 1e300 }],
      ['tableSeq NaN', { ...SETTINGS, tableSeq: Number.NaN }],
      ['dtype __proto__', { ...SETTINGS, dtype: '__proto__' }],
      ['dtype int8', { ...SETTINGS, dtype: 'int8' }],
      ['hardware path', { ...SETTINGS, hardware: '../../etc/passwd' }],
      ['hardware empty', { ...SETTINGS, hardware: '' }],
      ['decode "yes"', { ...SETTINGS, decode: 'yes' }],
      ['settings array', [SETTINGS]],
      ['settings null', null],
    ];
    for (const [what, settings] of bad) assert.equal(parseEfficiencyMessage({ type: 'settings', settings }), undefined, what);
  });

  it('Efficiency: extra fields do not travel on (a config path smuggled into settings is dropped)', () => {
    const out = parseEfficiencyMessage({ type: 'settings', settings: { ...SETTINGS, configPath: '/etc/passwd' }, configPath: '/etc/passwd' });
    assert.deepEqual(out, { type: 'settings', settings: SETTINGS });
  });

  it(`Efficiency: measure lengths are whole numbers from 1 to ${MAX_MEASURE_SEQ}, at most 8 of them`, () => {
    assert.deepEqual(parseEfficiencyMessage({ type: 'measure', seqs: [MAX_MEASURE_SEQ] }), { type: 'measure', seqs: [MAX_MEASURE_SEQ] });
    // eslint-disable-next-line no-sparse-arrays
    for (const seqs of [[128, , 256], [12000], [MAX_MEASURE_SEQ + 1], [1e8], [0], [-1], [1.5], ['128'], [], Array.from({ length: 9 }, () => 128), 'x', null, { 0: 128, length: 1 }]) {
      assert.equal(parseEfficiencyMessage({ type: 'measure', seqs }), undefined, JSON.stringify(seqs));
    }
  });

  it('Efficiency and Compare: unknown types, prototype keys and non-objects are dropped', () => {
    for (const m of [undefined, null, 0, 'ready', [], { type: 'x' }, { type: '__proto__' }, { type: 'constructor' }, JSON.parse('{"__proto__": {"type": "ready"}}'), { type: 'inspect', text: 'hi' }]) {
      assert.equal(parseEfficiencyMessage(m), undefined, JSON.stringify(m));
      assert.equal(parseCompareMessage(m), undefined, JSON.stringify(m));
    }
    assert.deepEqual(parseCompareMessage({ type: 'ready', extra: 1 }), { type: 'ready' });
    assert.equal(parseCompareMessage({ type: 'settings', settings: SETTINGS }), undefined);
  });
});

/** A vscode.Webview as far as a host uses it: what the host posts is recorded. */
class FakeWebview implements WebviewPort {
  readonly posted: unknown[] = [];
  private listener: ((m: unknown) => unknown) | undefined;
  postMessage(m: unknown): Promise<boolean> {
    this.posted.push(m);
    return Promise.resolve(true);
  }
  onDidReceiveMessage(listener: (m: unknown) => unknown) {
    this.listener = listener;
    return { dispose: () => (this.listener = undefined) };
  }
  /** The page posts `m`; resolves when the host has handled it. */
  async send(m: unknown): Promise<void> {
    await this.listener?.(m);
  }
  types(): string[] {
    return this.posted.map((m) => (m as Message).type);
  }
}

class FakeLog implements PanelLog {
  readonly lines: string[] = [];
  warn(line: string): void {
    this.lines.push(`warn ${line}`);
  }
  failed(context: string, e: unknown): string {
    const line = String(e instanceof Error ? e.message : e).split('\n')[0];
    this.lines.push(`error ${context}: ${line}`);
    return line;
  }
}

/** Records every runtime request; answers from a table by method. */
function fakeRuntime(answers: Record<string, (params: unknown) => unknown>): RuntimeRequests & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    request: async <P, R>(type: RequestType<P, R, void>, params: P) => {
      calls.push(type.method);
      const a = answers[type.method];
      if (!a) throw new Error(`no answer for ${type.method}`);
      return a(params) as R;
    },
  };
}

const PROFILES = [{ id: 'a100-80gb', name: 'A100 80GB' }, { id: 'h100-sxm', name: 'H100 SXM' }];
const PROBE = { modelName: 'llama', maxPositions: 2048, dtype: 'bf16', curves: {} };
function efficiencyRuntime() {
  return fakeRuntime({
    [HardwareProfilesRequest.method]: () => PROFILES,
    [EstimateSweepRequest.method]: (p) => ({ ...PROBE, curves: { asked: p } }),
    [MeasureEfficiencyRequest.method]: (p) => {
      throw new Error(`out of memory at ${(p as { seqs: number[] }).seqs.join(',')}\nstack line`);
    },
  });
}

function attentionActions(calls: string[]): AttentionActions {
  const rec = (what: string) => () => void calls.push(what);
  return {
    init: () => ({ type: 'init', state: { text: 'kept' }, theme: 'dark' }),
    replay: () => [{ type: 'captureDone', captureId: 'c1', executionProvider: 'cpu', totalMs: 1, cancelled: false }],
    knows: (id) => id === 'c1',
    tile: async (p) => {
      calls.push('tile');
      if (p.layer === 9) throw new Error('layer 9 is not in this model\nat runtime');
      return { rows: p.q1 - p.q0, cols: p.k1 - p.k0, data: 'AAAA' };
    },
    internals: async () => {
      calls.push('internals');
      return { type: 'error', message: 'unused' };
    },
    selectHead: rec('selectHead'),
    inspect: rec('inspect'),
    export: async () => void calls.push('export'),
    log: rec('log'),
  };
}

const MALFORMED: unknown[] = [
  undefined, null, 7, 'ready', [], { type: 'x' }, { type: '__proto__' }, { type: 'constructor' },
  { type: 'settings', settings: { ...SETTINGS, batch: 0 } }, { type: 'measure', seqs: [12000] },
  { type: 'requestTile', requestId: 1, captureId: '../c1', layer: 0, head: 0, q0: 0, q1: 1, k0: 0, k1: 1 },
  { type: 'inspect', text: '' }, { type: 'selectHead', layer: -1, head: 0 }, { type: 'export', format: 'png', name: '../../x.png', data: '' },
];

describe('panel hosts on the message kernel (fake webview)', () => {
  function hosts(): { name: string; webview: FakeWebview; log: FakeLog; calls: () => number }[] {
    const out: { name: string; webview: FakeWebview; log: FakeLog; calls: () => number }[] = [];
    const attentionCalls: string[] = [];
    const runtime = efficiencyRuntime();
    const specs: [ChannelSpec<Message, Message>, () => number][] = [
      [attentionChannel(attentionActions(attentionCalls)) as unknown as ChannelSpec<Message, Message>, () => attentionCalls.length],
      [mechanismsChannel() as unknown as ChannelSpec<Message, Message>, () => 0],
      [efficiencyChannel(runtime, '/models/llama/config.json') as unknown as ChannelSpec<Message, Message>, () => runtime.calls.length],
      [servingChannel() as unknown as ChannelSpec<Message, Message>, () => 0],
    ];
    for (const [spec, calls] of specs) {
      const webview = new FakeWebview();
      const log = new FakeLog();
      new PanelHost(webview, spec, log);
      out.push({ name: spec.name, webview, log, calls });
    }
    return out;
  }

  it('Attention, Compare, Efficiency and KV-cache hosts reject malformed messages: one log line each, no work, nothing posted', async () => {
    for (const h of hosts()) {
      for (const m of MALFORMED) await h.webview.send(m);
      assert.equal(h.log.lines.length, MALFORMED.length, `${h.name}: ${h.log.lines.join(' | ')}`);
      for (const line of h.log.lines) assert.match(line, new RegExp(`^warn ${h.name}: rejected a message from the webview: (not a message object|unknown message type|malformed) [^\n]*$`));
      assert.equal(h.calls(), 0, `${h.name}: no handler ran`);
      assert.deepEqual(h.webview.posted, [], `${h.name}: nothing posted`);
    }
  });

  it('the reasons say what was wrong: the Efficiency panel names the malformed type, the Compare panel any type but ready as unknown', async () => {
    const [, compare, efficiency] = hosts();
    await efficiency.webview.send({ type: 'measure', seqs: [MAX_MEASURE_SEQ + 1] });
    await compare.webview.send({ type: 'measure', seqs: [128] });
    assert.deepEqual(efficiency.log.lines, ['warn Efficiency panel: rejected a message from the webview: malformed "measure" message']);
    assert.deepEqual(compare.log.lines, ['warn Compare panel: rejected a message from the webview: unknown message type "measure"']);
  });

  it('Compare: every message posted before ready is replayed in order after it (not only the latest)', async () => {
    const webview = new FakeWebview();
    const host = new PanelHost(webview, mechanismsChannel(), new FakeLog());
    host.post({ type: 'busy', title: 't', message: 'running 3 variants…' });
    host.post({ type: 'error', message: 'cancelled' });
    assert.deepEqual(webview.posted, []);
    await webview.send({ type: 'ready' });
    assert.deepEqual(webview.types(), ['busy', 'error']);
    host.post({ type: 'busy', title: 't', message: 'again' });
    assert.deepEqual(webview.types(), ['busy', 'error', 'busy']);
  });

  it('Efficiency: ready is answered with the initial settings from the runtime, then what was queued; a failing request is one log line and one error message', async () => {
    const webview = new FakeWebview();
    const log = new FakeLog();
    const runtime = efficiencyRuntime();
    const host = new PanelHost(webview, efficiencyChannel(runtime, '/models/llama/config.json'), log);
    host.post({ type: 'busy', message: 'queued before ready' });
    await webview.send({ type: 'ready' });
    assert.deepEqual(webview.posted[0], {
      type: 'init', modelName: 'llama', maxPositions: 2048,
      hardware: [...PROFILES, { id: 'local', name: 'This machine (measured)' }],
      settings: { batch: 1, dtype: 'bf16', hardware: PROFILES[0].id, decode: false, tableSeq: 2048 },
    });
    assert.deepEqual(webview.posted[1], { type: 'busy', message: 'queued before ready' });
    await webview.send({ type: 'settings', settings: SETTINGS });
    // The estimate asked for is the config's, at the settings the page sent, and nothing more.
    assert.deepEqual(webview.posted[2], { type: 'curves', settings: SETTINGS, curves: { asked: { configPath: '/models/llama/config.json', ...SETTINGS } } });
    await webview.send({ type: 'measure', seqs: [128, 256] });
    assert.deepEqual(webview.posted[3], { type: 'error', message: 'out of memory at 128,256' });
    assert.deepEqual(log.lines, ['error Efficiency panel: measure: out of memory at 128,256']);
  });

  it('Attention: tiles are requests answered under their id; an unknown capture or a runtime failure is that request\'s error', async () => {
    const webview = new FakeWebview();
    const log = new FakeLog();
    const calls: string[] = [];
    const host = new PanelHost(webview, attentionChannel(attentionActions(calls)), log);
    host.post({ type: 'selectHead', layer: 1, head: 2 });
    await webview.send({ type: 'ready' });
    // The initial state first, then what was queued.
    assert.deepEqual(webview.types(), ['init', 'selectHead']);
    const tile = { type: 'requestTile', captureId: 'c1', layer: 0, head: 0, q0: 2, q1: 6, k0: 0, k1: 3 };
    await webview.send({ ...tile, requestId: 41 });
    await webview.send({ ...tile, requestId: 42, captureId: 'c2' });
    await webview.send({ ...tile, requestId: 43, layer: 9 });
    const replies = webview.posted.slice(2) as HostToWebview[];
    assert.deepEqual(replies, [
      { type: 'tile', requestId: 41, rows: 4, cols: 3, data: 'AAAA' },
      { type: 'error', requestId: 42, message: 'capture c2 was not shown in this panel; inspect the text again' },
      { type: 'error', requestId: 43, message: 'layer 9 is not in this model' },
    ]);
    assert.deepEqual(log.lines, ['error Attention panel: requestTile: layer 9 is not in this model']);
    // A page that reloads (a second ready) gets the initial state and the last capture again.
    await webview.send({ type: 'ready' });
    assert.deepEqual(webview.types().slice(5), ['init', 'captureDone']);
  });
});
