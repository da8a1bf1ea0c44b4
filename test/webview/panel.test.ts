/**
 * The Attention panel (dist/webview/panel.js) in headless Chromium under the panel CSP, fed the
 * real output of the capture engine on the sample model samples/tiny-gpt, whose heads are wired
 * by hand (samples/tiny-gpt/README.md): what the canvas, Plotly and the token strip show is
 * checked against colorScale of the captured weights, and the heads against their known roles.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { encodeFloat32 } from '../../protocol/encoding';
import type { HostToWebview, WebviewToHost } from '../../protocol/webview';
import { openModel } from '../../server/capture/openModel';
import type { LayerMap, OpenedModel } from '../../server/capture/types';
import { colorScale } from '../../webview/colorScale';
import { MAX_CELLS } from '../../webview/layerMaps';
import { displayToken } from '../../webview/tokenStrip';
import { launchChromium } from '../helpers/chromium';
import { captureRun, mapWeight, type CapturedRun } from '../helpers/capturedRun';
import { openCapturedPanel, openPanelPage, type PanelPage, violations } from '../helpers/panelPage';
import { repoRoot } from '../helpers/webviewBundle';
import { pixelAt, thumbCellCenter, expectedThumbWeight, heatmapHover, clickThumb, dragZoom } from '../helpers/panelProbe';
import { screenshotPath } from '../helpers/screenshots';

const SHORT = 'The old king saw a little black cat by the river.';

type Run = CapturedRun;

const weight = mapWeight;

describe('Attention panel in headless Chromium', function () {
  this.timeout(120_000);
  let browser: Browser;
  let model: OpenedModel;
  let short: Run;
  let sample: Run;
  let long: Run;

  const run = (text: string, id: string) => captureRun(model, text, id);

  const panel = (runData: Run, initial?: Parameters<typeof openPanelPage>[1]): Promise<PanelPage> => openCapturedPanel(browser, runData.messages, { text: runData.text }, initial);

  before(async () => {
    model = await openModel(join(repoRoot, 'samples', 'tiny-gpt'));
    short = await run(SHORT, 'short');
    sample = await run(readFileSync(join(repoRoot, 'samples', 'texts', 'induction.txt'), 'utf8'), 'sample');
    // About 300 tokens: longer than a thumbnail and than the heatmap's MAX_CELLS.
    long = await run(readFileSync(join(repoRoot, 'samples', 'texts', 'long.txt'), 'utf8').slice(0, 1400), 'long');
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await model?.dispose();
  });

  it('runs the sample model: L0 H0 attends to the previous token, L0 H1 to the first', () => {
    const [l0] = short.maps;
    assert.equal(short.tokens[0], '[BOS]');
    assert.equal(l0.queries, short.tokens.length);
    for (let q = 1; q < l0.queries; q++) {
      assert.ok(weight(l0, 0, q, q - 1) > 0.9, `L0 H0 row ${q} peaks at ${q - 1}`);
      assert.ok(weight(l0, 1, q, 0) > 0.9, `L0 H1 row ${q} peaks at 0`);
    }
  });

  describe('on a short text (one page, one block of pixels per token)', () => {
    let p: PanelPage;
    before(async () => {
      p = await panel(short);
    });
    after(async () => {
      await checkAndClose(p);
    });

    it("posts 'ready' first, then shows the tokens and selects head 0 of layer 0", async () => {
      const posted = await p.posted();
      assert.deepEqual(posted[0], { type: 'ready' });
      const shown = await p.page.$$eval('.token-strip .token', (els) => els.map((e) => e.textContent));
      assert.deepEqual(shown, short.tokens.map(displayToken));
      assert.deepEqual((await p.state())?.selected, { layer: 0, head: 0 });
      assert.equal((await p.state())?.captureId, 'short');
    });

    it('draws every thumbnail cell in colorScale(weight) of the captured maps', async () => {
      const n = short.tokens.length;
      for (const m of short.maps) {
        for (let head = 0; head < m.heads; head++) {
          for (const [q, k] of [[0, 0], [1, 0], [5, 4], [5, 5], [n - 1, n - 2], [n - 1, 0], [3, 9], [n - 1, n - 1]]) {
            const { x, y, exact } = await thumbCellCenter(p.page, m.index, head, q, k, m.queries, m.keys);
            assert.ok(exact, 'short text is drawn one block per token');
            const rgb = await pixelAt(p.page, x, y);
            assert.deepEqual(rgb, colorScale(weight(m, head, q, k)), `L${m.index} H${head} (${q}, ${k})`);
          }
        }
      }
      // The previous-token head's sub-diagonal is the bright end of the scale.
      const { x, y } = await thumbCellCenter(p.page, 0, 0, 6, 5, n, n);
      const [r, g, b] = await pixelAt(p.page, x, y);
      assert.ok(r > 200 && g > 200 && b < 80, `bright yellow, got ${r},${g},${b}`);
    });

    it('hovering a heatmap cell names the query token, the key token and the weight', async () => {
      const m = short.maps[0];
      for (const [q, k] of [[6, 5], [4, 0], [8, 8]]) {
        const text = await heatmapHover(p.page, q, k);
        assert.ok(text.includes(`query: "${short.tokens[q]}" (#${q})`), text);
        assert.ok(text.includes(`key: "${short.tokens[k]}" (#${k})`), text);
        assert.ok(text.includes(`weight: ${weight(m, 0, q, k).toFixed(4)}`), text);
        // The hovered query drives the token strip too.
        assert.equal(await p.page.getAttribute('.token-strip .token.query', 'data-index'), String(q));
        assert.equal(await p.page.getAttribute(`.token-strip .token[data-index="${k}"]`, 'data-weight'), weight(m, 0, q, k).toFixed(4));
      }
    });

    it('arrow keys walk the token strip, each token becoming the query', async () => {
      await p.page.focus('.token-strip .token[data-index="0"]');
      for (let i = 0; i < 3; i++) await p.page.keyboard.press('ArrowRight');
      assert.equal(await p.page.getAttribute('.token-strip .token.query', 'data-index'), '3');
      await p.page.keyboard.press('End');
      assert.equal(await p.page.getAttribute('.token-strip .token.query', 'data-index'), String(short.tokens.length - 1));
    });

    it("the Inspect button posts {type: 'inspect', text} and keeps the text in the state", async () => {
      await p.page.fill('vscode-text-area textarea', 'a little black cat');
      await p.page.click('vscode-button');
      assert.deepEqual((await p.posted()).at(-1), { type: 'inspect', text: 'a little black cat' });
      assert.equal((await p.state())?.text, 'a little black cat');
    });

    it('shows a host error as an alert, and clears it when the next capture starts', async () => {
      const message = 'samples/missing: no such file or folder; check the model path';
      await p.post([{ type: 'error', message }]);
      assert.equal(await p.page.textContent('.panel-error'), message);
      assert.ok(await p.page.isVisible('.panel-error'));
      await p.post([short.messages[0]]);
      assert.ok(await p.page.isHidden('.panel-error'));
      await p.post(short.messages.slice(1));
    });
  });

  it('says so above the grid when most of the text is unknown to the tokenizer, and clears it on the next capture', async () => {
    // Four of the six tokens are [UNK] in tiny-gpt's vocabulary ([BOS] the + four unknown words).
    const unknown = await run('zebra quokka axolotl the narwhal', 'unknown');
    const started = unknown.messages[0] as Extract<HostToWebview, { type: 'captureStarted' }>;
    assert.equal(unknown.tokens.filter((t) => t === '[UNK]').length, 4);
    assert.equal(started.warnings?.length, 1);
    const p = await panel(unknown);
    try {
      assert.ok(await p.page.isVisible('.panel-warning'));
      assert.match((await p.page.textContent('.panel-warning')) ?? '', /^4 of 6 tokens are unknown to the tokenizer \(\[UNK\]\)/);
      await p.post(short.messages);
      assert.ok(await p.page.isHidden('.panel-warning'));
    } finally {
      await p.close();
    }
  });

  describe('on the sample text (69 tokens, the induction phrase three times)', () => {
    let p: PanelPage;
    before(async () => {
      p = await panel(sample);
    });
    after(async () => {
      await checkAndClose(p);
    });

    it('a click on a thumbnail selects that head: selectHead, setState and the heatmap follow', async () => {
      await clickThumb(p.page, 1, 0);
      assert.deepEqual((await p.posted()).at(-1), { type: 'selectHead', layer: 1, head: 0 });
      assert.deepEqual((await p.state())?.selected, { layer: 1, head: 0 });
      await waitForTitle(p, 'Layer 1 · head 0');
      // Arrow keys move the selection along the grid.
      await p.page.focus('canvas.thumbnail-grid');
      await p.page.keyboard.press('ArrowRight');
      assert.deepEqual((await p.posted()).at(-1), { type: 'selectHead', layer: 1, head: 1 });
      await waitForTitle(p, 'Layer 1 · head 1');
    });

    it('hovering a token paints the induction head weights on the strip', async () => {
      await clickThumb(p.page, 1, 0);
      await waitForTitle(p, 'Layer 1 · head 0');
      const cats = sample.tokens.flatMap((t, i) => (t === 'cat' ? [i] : []));
      assert.ok(cats.length >= 2);
      const q = cats[1];
      await p.page.hover(`.token-strip .token[data-index="${q}"]`);
      const m = sample.maps[1];
      const strip = await p.page.$$eval('.token-strip .token', (els) =>
        els.map((e) => ({ w: (e as HTMLElement).dataset.weight, bg: getComputedStyle(e).backgroundColor })),
      );
      let best = 0;
      for (let k = 0; k < m.keys; k++) {
        const w = weight(m, 0, q, k);
        assert.equal(strip[k].w, w.toFixed(4));
        assert.equal(strip[k].bg, `rgb(${colorScale(w).join(', ')})`);
        if (w > weight(m, 0, q, best)) best = k;
      }
      assert.equal(best, cats[0] + 1, 'induction: attends to the token after the earlier "cat"');
      await p.page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      await p.page.screenshot({ path: screenshotPath('panel.png'), fullPage: true });
    });
  });

  it('a pooled grid: thumbnails by block max, pooled cells say "max weight", a zoom fetches a full-resolution tile', async () => {
    const pool = 2;
    const pooledMaps = long.maps.map((m) => poolMax(m, pool));
    const pooled = long.messages.map((msg) => (msg.type === 'layer' ? { ...msg, pool, data: encodeFloat32(pooledMaps[msg.layer]) } : msg));
    const p = await panel({ ...long, messages: pooled });
    try {
      const m = long.maps[0];
      const rows = Math.ceil(m.queries / pool);
      const geom = JSON.parse((await p.page.getAttribute('canvas.thumbnail-grid', 'data-geometry'))!);
      assert.ok(rows > geom.cell, `${rows} pooled rows exceed the ${geom.cell}px thumbnail`);
      for (const head of [0, 1, 3]) {
        const map = pooledMaps[1].subarray(head * rows * rows, (head + 1) * rows * rows);
        for (const [i, j] of [[10, 3], [40, 40], [geom.cell - 1, 0], [30, 29], [50, 12], [geom.cell - 1, geom.cell - 1]]) {
          const ox = geom.left + head * (geom.cell + geom.gap);
          const oy = geom.top + 1 * (geom.cell + geom.gap);
          const w = expectedThumbWeight(map, rows, rows, geom.cell, i, j);
          assert.deepEqual(await pixelAt(p.page, ox + j, oy + i), colorScale(w), `L1 H${head} pixel (${i}, ${j})`);
        }
      }
      // Pooled cell (row 20, col 4) covers tokens 40..41 x 8..9.
      const hover = await heatmapHover(p.page, 41, 9);
      let max = 0;
      for (let q = 40; q < 42; q++) for (let k = 8; k < 10; k++) max = Math.max(max, weight(m, 0, q, k));
      assert.ok(hover.includes(`query: #40–#41`), hover);
      assert.ok(hover.includes(`key: #8–#9`), hover);
      assert.ok(hover.includes(`max weight: ${max.toFixed(4)}`), hover);
      // Zoom on queries and keys 60..99 by dragging: the panel asks the host for that tile.
      await dragZoom(p.page, [60, 60], [99, 99]);
      await p.page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((x) => x.type === 'requestTile'));
      const req = (await p.posted()).find((x) => x.type === 'requestTile') as Extract<WebviewToHost, { type: 'requestTile' }>;
      assert.equal(req.captureId, 'long');
      assert.deepEqual([req.layer, req.head], [0, 0]);
      assert.ok(req.q0 <= 61 && req.q1 >= 99 && req.k0 <= 61 && req.k1 >= 99 && req.q1 - req.q0 <= 160, JSON.stringify(req));
      const tile = new Float32Array((req.q1 - req.q0) * (req.k1 - req.k0));
      for (let q = req.q0; q < req.q1; q++) for (let k = req.k0; k < req.k1; k++) tile[(q - req.q0) * (req.k1 - req.k0) + (k - req.k0)] = weight(m, 0, q, k);
      await p.post([{ type: 'tile', requestId: req.requestId, rows: req.q1 - req.q0, cols: req.k1 - req.k0, data: encodeFloat32(tile) }]);
      // Drawn again from the tile: single tokens with exact weights.
      await p.page.waitForFunction(() => {
        const gd = document.querySelector('.head-heatmap') as unknown as { data: { text: string[][] }[] };
        return /<br>weight: /.test(gd.data[0].text[0][0]);
      });
      const exact = await heatmapHover(p.page, 80, 79);
      assert.ok(exact.includes(`query: "${long.tokens[80]}" (#80)`), exact);
      assert.ok(exact.includes(`weight: ${weight(m, 0, 80, 79).toFixed(4)}`), exact);
    } finally {
      await checkAndClose(p);
    }
  });

  it('restores the selection after a reload; a long head is drawn at most MAX_CELLS a side and zooms in from local maps', async () => {
    const p = await panel(long, { captureId: 'long', selected: { layer: 1, head: 2 } });
    try {
      await waitForTitle(p, 'Layer 1 · head 2');
      assert.deepEqual((await p.state())?.selected, { layer: 1, head: 2 });
      assert.ok(!(await p.posted()).some((m) => m.type === 'selectHead'), 'restoring is not a user selection');
      const m = long.maps[1];
      const n = m.queries;
      const z = await p.page.evaluate(() => (document.querySelector('.head-heatmap') as unknown as { data: { z: number[][] }[] }).data[0].z);
      assert.ok(n > MAX_CELLS);
      assert.deepEqual([z.length, z[0].length], [MAX_CELLS, MAX_CELLS]);
      // Overview row i covers queries floor(i n / MAX_CELLS) .. floor((i + 1) n / MAX_CELLS) - 1.
      const i = 100;
      const [a, b] = [Math.floor((i * n) / MAX_CELLS), Math.floor(((i + 1) * n) / MAX_CELLS)];
      let max = 0;
      for (let q = a; q < b; q++) for (let k = a; k < b; k++) max = Math.max(max, weight(m, 2, q, k));
      assert.equal(z[i][i].toFixed(5), max.toFixed(5));
      await dragZoom(p.page, [100, 100], [139, 139]);
      await p.page.waitForFunction(() => {
        const gd = document.querySelector('.head-heatmap') as unknown as { data: { text: string[][] }[] };
        return /<br>weight: /.test(gd.data[0].text[0][0]);
      });
      const exact = await heatmapHover(p.page, 120, 119);
      assert.ok(exact.includes(`query: "${long.tokens[120]}" (#120)`), exact);
      assert.ok(exact.includes(`weight: ${weight(m, 2, 120, 119).toFixed(4)}`), exact);
      assert.ok(!(await p.posted()).some((x) => x.type === 'requestTile'), 'full-resolution maps are in hand: no tile asked');
    } finally {
      await checkAndClose(p);
    }
  });
});

async function waitForTitle(p: PanelPage, title: string): Promise<void> {
  await p.page.waitForFunction((t) => (document.querySelector('.head-heatmap .gtitle')?.textContent ?? '') === t, title);
}

async function checkAndClose(p: PanelPage | undefined): Promise<void> {
  if (!p) return;
  try {
    assert.deepEqual(p.refused, [], 'the panel requested nothing outside its bundle');
    assert.deepEqual([...p.problems, ...(await violations(p.page))], [], 'no CSP violation or page error');
  } finally {
    await p.close();
  }
}

/** Block max over pool x pool blocks of every head: what a host sends when it pools the grid. */
function poolMax(m: LayerMap, pool: number): Float32Array {
  const rows = Math.ceil(m.queries / pool);
  const cols = Math.ceil(m.keys / pool);
  const out = new Float32Array(m.heads * rows * cols);
  for (let h = 0; h < m.heads; h++) {
    for (let q = 0; q < m.queries; q++) {
      for (let k = 0; k < m.keys; k++) {
        const o = (h * rows + Math.floor(q / pool)) * cols + Math.floor(k / pool);
        out[o] = Math.max(out[o], weight(m, h, q, k));
      }
    }
  }
  return out;
}
