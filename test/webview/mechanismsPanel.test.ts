/**
 * The Compare panel (dist/webview/compare.js) in headless Chromium under the panel CSP, fed the
 * real attention/compareVariants result (the handler's runComparison run in process on
 * samples/tiny-gpt layer 1): table cells hold the metrics and sort, each canvas pixel is
 * colorScale(weight) of its map cell, and the scaling plots have one measured and one estimated
 * trace per variant with the run's points. Saves out/screenshots/compare.png.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { DEFAULT_COMPARE_VARIANTS, type CompareVariantsRequest } from '../../protocol/mechanisms';
import { parseCompareMessage } from '../../protocol/mechanismsWebview';
import type { CompareToHost, HostToCompare } from '../../protocol/mechanismsWebview';
import { decodeFloat32 } from '../../protocol/encoding';
import { runComparison } from '../../server/lsp/mechanismsHandler';
import { colorScale } from '../../webview/colorScale';
import { launchChromium } from '../helpers/chromium';
import { openWebviewPage, violations } from '../helpers/panelPage';
import { ensureWebviewBundle, repoRoot } from '../helpers/webviewBundle';
import { screenshotPath } from '../helpers/screenshots';

const LENGTHS = [32, 64, 128];



interface TraceData {
  x: number[];
  y: (number | null)[];
  meta: { variant: string; kind: string };
}

describe('Compare panel in headless Chromium (real comparison of samples/tiny-gpt)', function () {
  this.timeout(120_000);
  let browser: Browser;
  let page: Page;
  let result: CompareVariantsRequest.Result;
  let problems: string[];
  let refused: string[];
  const posted = () => page.evaluate(() => (window as unknown as { __posted: CompareToHost[] }).__posted);
  const post = (m: HostToCompare) => page.evaluate((msg) => window.postMessage(msg, '*'), m);

  before(async () => {
    const bundle = await ensureWebviewBundle('compare', 'webview/mechanisms/main.ts');
    result = await runComparison(join(repoRoot, 'samples/tiny-gpt'), 'tiny-gpt', {
      text: 'the old king saw a little black cat by the river and the old king saw a little black cat',
      layer: 1, head: 0, variants: DEFAULT_COMPARE_VARIANTS, seqLengths: LENGTHS, repeats: 3, executionProvider: 'cpu',
    });
    browser = await launchChromium();
    ({ page, refused, problems } = await openWebviewPage(browser, { name: 'compare', bundle, title: 'Compare attention' }));
  });

  after(async () => {
    await browser?.close();
  });

  it('posts ready, then shows the metrics table of the result', async () => {
    await page.waitForFunction(() => (window as unknown as { __posted: unknown[] }).__posted.length > 0);
    assert.deepEqual(await posted(), [{ type: 'ready' }]);
    // What the host accepts from this webview (protocol/mechanismsWebview.ts) is exactly what it posts.
    assert.deepEqual((await posted()).map(parseCompareMessage), [{ type: 'ready' }]);
    assert.equal(result.cancelled, false);
    assert.deepEqual(result.variants.map((v) => v.id), DEFAULT_COMPARE_VARIANTS);
    await post({ type: 'result', title: 'tiny-gpt, layer 1, head 0', result });
    await page.waitForFunction(() => document.querySelectorAll('.cmp-table tbody tr').length > 0);
    const cells = await page.$$eval('.cmp-table tbody tr', (trs) => trs.map((tr) => ({
      id: (tr as HTMLElement).dataset.variant!,
      cells: Object.fromEntries([...tr.querySelectorAll('td')].map((td) => [td.dataset.key!, { text: td.textContent!, value: td.dataset.value }])),
    })));
    assert.deepEqual(cells.map((c) => c.id), DEFAULT_COMPARE_VARIANTS);
    for (const row of cells) {
      const v = result.variants.find((r) => r.id === row.id)!;
      for (const key of ['relL2', 'cosine', 'js', 'massKept', 'latencyMs', 'peakBytes', 'flops', 'bytes'] as const) {
        const want = v[key];
        const cell = row.cells[key];
        if (want === null) {
          assert.equal(cell.text, '-', `${row.id} ${key}`);
          assert.equal(cell.value, undefined);
          continue;
        }
        assert.equal(Number(cell.value), want, `${row.id} ${key} holds the figure`);
        if (['relL2', 'cosine', 'js', 'massKept'].includes(key)) {
          const shown = Number(cell.text);
          assert.ok(Math.abs(shown - want) <= 1e-3 * Math.max(Math.abs(want), 1e-12), `${row.id} ${key}: shown ${cell.text}, figure ${want}`);
        }
      }
      assert.equal(row.cells.paper.text, v.paper.split(',')[0]);
      assert.match(row.cells.paper.text, /et al\. 20\d\d|& \w+ 20\d\d/);
    }
    // Known figures: exact is exact, FlashAttention and chunked reproduce it, linear does not.
    const shown = (id: string, key: string) => cells.find((c) => c.id === id)!.cells[key].text;
    assert.equal(shown('exact', 'relL2'), '0');
    assert.match(shown('flash', 'relL2'), /e-/);
    assert.ok(Number(shown('linear', 'relL2')) > 0.05);
  });

  it('sorts by a column on click, missing figures last, and reverses on a second click', async () => {
    const order = () => page.$$eval('.cmp-table tbody tr', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.variant!));
    const byMass = [...result.variants].sort((a, b) => (a.massKept === null ? 1 : b.massKept === null ? -1 : a.massKept - b.massKept));
    await page.click('.cmp-table th[data-key="massKept"]');
    const asc = await order();
    assert.deepEqual(asc.slice(0, 3), byMass.slice(0, 3).map((r) => r.id));
    assert.ok(result.variants.filter((r) => r.massKept !== null).length >= 3, 'longformer, bigbird and reformer-lsh keep a share of the mass');
    await page.click('.cmp-table th[data-key="relL2"]');
    await page.click('.cmp-table th[data-key="relL2"]');
    const desc = await order();
    const byErr = [...result.variants].sort((a, b) => (b.relL2 ?? -1) - (a.relL2 ?? -1)).map((r) => r.id);
    assert.deepEqual(desc[0], byErr[0]);
    assert.equal(await page.getAttribute('.cmp-table th[data-key="relL2"]', 'data-sort'), 'desc');
  });

  it("paints each map cell as colorScale(weight) of the selected head's map", async () => {
    const n = result.n;
    for (const id of ['exact', 'linear', 'reformer-lsh', 'longformer']) {
      const map = result.maps.find((m) => m.id === id)!;
      assert.deepEqual([map.rows, map.cols, map.pool], [n, n, 1]);
      const w = decodeFloat32(map.data);
      let argmax = 0;
      for (let i = 0; i < w.length; i++) if (w[i] > w[argmax]) argmax = i;
      const cells: [number, number][] = [[n - 1, 0], [n - 1, n - 1], [5, 3], [2, 7], [Math.floor(argmax / n), argmax % n]];
      const pixels = await page.evaluate(({ id, cells }) => {
        const c = document.querySelector(`.cmp-map[data-variant="${id}"] canvas`) as HTMLCanvasElement;
        const ctx = c.getContext('2d')!;
        return { size: [c.width, c.height], px: cells.map(([r, k]) => [...ctx.getImageData(k, r, 1, 1).data]) };
      }, { id, cells });
      assert.deepEqual(pixels.size, [n, n]);
      cells.forEach(([r, k], i) => assert.deepEqual(pixels.px[i], [...colorScale(w[r * n + k]), 255], `${id} [${r}, ${k}] = ${w[r * n + k]}`));
    }
    // Causal: nothing above the diagonal in exact's map, so [2, 7] is the scale's zero colour.
    assert.equal(decodeFloat32(result.maps.find((m) => m.id === 'exact')!.data)[2 * n + 7], 0);
  });

  it('plots latency and memory against n: one measured and one estimated trace per variant', async () => {
    const traces = await page.evaluate(() => [...document.querySelectorAll('.cmp-charts .js-plotly-plot')].map((el) => (el as unknown as { data: TraceData[] }).data.map((t) => ({ x: [...t.x], y: [...t.y], meta: t.meta }))));
    assert.equal(traces.length, 2);
    const [time, memory] = traces;
    const exact = result.scaling.filter((p) => p.id === 'exact').sort((a, b) => a.n - b.n);
    const rate = exact.at(-1)!.estFlops / (exact.at(-1)!.latencyMs / 1e3);
    for (const [plot, measured, estimated] of [
      [time, (p: (typeof result.scaling)[number]) => p.latencyMs, (p: (typeof result.scaling)[number]) => (p.estFlops / rate) * 1e3],
      [memory, (p: (typeof result.scaling)[number]) => (p.peakBytes > 0 ? p.peakBytes : null), (p: (typeof result.scaling)[number]) => p.estBytes],
    ] as const) {
      assert.deepEqual(plot.filter((t) => t.meta.kind === 'measured').map((t) => t.meta.variant), DEFAULT_COMPARE_VARIANTS);
      assert.deepEqual(plot.filter((t) => t.meta.kind === 'estimated').map((t) => t.meta.variant), DEFAULT_COMPARE_VARIANTS);
      for (const t of plot) {
        const points = result.scaling.filter((p) => p.id === t.meta.variant).sort((a, b) => a.n - b.n);
        assert.deepEqual(t.x, LENGTHS);
        const want = points.map(t.meta.kind === 'measured' ? measured : estimated);
        t.y.forEach((y, i) => {
          const w = want[i];
          assert.ok(w === null ? y === null : y !== null && Math.abs(y - w) <= 1e-9 * Math.abs(w), `${t.meta.variant} ${t.meta.kind} n=${t.x[i]}: ${y} vs ${w}`);
        });
      }
    }
    // Exact attention's analytic bytes grow with n² (the probabilities), linear attention's do not.
    const est = (id: string, n: number) => result.scaling.find((p) => p.id === id && p.n === n)!.estBytes;
    assert.ok(est('exact', 128) / est('exact', 64) > 2.9);
    assert.ok(Math.abs(est('linear', 128) / est('linear', 64) - 2) < 0.05);
    const rendered = await page.$$eval('.cmp-charts .js-plotly-plot', (plots) => plots.map((p) => p.querySelectorAll('.scatterlayer .trace').length));
    assert.deepEqual(rendered, [18, 18]);
  });

  it('renders within the CSP, loads nothing else, and saves the screenshot', async () => {
    const shot = screenshotPath('compare.png');
    await page.setViewportSize({ width: 1280, height: 1500 });
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 20_000);
    assert.deepEqual(problems, []);
    assert.deepEqual(refused, []);
    assert.deepEqual(await violations(page), []);
  });
});
