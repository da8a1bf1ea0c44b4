/**
 * The standalone report (server/report/htmlReport.ts) opened from disk in headless Chromium:
 * it must replay the captured messages with its inline bundle and fetch nothing at all.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { HostToWebview } from '../../protocol/webview';
import { openModel } from '../../server/capture/openModel';
import { captureMessages } from '../../server/report/captureMessages';
import { writeHtmlReport } from '../../server/report/htmlReport';
import { colorScale } from '../../webview/colorScale';
import { displayToken } from '../../webview/tokenStrip';
import { checkReportFile, reportFilesSuite } from '../helpers/panelPage';
import { pixelAt, thumbCellCenter } from '../helpers/panelProbe';
import { repoRoot } from '../helpers/webviewBundle';
import { screenshotPath } from '../helpers/screenshots';

describe('standalone HTML report', function () {
  this.timeout(120_000);
  const suite = reportFilesSuite('attention-report-');

  const openReport = (file: string, check: (page: Page) => Promise<void>) => checkReportFile(suite.browser, file, check);

  it('replays a real capture from one file with no network request', async () => {
    const model = await openModel(join(repoRoot, 'samples', 'tiny-gpt'));
    const text = readFileSync(join(repoRoot, 'samples', 'texts', 'induction.txt'), 'utf8');
    const { messages, maps } = await captureMessages(model, { text }, 'report');
    await model.dispose();
    const started = messages[0] as Extract<HostToWebview, { type: 'captureStarted' }>;
    const file = join(suite.dir, 'report.html');
    writeHtmlReport(file, messages, 'Attention report: induction.txt');
    await openReport(file, async (page) => {
      await page.waitForFunction(() => (document.querySelector('.head-heatmap') as { data?: unknown[] } | null)?.data?.length === 1);
      assert.equal(await page.title(), 'Attention report: induction.txt');
      assert.equal(await page.textContent('.panel-title'), 'tiny-gpt');
      assert.ok(await page.isHidden('.inspect-form'), 'a report has no host to inspect with');
      const shown = await page.$$eval('.token-strip .token', (els) => els.map((e) => e.textContent));
      assert.deepEqual(shown, started.tokens.map((t) => displayToken(t.text)));
      const m = maps[0];
      const { x, y } = await thumbCellCenter(page, 0, 2, 0, 0, m.queries, m.keys);
      assert.deepEqual(await pixelAt(page, x, y), colorScale(m.data[2 * m.queries * m.keys]));
      assert.match((await page.textContent('.panel-status')) ?? '', /69 tokens · 2 layers × 4 heads · cpu/);
      await page.screenshot({ path: screenshotPath('report.png'), fullPage: true });
    });
  });

  it('embeds names and tokens that hold </script> and <!-- as text', async () => {
    // Strings that would end the embedded JSON's script element if they were not escaped.
    const hostile = 'tiny-gpt </script><script>document.title="pwned"</script> <!--';
    const messages: HostToWebview[] = [
      {
        type: 'captureStarted',
        captureId: 'x',
        modelName: hostile,
        tokens: [{ text: '</script>', id: 1 }, { text: '<!--', id: 2 }],
        layers: [{ index: 0, kind: 'self', heads: 1 }],
      },
    ];
    const file = join(suite.dir, 'hostile.html');
    writeHtmlReport(file, messages, 'a </title> title');
    assert.equal(readFileSync(file, 'utf8').match(/<\/script>/gi)?.length, 2, 'only the two script elements close');
    await openReport(file, async (page) => {
      await page.waitForFunction(() => document.querySelectorAll('.token-strip .token').length === 2);
      assert.equal(await page.title(), 'a </title> title');
      assert.equal(await page.textContent('.panel-title'), hostile);
      assert.deepEqual(await page.$$eval('.token', (els) => els.map((e) => e.textContent)), ['</script>', '<!--']);
    });
  });
});
