/**
 * The head view, the model view and the "attended by" hover in headless Chromium, fed the real
 * output of the capture engine on samples/tiny-gpt. Every drawn line is checked against the
 * captured weights: its head's colour, its endpoints on its tokens' labels, its opacity.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import type { HostToWebview } from '../../protocol/webview';
import { openModel } from '../../server/capture/openModel';
import type { LayerMap, OpenedModel } from '../../server/capture/types';
import { captureMessages } from '../../server/report/captureMessages';
import { HEAD_COLORS } from '../../webview/views/headLines';
import { launchChromium } from '../helpers/chromium';
import { closeChecked, openPanelPage, type PanelPage } from '../helpers/panelPage';
import { mapWeight } from '../helpers/capturedRun';
import { repoRoot } from '../helpers/webviewBundle';

const TEXT = 'the cat sat on the mat . the cat ran .';

interface Run {
  messages: HostToWebview[];
  maps: LayerMap[];
  tokens: string[];
}

interface DrawnLine {
  head: number;
  query: number;
  key: number;
  weight: number;
  stroke: string;
  opacity: number;
  y1: number;
  y2: number;
  visible: boolean;
  queryLabelY: number;
  keyLabelY: number;
}

const weight = mapWeight;

async function readLines(p: PanelPage): Promise<DrawnLine[]> {
  return p.page.$$eval('svg.head-view line.hv-line', (els) =>
    els.map((e) => {
      const d = (e as SVGElement).dataset;
      const ql = document.querySelector(`svg.head-view text[data-side="query"][data-index="${d.query}"]`);
      const kl = document.querySelector(`svg.head-view text[data-side="key"][data-index="${d.key}"]`);
      return {
        head: Number(d.head),
        query: Number(d.query),
        key: Number(d.key),
        weight: Number(d.weight),
        stroke: e.getAttribute('stroke') ?? '',
        opacity: Number(e.getAttribute('stroke-opacity')),
        y1: Number(e.getAttribute('y1')),
        y2: Number(e.getAttribute('y2')),
        visible: e.getAttribute('visibility') !== 'hidden',
        // Labels sit on the baseline, 4 px under the row's middle.
        queryLabelY: Number(ql?.getAttribute('y')) - 4,
        keyLabelY: Number(kl?.getAttribute('y')) - 4,
      };
    }),
  );
}

const checkAndClose = (p: PanelPage) => closeChecked(p, { refused: true });

describe('Head view, model view and "attended by" (headless Chromium)', function () {
  this.timeout(120_000);
  let browser: Browser;
  let model: OpenedModel;
  let run: Run;

  async function capture(input: { text?: string; ids?: number[] }, id: string): Promise<Run> {
    const { messages, maps } = await captureMessages(model, input, id);
    const started = messages[0] as Extract<HostToWebview, { type: 'captureStarted' }>;
    return { messages, maps, tokens: started.tokens.map((t) => t.text) };
  }

  async function panel(r: Run): Promise<PanelPage> {
    const p = await openPanelPage(browser);
    await p.post([{ type: 'init', state: { text: TEXT }, theme: 'dark' }, ...r.messages]);
    await p.page.waitForFunction(() => document.querySelectorAll('svg.head-view line.hv-line').length > 0);
    return p;
  }

  before(async () => {
    model = await openModel(join(repoRoot, 'samples', 'tiny-gpt'));
    run = await capture({ text: TEXT }, 'hv');
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await model?.dispose();
  });

  it("draws every token's lines for two heads at once, each in its head's colour, ending on its tokens", async () => {
    const p = await panel(run);
    try {
      const m = run.maps[0];
      const n = m.queries;
      // Head 0 is selected; tick head 2 as well (previous token and self: easy to tell apart).
      await p.page.check('.hv-heads input[data-head="2"]');
      await p.page.fill('.hv-floor', '0.2');
      const lines = await readLines(p);
      const minWeight = 1 / (n * 20);
      for (const head of [0, 2]) {
        const mine = lines.filter((l) => l.head === head);
        const expected: [number, number][] = [];
        for (let q = 0; q < n; q++) for (let k = 0; k < n; k++) if (weight(m, head, q, k) >= minWeight && weight(m, head, q, k) > 0) expected.push([q, k]);
        assert.deepEqual(mine.map((l) => [l.query, l.key]), expected, `head ${head}'s lines`);
        for (const l of mine) {
          assert.equal(l.stroke, HEAD_COLORS[head]);
          assert.equal(l.weight, weight(m, head, l.query, l.key));
          assert.ok(Math.abs(l.opacity - (0.2 + 0.8 * l.weight)) < 1e-4, `opacity ${l.opacity} for weight ${l.weight}`);
          assert.equal(l.y1, l.queryLabelY, 'starts at its query');
          assert.equal(l.y2, l.keyLabelY, 'ends at its key');
        }
      }
      assert.deepEqual([...new Set(lines.map((l) => l.head))], [0, 2]);
      // Head 0 attends to the previous token, head 2 to itself: their strongest lines say so.
      for (let q = 1; q < n; q++) {
        const best = (h: number) => lines.filter((l) => l.head === h && l.query === q).sort((a, b) => b.weight - a.weight)[0];
        assert.equal(best(0).key, q - 1);
        assert.equal(best(2).key, q);
      }
      const legend = (await p.page.textContent('.hv-legend')) ?? '';
      assert.match(legend, /minimum opacity 0\.2, so diffuse heads stay visible/);
    } finally {
      await checkAndClose(p);
    }
  });

  it('hovering a token on either side keeps only its lines', async () => {
    const p = await panel(run);
    try {
      await p.page.check('.hv-heads input[data-head="3"]');
      const m = run.maps[0];
      await p.page.hover('svg.head-view text[data-side="query"][data-index="5"]');
      let lines = await readLines(p);
      const visible = lines.filter((l) => l.visible);
      assert.ok(visible.length > 0 && visible.every((l) => l.query === 5), 'only query 5');
      // Head 3 is uniform over the prefix: query 5 reaches keys 0..5, head 0 only key 4.
      assert.deepEqual(visible.filter((l) => l.head === 3).map((l) => l.key), [0, 1, 2, 3, 4, 5]);
      assert.equal(lines.filter((l) => l.query === 5).length, visible.length);
      await p.page.hover('svg.head-view text[data-side="key"][data-index="2"]');
      lines = await readLines(p);
      const toKey = lines.filter((l) => l.visible);
      assert.ok(toKey.length > 0 && toKey.every((l) => l.key === 2), 'only key 2');
      // Every query from 2 on gives head 3's key 2 the weight 1/(q+1): all of them are drawn.
      const head3 = toKey.filter((l) => l.head === 3).map((l) => l.query);
      assert.deepEqual(head3, Array.from({ length: m.queries - 2 }, (_, i) => i + 2));
      for (const l of toKey) assert.equal(l.weight, weight(m, l.head, l.query, 2));
      await p.page.mouse.move(1, 1);
      assert.ok((await readLines(p)).every((l) => l.visible), 'leaving the drawing shows every line again');
    } finally {
      await checkAndClose(p);
    }
  });

  it('"attended by" paints each token with the weight it gives the hovered token, from the strip and from the heatmap', async () => {
    const p = await panel(run);
    try {
      await p.post([{ type: 'selectHead', layer: 1, head: 0 }]);
      await p.page.waitForFunction(() => document.querySelector('.hv-legend')?.textContent?.startsWith('Layer 1'));
      await p.page.check('.hover-direction input[value="to"]');
      const m = run.maps[1];
      const strip = () => p.page.$$eval('.token-strip .token', (els) => els.map((e) => Number((e as HTMLElement).dataset.weight)));
      for (const k of [0, 3, 7]) {
        await p.page.hover(`.token-strip .token[data-index="${k}"]`);
        const got = await strip();
        assert.deepEqual(got, Array.from({ length: m.queries }, (_, q) => Number(weight(m, 0, q, k).toFixed(4))), `key ${k}`);
      }
      // A heatmap cell (query 9, key 2): the strip shows the column of key 2.
      await p.page.mouse.move(0, 0);
      const [x, y] = await p.page.evaluate(() => {
        type Axis = { _offset: number; l2p(v: number): number };
        const gd = document.querySelector('.head-heatmap') as HTMLElement & { _fullLayout: { xaxis: Axis; yaxis: Axis } };
        const r = gd.getBoundingClientRect();
        return [r.left + gd._fullLayout.xaxis._offset + gd._fullLayout.xaxis.l2p(2), r.top + gd._fullLayout.yaxis._offset + gd._fullLayout.yaxis.l2p(9)];
      });
      await p.page.mouse.move(x, y);
      await p.page.waitForFunction(() => document.querySelector('.token-strip .token.query')?.getAttribute('data-index') === '2');
      assert.deepEqual(await strip(), Array.from({ length: m.queries }, (_, q) => Number(weight(m, 0, q, 2).toFixed(4))));
      // Pointing at a token in the strip outlines its column in the heatmap (its row in "looks from").
      const outline = () =>
        p.page.evaluate(() => {
          const shapes = (document.querySelector('.head-heatmap') as unknown as { layout: { shapes?: { xref: string; yref: string; x0: number; x1: number; y0: number; y1: number }[] } }).layout.shapes ?? [];
          return shapes.map((s) => (s.xref === 'x' ? `column ${s.x0 + 0.5}` : `row ${s.y0 + 0.5}`));
        });
      await p.page.hover('.token-strip .token[data-index="4"]');
      await p.page.waitForFunction(() => ((document.querySelector('.head-heatmap') as unknown as { layout: { shapes?: unknown[] } }).layout.shapes ?? []).length === 1);
      assert.deepEqual(await outline(), ['column 4']);
      // Back to "looks from": the same cell gives query 9's row.
      await p.page.check('.hover-direction input[value="from"]');
      await p.page.mouse.move(0, 0);
      await p.page.mouse.move(x, y);
      await p.page.waitForFunction(() => document.querySelector('.token-strip .token.query')?.getAttribute('data-index') === '9');
      assert.deepEqual(await strip(), Array.from({ length: m.keys }, (_, k) => Number(weight(m, 0, 9, k).toFixed(4))));
      await p.page.hover('.token-strip .token[data-index="6"]');
      await p.page.waitForFunction(() => JSON.stringify(((document.querySelector('.head-heatmap') as unknown as { layout: { shapes?: { y0: number }[] } }).layout.shapes ?? []).map((s) => s.y0)) === '[5.5]');
      assert.deepEqual(await outline(), ['row 6']);
    } finally {
      await checkAndClose(p);
    }
  });

  it('at 512 tokens draws token blocks whose lines carry the block mass, in a scrolling box', async () => {
    const text = readFileSync(join(repoRoot, 'samples', 'texts', 'long.txt'), 'utf8');
    const full = await capture({ text: text.slice(0, 4000) }, 'ids');
    const started = full.messages[0] as Extract<HostToWebview, { type: 'captureStarted' }>;
    assert.ok(started.tokens.length >= 512, `${started.tokens.length} tokens`);
    const long = await capture({ ids: started.tokens.slice(0, 512).map((t) => t.id) }, 'long');
    const p = await panel(long);
    try {
      await p.post([{ type: 'selectHead', layer: 0, head: 3 }]);
      await p.page.waitForFunction(() => document.querySelector('.hv-legend')?.textContent?.includes('heads 3'));
      const m = long.maps[0];
      assert.equal(m.queries, 512);
      const labels = await p.page.$$eval('svg.head-view text[data-side="query"]', (els) => els.length);
      assert.equal(labels, 128, 'blocks of 4 tokens');
      const legend = (await p.page.textContent('.hv-legend')) ?? '';
      assert.match(legend, /blocks of 4/);
      // Block (Q, K) = mean over the block's 4 queries of the weight they give the 4 keys.
      const mass = (Q: number, K: number) => {
        let s = 0;
        for (let q = 4 * Q; q < 4 * Q + 4; q++) for (let k = 4 * K; k < 4 * K + 4; k++) s += weight(m, 3, q, k);
        return s / 4;
      };
      const lines = await readLines(p);
      assert.ok(lines.length > 0);
      for (const l of lines.slice(0, 200)) assert.ok(Math.abs(l.weight - mass(l.query, l.key)) < 1e-6, `block (${l.query}, ${l.key})`);
      // Head 3 is uniform: at most 8 lines a block row (the default past 48 tokens), the heaviest.
      const row100 = lines.filter((l) => l.query === 100);
      assert.equal(row100.length, 8);
      const scroll = await p.page.$eval('.hv-scroll', (e) => ({ client: e.clientHeight, scroll: e.scrollHeight }));
      assert.ok(scroll.scroll > scroll.client, 'the drawing scrolls inside its box');
    } finally {
      await checkAndClose(p);
    }
  });

  it('the model view draws a small line view per layer × head and selects a head on click', async () => {
    const p = await panel(run);
    try {
      await p.page.click('.model-view-section > summary');
      await p.page.waitForFunction(() => document.querySelectorAll('.mv-grid canvas[data-lines]').length === 8);
      const counts = await p.page.$$eval('.mv-grid canvas', (els) => els.map((e) => [Number((e as HTMLElement).dataset.layer), Number((e as HTMLElement).dataset.head), Number((e as HTMLElement).dataset.lines)]));
      const n = run.maps[0].queries;
      for (const [layer, head, lines] of counts) {
        const m = run.maps[layer];
        let expected = 0;
        for (let q = 0; q < n; q++) for (let k = 0; k < n; k++) if (weight(m, head, q, k) >= 1 / (n * 10) && weight(m, head, q, k) > 0) expected++;
        assert.equal(lines, expected, `L${layer} H${head}`);
      }
      await p.page.click('.mv-grid canvas[data-layer="1"][data-head="2"]');
      const posted = await p.posted();
      assert.deepEqual(posted.at(-1), { type: 'selectHead', layer: 1, head: 2 });
      assert.equal(await p.page.getAttribute('.mv-grid canvas.selected', 'data-head'), '2');
    } finally {
      await checkAndClose(p);
    }
  });
});
