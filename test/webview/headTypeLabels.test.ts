/**
 * Head-type labels in the Attention panel (headless Chromium, the standalone report replaying a
 * real tiny-gpt capture of samples/texts/induction.txt): a badge on each typed thumbnail and a
 * Type column in the statistics table, equal to the types scored in Node from the same maps,
 * and naming the heads samples/tiny-gpt/README.md describes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openModel } from '../../server/capture/openModel';
import { captureMessages } from '../../server/report/captureMessages';
import { writeHtmlReport } from '../../server/report/htmlReport';
import { headTypes, scoreLayer } from '../../common/headScores';
import { checkReportFile, reportFilesSuite } from '../helpers/panelPage';
import { repoRoot } from '../helpers/webviewBundle';

describe('head-type labels on the grid and the statistics table (headless Chromium)', function () {
  this.timeout(120_000);
  const suite = reportFilesSuite('head-types-');

  it('labels every typed head with its strongest type, as scored from the maps', async () => {
    const model = await openModel(join(repoRoot, 'samples', 'tiny-gpt'), { executionProvider: 'cpu' });
    const text = readFileSync(join(repoRoot, 'samples', 'texts', 'induction.txt'), 'utf8');
    const { messages, maps } = await captureMessages(model, { text }, 'types');
    await model.dispose();
    const started = messages[0] as { tokens: { id: number }[] };
    const ids = started.tokens.map((t) => t.id);
    const expected = maps.map((m) => headTypes(scoreLayer(m, ids)));
    const file = join(suite.dir, 'report.html');
    writeHtmlReport(file, messages, 'head types');
    await checkReportFile(suite.browser, file, async (page) => {
      await page.waitForFunction(() => document.querySelectorAll('.head-type-badge').length >= 6);
      const badges = await page.$$eval('.head-type-badge', (els) => els.map((e) => [Number((e as HTMLElement).dataset.layer), Number((e as HTMLElement).dataset.head), (e as HTMLElement).dataset.type, e.textContent]));
      const want = expected.flatMap((l, layer) => l.flatMap((t, head) => (t.length ? [[layer, head, t[0]]] : [])));
      assert.deepEqual(badges.map((b) => b.slice(0, 3)), want);
      const byHead = new Map(badges.map((b) => [`L${b[0]}H${b[1]}`, b[3]]));
      assert.equal(byHead.get('L0H0'), 'prev');
      assert.equal(byHead.get('L1H2'), 'prev');
      assert.equal(byHead.get('L1H0'), 'ind');
      assert.equal(byHead.get('L1H1'), 'dup');
      assert.equal(byHead.get('L0H1'), 'sink');
      // Each badge sits inside its thumbnail.
      const inside = await page.evaluate(() => {
        const canvas = document.querySelector('canvas.thumbnail-grid') as HTMLCanvasElement;
        const g = JSON.parse(canvas.dataset.geometry!);
        const c = canvas.getBoundingClientRect();
        return [...document.querySelectorAll<HTMLElement>('.head-type-badge')].every((b) => {
          const r = b.getBoundingClientRect();
          const x0 = c.left + (g.left + Number(b.dataset.head) * (g.cell + g.gap)) / g.dpr;
          const y0 = c.top + (g.top + Number(b.dataset.layer) * (g.cell + g.gap)) / g.dpr;
          return r.left >= x0 - 0.5 && r.top >= y0 - 0.5 && r.bottom <= y0 + g.cell / g.dpr + 0.5;
        });
      });
      assert.ok(inside, 'badges overlay their own thumbnails');
      await page.waitForFunction(() => document.querySelectorAll('table.stats-table td.head-type').length === 8);
      assert.equal(await page.textContent('table.stats-table th.head-type-col'), 'Type');
      const rows = await page.$$eval('table.stats-table tbody tr', (trs) => trs.map((tr) => [Number((tr as HTMLElement).dataset.layer), Number((tr as HTMLElement).dataset.head), tr.querySelector('td.head-type')!.textContent]));
      for (const [l, h, t] of rows) assert.equal(t, expected[l as number][h as number].join(', '), `L${l}H${h}`);
      // Sorting the table redraws its rows: the Type column follows.
      await page.click('table.stats-table th[data-key="first"] button');
      await page.waitForFunction(() => (document.querySelector('table.stats-table tbody tr') as HTMLElement).dataset.head !== '0' || (document.querySelector('table.stats-table tbody tr') as HTMLElement).dataset.layer !== '0');
      await page.waitForFunction(() => [...document.querySelectorAll('table.stats-table tbody tr')].every((tr) => tr.querySelector('td.head-type')));
      const first = await page.$eval('table.stats-table tbody tr', (tr) => [Number((tr as HTMLElement).dataset.layer), Number((tr as HTMLElement).dataset.head), tr.querySelector('td.head-type')!.textContent]);
      assert.equal(first[2], expected[first[0] as number][first[1] as number].join(', '));
    }, { width: 1280, height: 1000 });
  });
});
