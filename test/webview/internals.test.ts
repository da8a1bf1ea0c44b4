/**
 * "Inside the head" in headless Chromium, fed real data: the capture of a grouped-query Llama
 * checkpoint with rotary positions (random weights, a word-level tokenizer.json) through
 * server/report/captureMessages.ts, and the runtime's own internals and ablation for the same
 * ids (server/internals), answered to the requests the panel posts. Checks that hovering a
 * point of the query–key scatter names its token, that clicking a query shows exactly the
 * captured map's row, that the neuron view's softmax is that row, that value-weighted maps
 * reach the head heatmap, and that the ablation table opens the head it lists first.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import type { InternalsToHost, LayerInternalsData } from '../../protocol/internals';
import type { HostToWebview, WebviewToHost } from '../../protocol/webview';
import { openModel } from '../../server/capture/openModel';
import type { LayerMap } from '../../server/capture/types';
import { ablateHeads } from '../../server/internals/ablation';
import { headInternals, openInternalsSession } from '../../server/internals/headInternals';
import { openInternalsGraph } from '../../server/internals/internalsGraph';
import { toWire } from '../../server/lsp/internalsHandler';
import { captureMessages } from '../../server/report/captureMessages';
import { parseWebviewMessage } from '../../protocol/webview';
import { launchChromium } from '../helpers/chromium';
import { llamaFixture } from '../helpers/hfFixtures';
import { writeHfFolder } from '../helpers/writeCheckpoint';
import { openPanelPage, type PanelPage } from '../helpers/panelPage';
import { repoRoot } from '../helpers/webviewBundle';

const TEXT = 'the old king saw a little black cat by the river and the cat saw the king';
const WORDS = ['[UNK]', ...new Set(TEXT.split(' '))];
const shots = join(repoRoot, 'out', 'screenshots');

type Plot = HTMLElement & { data: { x: number[]; y: number[]; text: string[]; z?: number[][] }[]; _fullLayout: Record<string, { l2p(v: number): number; _offset: number }> };

describe('Inside the head: query–key scatter, neuron view, value-weighted maps, ablation (headless Chromium)', function () {
  this.timeout(120_000);
  let browser: Browser;
  let messages: HostToWebview[];
  let maps: LayerMap[];
  let tokens: string[];
  let wire: LayerInternalsData[];
  let p: PanelPage;
  let dir: string;

  before(async () => {
    mkdirSync(shots, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'internals-view-'));
    const { config, tensors } = llamaFixture({ heads: 4, kvHeads: 2, layers: 3 });
    writeHfFolder(dir, config, tensors, {});
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify({
      version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer: null, pre_tokenizer: { type: 'Whitespace' }, post_processor: null, decoder: null,
      model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(WORDS.map((w, i) => [w, i])) },
    }));
    const model = await openModel(dir, { executionProvider: 'cpu' });
    try {
      ({ messages, maps } = await captureMessages(model, { text: TEXT }, 'cap1'));
    } finally {
      await model.dispose();
    }
    const started = messages[0] as Extract<HostToWebview, { type: 'captureStarted' }>;
    tokens = started.tokens.map((t) => t.text);
    const g = await openInternalsGraph(dir);
    const run = await headInternals(g, started.tokens.map((t) => t.id), maps.map((_, l) => l), 'cpu');
    wire = run.layers.map((x) => toWire(x, true));
    browser = await launchChromium();
    p = await openPanelPage(browser);
    await p.post([{ type: 'init', state: { text: TEXT, selected: { layer: 1, head: 1 } }, theme: 'dark' }, ...messages]);
  });
  after(async () => {
    await p?.close();
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Waits for the panel's next internals request and checks the host would accept it. */
  async function nextRequest<T extends InternalsToHost['type']>(type: T, after: number): Promise<Extract<InternalsToHost, { type: T }>> {
    await p.page.waitForFunction(([t, n]) => (window as unknown as { __posted: { type: string }[] }).__posted.slice(n as number).some((m) => m.type === t), [type, after] as const);
    const msg = (await p.posted()).slice(after).find((m) => m.type === type) as Extract<InternalsToHost, { type: T }>;
    assert.deepEqual(parseWebviewMessage(msg), msg as WebviewToHost);
    return msg;
  }

  it('hovering a scatter point names its token; clicking a query shows the captured map row', async () => {
    const before = (await p.posted()).length;
    await p.page.click('.internals-details > summary');
    const req = await nextRequest('requestInternals', before);
    assert.equal(req.captureId, 'cap1');
    assert.deepEqual(req.layers, [1]);
    assert.equal(req.qk, true);
    await p.post([{ type: 'internals', requestId: req.requestId, layers: [wire[1]] }]);
    await p.page.waitForFunction(() => (document.querySelector('.qk-scatter') as HTMLElement | null)?.dataset.points !== undefined);
    const n = tokens.length;
    assert.equal(await p.page.$eval('.qk-scatter', (e) => (e as HTMLElement).dataset.points), String(2 * n));

    // The query point farthest from every other point in pixels, so the hover cannot pick a neighbour.
    await p.page.locator('.qk-area').scrollIntoViewIfNeeded();
    // A string, not a function: the test transpiler would add helpers the page does not have.
    const pos = (await p.page.evaluate(`(() => {
      const gd = document.querySelector('.qk-scatter');
      const box = gd.getBoundingClientRect();
      const fl = gd._fullLayout;
      const px = (t) => gd.data[t].x.map((x, i) => [box.left + fl.xaxis._offset + fl.xaxis.l2p(x), box.top + fl.yaxis._offset + fl.yaxis.l2p(gd.data[t].y[i])]);
      const all = px(0).concat(px(1));
      let best = { i: 0, gap: -1 };
      px(0).forEach(([x, y], i) => {
        const gap = Math.min(...all.filter((_, j) => j !== i).map(([a, b]) => Math.hypot(a - x, b - y)));
        if (gap > best.gap) best = { i, gap };
      });
      return { i: best.i, xy: px(0)[best.i], token: gd.data[0].text[best.i], gap: best.gap };
    })()`)) as { i: number; xy: [number, number]; token: string; gap: number };
    assert.ok(pos.gap > 4, `points are ${pos.gap}px apart`);
    assert.equal(pos.token, tokens[pos.i], 'query points are in text order');
    await p.page.mouse.move(pos.xy[0], pos.xy[1]);
    await p.page.waitForSelector('.qk-scatter .hoverlayer .hovertext');
    // Plotly writes the main line (the token) in .nums and the trace's extra in .name.
    const hover = await p.page.$eval('.qk-scatter .hoverlayer .hovertext', (e) => [e.querySelector('.nums')?.textContent ?? '', e.querySelector('.name')?.textContent ?? '']);
    assert.equal(hover[0], tokens[pos.i], `hover "${hover[0]}" names the token`);
    assert.equal(hover[1], `query · position ${pos.i} · head 1`);

    await p.page.mouse.click(pos.xy[0], pos.xy[1]);
    await p.page.waitForFunction(() => (document.querySelector('.qk-row') as HTMLElement | null)?.dataset.point);
    const row = await p.page.$eval('.qk-row', (e) => (e as Plot).data[0].y);
    const m = maps[1];
    const want = Array.from({ length: n }, (_, k) => m.data[(1 * m.queries + pos.i) * m.keys + k]);
    assert.deepEqual(row, want, 'the click row is the captured map row of head 1');
    await p.page.locator('.qk-area').screenshot({ path: join(shots, 'query-key.png') });
  });

  it('a corpus goes into one embedding, and a click on a query of its second text shows that text’s map row', async () => {
    const texts = ['the cat saw a river', 'a little black king saw the old cat by the river'];
    const before = (await p.posted()).length;
    await p.page.click('.corpus-button');
    const req = await nextRequest('requestCorpus', before);
    assert.deepEqual([req.layer, req.heads], [1, [1]]);
    // Answered as the runtime answers attention/internalsCorpus, and captured as the panel would be.
    const g = await openInternalsGraph(dir);
    const s = await openInternalsSession(g, [1], 'cpu', { norms: false });
    const model = await openModel(dir, { executionProvider: 'cpu' });
    const reply: { tokens: string[]; data: LayerInternalsData }[] = [];
    const corpusMaps: LayerMap[] = [];
    try {
      for (const text of texts) {
        const { ids, tokens: t } = await g.resolve({ text });
        reply.push({ tokens: t, data: toWire((await s.run(ids))[0], true, [1]) });
        corpusMaps.push((await captureMessages(model, { text }, 'corpus')).maps[1]);
      }
    } finally {
      await s.release();
      await model.dispose();
    }
    await p.post([{ type: 'corpus', requestId: req.requestId, name: 'two.txt', texts: reply }]);
    const total = reply.reduce((a, t) => a + t.tokens.length, 0);
    await p.page.waitForFunction((n) => (document.querySelector('.qk-scatter') as HTMLElement).dataset.points === String(n), 2 * total);
    // The last query point is the last token of the second text.
    await p.page.evaluate(`document.querySelector('.qk-scatter').emit('plotly_click', { points: [{ curveNumber: 0, pointIndex: ${total - 1} }] })`);
    // Points run text by text, queries then keys: the last query of text 2 is point 2·n₁ + n₂ − 1.
    const point = 2 * reply[0].tokens.length + reply[1].tokens.length - 1;
    await p.page.waitForFunction((i) => (document.querySelector('.qk-row') as HTMLElement).dataset.point === String(i), point);
    const row = await p.page.$eval('.qk-row', (e) => (e as Plot).data[0].y);
    const m = corpusMaps[1];
    const q = m.queries - 1;
    assert.equal(row.length, m.keys);
    row.forEach((v, k) => assert.ok(Math.abs(v - m.data[(1 * m.queries + q) * m.keys + k]) < 1e-5, `key ${k}: ${v}`));
  });

  it('the neuron view’s softmax is the map row of the selected query', async () => {
    await p.page.waitForFunction(() => ((document.querySelector('.neuron-scores') as Plot | null)?.data?.length ?? 0) === 2);
    const soft = await p.page.$eval('.neuron-scores', (e) => (e as Plot).data[1].y);
    const m = maps[1];
    const q = tokens.length - 1;
    soft.forEach((v, k) => assert.ok(Math.abs(v - m.data[(1 * m.queries + q) * m.keys + k]) < 1e-5, `key ${k}: ${v}`));
    const prod = await p.page.$eval('.neuron-vectors', (e) => (e as Plot).data[2].z!);
    // Column sums of q ⊙ k times the scale are the scores the bars show.
    const scores = await p.page.$eval('.neuron-scores', (e) => (e as Plot).data[0].y);
    scores.forEach((s, k) => assert.ok(Math.abs(prod.reduce((a, r) => a + (r[k] ?? 0), 0) * wire[1].scale - s) < 1e-4));
    await p.page.locator('.internals-details').screenshot({ path: join(shots, 'internals.png') });
  });

  it('value-weighted maps replace the raw maps in the head heatmap, row-normalised ‖α·f(x)‖', async () => {
    const before = (await p.posted()).length;
    await p.page.check('.value-weighted-toggle');
    const req = await nextRequest('requestInternals', before);
    assert.equal(req.qk, false);
    assert.deepEqual(req.layers, [0, 2]);
    await p.post([{ type: 'internals', requestId: req.requestId, layers: [0, 2].map((l) => ({ ...wire[l], q: undefined, k: undefined })) }]);
    const m = maps[1];
    const n = tokens.length;
    const norms = Buffer.from(wire[1].valueNorms!, 'base64');
    const norm = (h: number, k: number) => norms.readFloatLE((h * n + k) * 4);
    await p.page.waitForFunction(() => document.querySelector('.internals-status')?.textContent === '');
    const z = await p.page.$eval('.head-heatmap', (e) => (e as Plot).data[0].z!);
    for (let q = 0; q < n; q++) {
      const raw = Array.from({ length: n }, (_, k) => m.data[(1 * n + q) * n + k] * norm(1, k));
      const s = raw.reduce((a, b) => a + b, 0);
      raw.forEach((v, k) => assert.ok(Math.abs(z[q][k] - v / s) < 1e-5, `row ${q} key ${k}: ${z[q][k]} vs ${v / s}`));
    }
    await p.page.waitForFunction(() => ((document.querySelector('.mixing-plot') as Plot | null)?.data?.length ?? 0) === 1);
    await p.page.locator('.views').screenshot({ path: join(shots, 'value-weighted.png') });
    await p.page.locator('.mixing-plot').screenshot({ path: join(shots, 'mixing-ratio.png') });
    await p.page.uncheck('.value-weighted-toggle');
    const back = await p.page.$eval('.head-heatmap', (e) => (e as Plot).data[0].z!);
    assert.ok(Math.abs(back[n - 1][0] - m.data[(1 * n + n - 1) * n]) < 1e-6, 'raw maps come back');
  });

  it('the ablation table lists the largest effect first and opens that head', async () => {
    const before = (await p.posted()).length;
    await p.page.click('.ablate-button');
    const req = await nextRequest('requestAblation', before);
    const g = await openInternalsGraph(dir);
    const started = messages[0] as Extract<HostToWebview, { type: 'captureStarted' }>;
    const r = await ablateHeads(g, started.tokens.map((t) => t.id), 'cpu');
    await p.post([{ type: 'ablation', requestId: req.requestId, result: { metric: r.metric, position: r.position, layers: r.layers, target: r.target, notes: r.notes } }]);
    await p.page.waitForSelector('.ablation-table tbody tr');
    let best = { l: 0, h: 0, v: -1 };
    r.layers.forEach((row, l) => row.forEach((v, h) => v > best.v && (best = { l, h, v })));
    const first = await p.page.$eval('.ablation-table tbody tr', (e) => [(e as HTMLElement).dataset.layer, (e as HTMLElement).dataset.head]);
    assert.deepEqual(first, [String(best.l), String(best.h)]);
    const n = (await p.posted()).length;
    await p.page.click('.ablation-table tbody tr .head-link');
    const sel = (await p.posted()).slice(n).find((m) => m.type === 'selectHead');
    assert.deepEqual(sel, { type: 'selectHead', layer: best.l, head: best.h });
    await p.page.locator('.ablation-plot').screenshot({ path: join(shots, 'ablation.png') });
    assert.deepEqual(p.problems, []);
    assert.deepEqual(p.refused, []);
  });
});
