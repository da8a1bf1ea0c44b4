/**
 * The host's relay from runtime notifications to panel messages: order (captureStarted, layers,
 * captureDone), layers held until the tokens are known, other captures ignored, replay kept.
 */
import assert from 'node:assert/strict';
import { CaptureRelay } from '../../extension/captureRelay';
import type { CaptureSummary, LayerInfo, LayerNotification } from '../../protocol/runtime';
import type { HostToWebview } from '../../protocol/webview';

const layers: LayerInfo[] = [0, 1].map((index) => ({ index, kind: 'self', heads: 2, source: `softmax_${index}` }));
const layer = (captureId: string, i: number): LayerNotification.Params => ({ captureId, layer: i, kind: 'self', heads: 2, queries: 3, keys: 3, pool: 1, data: `data${i}` });
const summary = (captureId: string, cancelled = false): CaptureSummary => ({
  captureId, modelId: 'm', tokens: ['a', 'b', 'c'], ids: [5, 6, 7], layers, executionProvider: 'cpu', providerNotes: [],
  timings: { loadMs: 1, tokenizeMs: 1, runMs: 1, totalMs: 12.5 }, cancelled, peakRssBytes: 0,
});

describe('capture relay (host -> panel)', () => {
  it('posts captureStarted with token ids, then layers as they come, then captureDone', () => {
    const posted: HostToWebview[] = [];
    const relay = new CaptureRelay((m) => posted.push(m));
    relay.begin('c1', 'tiny');
    relay.started({ captureId: 'c1', modelId: 'm', tokens: ['a', 'b', 'c'], ids: [5, 6, 7], layers });
    relay.layer(layer('c1', 0));
    relay.layer(layer('other', 0));
    relay.layer(layer('c1', 1));
    relay.finish(summary('c1'));
    assert.deepEqual(posted.map((m) => m.type), ['captureStarted', 'layer', 'layer', 'captureDone']);
    const started = posted[0] as Extract<HostToWebview, { type: 'captureStarted' }>;
    assert.deepEqual(started.tokens, [{ text: 'a', id: 5 }, { text: 'b', id: 6 }, { text: 'c', id: 7 }]);
    assert.deepEqual(started.layers, [{ index: 0, kind: 'self', heads: 2 }, { index: 1, kind: 'self', heads: 2 }]);
    assert.deepEqual(posted.slice(1, 3).map((m) => (m as { data: string }).data), ['data0', 'data1']);
    assert.deepEqual(posted[3], { type: 'captureDone', captureId: 'c1', executionProvider: 'cpu', totalMs: 12.5, cancelled: false });
    assert.deepEqual(relay.replay, posted);
    assert.ok(relay.knows('c1') && !relay.knows('other'));
  });

  it('holds layers that arrive before the tokens and releases them behind a captureStarted from the summary', () => {
    const posted: HostToWebview[] = [];
    const relay = new CaptureRelay((m) => posted.push(m));
    relay.begin('c2', 'tiny');
    relay.layer(layer('c2', 0));
    assert.equal(posted.length, 0);
    relay.finish(summary('c2', true));
    assert.deepEqual(posted.map((m) => m.type), ['captureStarted', 'layer', 'captureDone']);
    assert.equal((posted[2] as { cancelled: boolean }).cancelled, true);
    relay.layer(layer('c2', 1));
    assert.equal(posted.length, 3, 'nothing after captureDone');
  });

  it('passes the runtime\'s warnings about the input on to the panel with captureStarted', () => {
    const posted: HostToWebview[] = [];
    const relay = new CaptureRelay((m) => posted.push(m));
    relay.begin('c5', 'tiny');
    const warnings = ['2 of 3 tokens are unknown to the tokenizer ([UNK]): …'];
    relay.started({ captureId: 'c5', modelId: 'm', tokens: ['a', 'b', 'c'], ids: [5, 1, 1], layers, warnings });
    assert.deepEqual((posted[0] as Extract<HostToWebview, { type: 'captureStarted' }>).warnings, warnings);
    relay.begin('c6', 'tiny');
    relay.started({ captureId: 'c6', modelId: 'm', tokens: ['a'], ids: [5], layers });
    assert.equal('warnings' in posted[1], false);
  });

  it('a new capture replaces the replay; a failure posts one error', () => {
    const posted: HostToWebview[] = [];
    const relay = new CaptureRelay((m) => posted.push(m));
    relay.begin('c3', 'tiny');
    relay.finish(summary('c3'));
    relay.begin('c4', 'tiny');
    assert.equal(relay.replay.length, 0);
    relay.fail('model m is not open');
    assert.deepEqual(posted.at(-1), { type: 'error', message: 'model m is not open' });
    relay.finish(summary('c4'));
    assert.equal(posted.at(-1)!.type, 'error', 'a failed capture ignores a late summary');
  });

  // The values of the encoder-decoder capture in encoderDecoder.test.ts: source ids [3, 7, 1, 12, 5],
  // target ids [9, 2, 15] (no tokenizer, so tokens are the ids as text); layers encoder self
  // 5x5, decoder self 3x3, cross 3x5 (target queries over source keys).
  const SRC = [3, 7, 1, 12, 5];
  const TGT = [9, 2, 15];
  const encDecLayers: LayerInfo[] = [
    { index: 0, kind: 'self', heads: 2, source: 'enc' },
    { index: 1, kind: 'self', heads: 2, source: 'dec' },
    { index: 2, kind: 'cross', heads: 2, source: 'cross' },
  ];
  const tokenInfo = (ids: number[]) => ids.map((id) => ({ text: String(id), id }));

  it('encoder-decoder: the target becomes the panel tokens and the source the cross layers\' keys', () => {
    const posted: HostToWebview[] = [];
    const relay = new CaptureRelay((m) => posted.push(m));
    relay.begin('e1', 'enc-dec');
    relay.started({ captureId: 'e1', modelId: 'm', tokens: SRC.map(String), ids: SRC, layers: encDecLayers, targetTokens: TGT.map(String), targetIds: TGT });
    const started = posted[0] as Extract<HostToWebview, { type: 'captureStarted' }>;
    assert.deepEqual(started.tokens, tokenInfo(TGT));
    assert.deepEqual(started.sourceTokens, tokenInfo(SRC));
    // A cross layer's map is [heads, queries = tokens, keys = sourceTokens].
    const cross = started.layers.find((l) => l.kind === 'cross')!;
    assert.equal(cross.index, 2);
    assert.deepEqual([started.tokens.length, started.sourceTokens!.length], [3, 5]);
  });

  it('encoder-decoder: a captureStarted built from the summary carries the target too; decoder-only has no sourceTokens', () => {
    const posted: HostToWebview[] = [];
    const relay = new CaptureRelay((m) => posted.push(m));
    relay.begin('e2', 'enc-dec');
    relay.finish({ ...summary('e2'), tokens: SRC.map(String), ids: SRC, layers: encDecLayers, targetTokens: TGT.map(String), targetIds: TGT });
    const started = posted[0] as Extract<HostToWebview, { type: 'captureStarted' }>;
    assert.deepEqual(started.tokens, tokenInfo(TGT));
    assert.deepEqual(started.sourceTokens, tokenInfo(SRC));
    relay.begin('e3', 'tiny');
    relay.finish(summary('e3'));
    assert.equal('sourceTokens' in (posted[2] as object), false);
  });
});
