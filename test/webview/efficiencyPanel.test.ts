/**
 * The Efficiency panel (dist/webview/efficiency.js) in headless Chromium under the panel CSP,
 * fed the real sweep of the Llama-3-8B sample config: the table shows the published KV cache,
 * the charts have one trace per variant / per profile, settings changes are posted, and the
 * measured table shows what the host sends.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { parseEfficiencyMessage } from '../../protocol/efficiencyWebview';
import type { EfficiencyToHost, HostToEfficiency } from '../../protocol/efficiencyWebview';
import { loadModelShape } from '../../server/efficiency/modelShape';
import { curvesFromSweep, sweep } from '../../server/efficiency/sweep';
import { findHardware, HARDWARE_PROFILES } from '../../server/efficiency/hardware';
import { launchChromium } from '../helpers/chromium';
import { openWebviewPage, violations } from '../helpers/panelPage';
import { ensureWebviewBundle, repoRoot } from '../helpers/webviewBundle';
import { costedVariants } from '../../server/variants/registry';




describe('Efficiency panel in headless Chromium', function () {
  this.timeout(120_000);
  let browser: Browser;
  let page: Page;
  let problems: string[];
  let refused: string[];
  const posted = () => page.evaluate(() => (window as unknown as { __posted: EfficiencyToHost[] }).__posted);
  const post = (m: HostToEfficiency) => page.evaluate((msg) => window.postMessage(msg, '*'), m);

  before(async () => {
    const bundle = await ensureWebviewBundle('efficiency', 'webview/efficiency/main.ts');
    browser = await launchChromium();
    ({ page, refused, problems } = await openWebviewPage(browser, { name: 'efficiency', bundle, title: 'Attention efficiency' }));
  });

  after(async () => {
    await browser?.close();
  });

  it('posts ready, then its settings after init, and draws the sweep', async () => {
    await page.waitForFunction(() => (window as unknown as { __posted: unknown[] }).__posted.length > 0);
    assert.deepEqual((await posted())[0], { type: 'ready' });
    const hardware = HARDWARE_PROFILES.map((p) => ({ id: p.id, name: p.name }));
    await post({ type: 'init', modelName: 'llama-3-8b', maxPositions: 8192, hardware, settings: { batch: 1, dtype: 'fp16', hardware: 'a100-80gb', decode: false, tableSeq: 8192 } });
    await page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'settings'));
    const settings = (await posted()).find((m) => m.type === 'settings');
    assert.deepEqual(settings, { type: 'settings', settings: { batch: 1, dtype: 'fp16', hardware: 'a100-80gb', decode: false, tableSeq: 8192 } });

    const shape = loadModelShape(join(repoRoot, 'samples/configs/llama-3-8b/config.json'));
    const s = sweep(shape, { tableSeq: 8192, dtype: 'fp16', hardware: findHardware('a100-80gb') });
    await post({ type: 'curves', settings: settings!.type === 'settings' ? settings!.settings : (undefined as never), curves: curvesFromSweep(s) });
    await page.waitForFunction(() => document.querySelectorAll('tbody tr').length > 0);
    const rows = await page.$$eval('tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    // One row per variant of the catalog (server/variants/registry.ts).
    assert.equal(rows.length, costedVariants().length);
    const exact = rows.find((r) => r[0] === 'exact')!;
    // 8,192 tokens x 128 KiB (2 x 32 layers x 8 KV heads x 128 x 2 B) = 1 GiB; 32 heads x 8,192² x 2 B = 4 GiB.
    assert.equal(exact[5], '1 GiB');
    assert.equal(exact[4], '4 GiB');
    assert.equal(rows.find((r) => r[0] === 'mqa')![5], '128 MiB');
    const traces = await page.$$eval('.js-plotly-plot', (plots) => plots.map((p) => p.querySelectorAll('.scatterlayer .trace').length));
    assert.deepEqual(traces, [rows.length, rows.length, 2 * HARDWARE_PROFILES.length]);
  });

  it('posts a settings change and shows measured beside estimated', async () => {
    await page.selectOption('select >> nth=1', 'bf16');
    await page.waitForFunction(() => (window as unknown as { __posted: { type: string; settings?: { dtype: string } }[] }).__posted.some((m) => m.settings?.dtype === 'bf16'));
    await page.click('button');
    await page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'measure'));
    await post({ type: 'measured', hardwareName: 'This machine', rows: [{ variant: 'exact', seq: 256, heads: 8, headDim: 128, measuredMs: 20, estimatedMs: 2, ratio: 10, achievedFlopsPerSecond: 5e10 }] });
    await page.waitForFunction(() => document.body.textContent!.includes('10.0x'));
    const text = await page.textContent('body');
    assert.match(text!, /20 ms/);
    assert.match(text!, /50 GFLOP\/s/);
    assert.deepEqual(problems, []);
    assert.deepEqual(refused, []);
    assert.deepEqual(await violations(page), []);
  });

  it('every message this webview posted passes the host\'s validation unchanged', async () => {
    const all = await posted();
    assert.ok(all.some((m) => m.type === 'settings') && all.some((m) => m.type === 'measure'));
    for (const m of all) assert.deepEqual(parseEfficiencyMessage(m), m);
  });
});
