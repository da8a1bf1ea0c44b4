/**
 * The serving view (dist/webview/serving.js) as the standalone report kv-report writes, opened
 * from disk in headless Chromium with a real report of tiny-gpt: the three curves plot the
 * report's figures, one trace per policy; the head map paints exactly the dropped keys of the
 * selected query red and its summary equals the mass on the kept keys computed here from the
 * map; the head-types table names the README's heads; nothing is fetched, no CSP violation.
 * Writes out/screenshots/serving.png for docs/serving.md.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { decodeFloat32 } from '../../protocol/encoding';
import { decodeBytes, type ServingReport } from '../../protocol/servingWebview';
import { openMaskedModel } from '../../server/serving/maskedModel';
import { buildServingReport } from '../../server/serving/servingReport';
import { servingHtml } from '../../server/serving/servingHtml';
import { launchChromium } from '../helpers/chromium';
import { openReportFile, openWebviewPage, violations } from '../helpers/panelPage';
import { ensureWebviewBundle, repoRoot, webviewDist } from '../helpers/webviewBundle';

describe('serving view (KV-cache eviction) in headless Chromium', function () {
  this.timeout(120_000);
  let browser: Browser;
  let page: Page;
  let dir: string;
  let report: ServingReport;
  let problems: string[];
  let requested: string[];

  before(async () => {
    await ensureWebviewBundle('serving', 'webview/serving/main.ts');
    dir = mkdtempSync(join(tmpdir(), 'serving-view-'));
    const model = await openMaskedModel(join(repoRoot, 'samples', 'tiny-gpt'), 'cpu');
    try {
      const text = readFileSync(join(repoRoot, 'samples', 'texts', 'induction.txt'), 'utf8');
      const { ids, tokens } = await model.resolve({ text });
      report = await buildServingReport(model, ids, tokens, { budgets: [4, 8, 16], sinks: 2, headMapBudget: 8 });
    } finally {
      await model.dispose();
    }
    writeFileSync(join(dir, 'serving.html'), servingHtml(report));
    browser = await launchChromium();
    ({ page, requested, problems } = await openReportFile(browser, join(dir, 'serving.html'), { viewport: { width: 1300, height: 1100 } }));
    await page.waitForFunction(() => document.querySelectorAll('.curve-error .scatterlayer .trace').length === 4);
  });

  after(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('plots mass kept, KL, output error and bytes saved against B: one trace per policy holding the report figures', async () => {
    for (const [cls, key] of [['curve-mass', 'massKept'], ['curve-kl', 'nextTokenKL'], ['curve-error', 'outputRelativeL2'], ['curve-bytes', 'kvBytesSaved']] as const) {
      const traces = await page.$eval(`.${cls}`, (e) => (e as unknown as { data: { name: string; x: number[]; y: (number | null)[] }[] }).data.map((t) => ({ name: t.name, x: t.x, y: t.y })));
      assert.deepEqual(traces.map((t) => t.name), ['StreamingLLM', 'H2O', 'SnapKV', 'TOVA']);
      Object.values(report.policies).forEach((c, i) => {
        assert.deepEqual(traces[i].x, [4, 8, 16]);
        assert.deepEqual(traces[i].y, c.points.map((p) => p[key]));
      });
    }
    // Fewer kept keys, more mass lost: StreamingLLM's mass kept grows with B.
    const mass = report.policies.streaming.points.map((p) => p.massKept);
    assert.ok(mass[0] < mass[1] && mass[1] < mass[2]);
  });

  it('the head map paints the dropped keys of the selected query red, and its summary is the kept mass of the real map', async () => {
    const n = report.tokens.length;
    assert.ok(n > 60);
    for (const [policy, layer, head, query] of [['h2o', 1, 0, 40], ['streaming', 0, 3, n - 1], ['snapkv', 1, 1, 30], ['tova', 0, 2, 20]] as const) {
      await page.selectOption('select:nth-of-type(1)', policy);
      await page.$eval('.controls label:nth-child(2) select', (s, v) => {
        (s as HTMLSelectElement).value = String(v);
        s.dispatchEvent(new Event('change'));
      }, layer);
      await page.$eval('.controls label:nth-child(3) select', (s, v) => {
        (s as HTMLSelectElement).value = String(v);
        s.dispatchEvent(new Event('change'));
      }, head);
      await page.$eval('.controls input', (s, v) => {
        (s as HTMLInputElement).value = String(v);
        s.dispatchEvent(new Event('change'));
      }, query);
      const map = decodeFloat32(report.layers[layer].map).subarray(head * n * n, (head + 1) * n * n);
      const keep = decodeBytes(report.policies[policy].kept[layer]).subarray(head * n * n, (head + 1) * n * n);
      const keptKeys = Array.from({ length: query + 1 }, (_, k) => k).filter((k) => keep[query * n + k] === 1);
      const mass = keptKeys.reduce((s, k) => s + map[query * n + k], 0);
      assert.equal(keptKeys.length, Math.min(query + 1, 8));
      const text = await page.textContent('.query-summary');
      assert.ok(text!.includes(`keeps ${keptKeys.length} of ${query + 1} keys, drops ${query + 1 - keptKeys.length}; mass kept ${mass.toFixed(4)}`), `${policy}: ${text}`);
      const pixels = await page.$eval('canvas.kv-headmap', (c, [q, nn]) => {
        const canvas = c as HTMLCanvasElement;
        const cell = canvas.width / nn;
        const ctx = canvas.getContext('2d')!;
        return Array.from({ length: q + 1 }, (_, k) => Array.from(ctx.getImageData(Math.floor(k * cell + cell / 2), Math.floor(q * cell + cell / 2), 1, 1).data.slice(0, 3)));
      }, [query, n] as const);
      pixels.forEach((rgb, k) => {
        const red = rgb[0] === 230 && rgb[1] === 40 && rgb[2] === 40;
        assert.equal(red, keep[query * n + k] === 0, `${policy} L${layer}H${head} query ${query} key ${k}: ${rgb}`);
      });
      // Beside it, the policy's mass kept per layer x head at that budget; its mean is the curve's point.
      await page.waitForFunction((name) => (document.querySelector('.mass-grid') as unknown as { layout?: { title?: { text?: string } } }).layout?.title?.text?.startsWith(name), report.policies[policy].name);
      const z = await page.$eval('.mass-grid', (e) => (e as unknown as { data: { z: number[][] }[] }).data[0].z);
      assert.deepEqual(z, report.policies[policy].atHeadMapBudget.massKept);
      const flat = z.flat();
      const point = report.policies[policy].points.find((p) => p.budget === report.headMapBudget)!;
      assert.ok(Math.abs(flat.reduce((a, b) => a + b, 0) / flat.length - point.massKept) < 1e-12);
    }
  });

  it('a click on a cell of the mass-kept grid opens that head in the head map', async () => {
    const box = await page.evaluate(() => {
      const el = document.querySelector('.mass-grid') as unknown as { _fullLayout: { xaxis: { d2p(v: number): number }; yaxis: { d2p(v: number): number }; _size: { l: number; t: number } } } & HTMLElement;
      const r = el.getBoundingClientRect();
      const f = el._fullLayout;
      return { x: r.left + f._size.l + f.xaxis.d2p(3), y: r.top + f._size.t + f.yaxis.d2p(1) };
    });
    await page.mouse.click(box.x, box.y);
    await page.waitForFunction(() => (document.querySelector('.controls label:nth-child(3) select') as HTMLSelectElement).value === '3');
    assert.equal(await page.$eval('.controls label:nth-child(2) select', (e) => (e as HTMLSelectElement).value), '1');
    assert.match((await page.textContent('.summary')) ?? '', /layer 1, head 3/);
  });

  it('the head-types table names the heads samples/tiny-gpt/README.md describes', async () => {
    const types = await page.$$eval('table.head-types tbody tr', (trs) => trs.map((tr) => [tr.querySelector('button')!.textContent, tr.querySelector('.head-type')!.textContent]));
    const of = (h: string) => types.find((t) => t[0] === h)![1]!;
    assert.match(of('L0 H0'), /^previous-token/);
    assert.match(of('L1 H2'), /^previous-token/);
    assert.match(of('L0 H1'), /^sink/);
    assert.match(of('L1 H1'), /^duplicate-token/);
    assert.ok(of('L1 H0').split(', ').includes('induction'));
  });

  it('fetched nothing, broke no CSP rule; screenshot for the docs', async () => {
    await page.selectOption('select:nth-of-type(1)', 'h2o');
    await page.$eval('.controls label:nth-child(2) select', (s) => {
      (s as HTMLSelectElement).value = '1';
      s.dispatchEvent(new Event('change'));
    });
    await page.$eval('.controls input', (s, v) => {
      (s as HTMLInputElement).value = String(v);
      s.dispatchEvent(new Event('change'));
    }, report.tokens.length - 1);
    await page.mouse.move(0, 0);
    const shots = join(repoRoot, 'out', 'screenshots');
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: join(shots, 'serving.png'), fullPage: true });
    assert.deepEqual(requested, []);
    assert.deepEqual([...problems, ...(await violations(page))], []);
  });
});

describe('serving view as a VS Code webview (host messages, headless Chromium)', function () {
  this.timeout(120_000);
  let browser: Browser;

  before(async () => {
    await ensureWebviewBundle('serving', 'webview/serving/main.ts');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  it('posts ready, draws the report the host posts, and shows a host error as text', async () => {
    const model = await openMaskedModel(join(repoRoot, 'samples', 'tiny-gpt'), 'cpu');
    let report: ServingReport;
    try {
      const { ids, tokens } = await model.resolve({ ids: [2, 10, 11, 12, 13, 10, 11, 12, 13, 14, 15] });
      report = await buildServingReport(model, ids, tokens, { budgets: [2, 4], sinks: 1, headMapBudget: 4 });
    } finally {
      await model.dispose();
    }
    const bundle = { js: join(webviewDist, 'serving.js'), css: join(webviewDist, 'serving.css') };
    const { page, refused, problems } = await openWebviewPage(browser, { name: 'serving', bundle, title: 'KV-cache eviction', viewport: { width: 1200, height: 900 } });
    await page.waitForFunction(() => (window as unknown as { __posted: unknown[] }).__posted.length > 0);
    assert.deepEqual(await page.evaluate(() => (window as unknown as { __posted: unknown[] }).__posted), [{ type: 'ready' }]);
    await page.evaluate((r) => window.postMessage({ type: 'report', report: r }, '*'), report);
    await page.waitForFunction(() => document.querySelectorAll('.curve-kl .scatterlayer .trace').length === 4);
    assert.match((await page.textContent('.meta')) ?? '', /^11 tokens \(text\); budgets 2, 4; StreamingLLM sinks 1; ran on cpu/);
    assert.equal(await page.$$eval('table.head-types tbody tr', (trs) => trs.length), 8);
    await page.evaluate(() => window.postMessage({ type: 'error', message: 'tiny-gpt: out of memory' }, '*'));
    await page.waitForFunction(() => document.querySelector('.meta')?.textContent?.includes('failed'));
    assert.equal(await page.textContent('.meta'), 'The simulation failed: tiny-gpt: out of memory');
    assert.deepEqual(refused, []);
    assert.deepEqual([...problems, ...(await violations(page))], []);
    await page.close();
  });
});
