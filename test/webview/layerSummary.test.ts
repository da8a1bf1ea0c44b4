/**
 * The Attention panel's layer summary in headless Chromium, fed the real capture of
 * samples/tiny-gpt on samples/texts/induction.txt: each layer's row holds the mean over its
 * heads of every head statistic, compared with statistics computed here from the raw maps
 * (test/helpers/analysisReference.ts), and its most focused head opens on click.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import type { HostToWebview } from '../../protocol/webview';
import { openModel } from '../../server/capture/openModel';
import type { LayerMap } from '../../server/capture/types';
import { captureMessages } from '../../server/report/captureMessages';
import { headArrays, statsOf } from '../helpers/analysisReference';
import { launchChromium } from '../helpers/chromium';
import { openPanelPage, type PanelPage, violations } from '../helpers/panelPage';
import { repoRoot } from '../helpers/webviewBundle';

describe('Attention panel layer summary in headless Chromium', function () {
  this.timeout(120_000);
  let browser: Browser;
  let p: PanelPage;
  let maps: LayerMap[];
  let n: number;

  before(async () => {
    const model = await openModel(join(repoRoot, 'samples', 'tiny-gpt'));
    try {
      const text = readFileSync(join(repoRoot, 'samples', 'texts', 'induction.txt'), 'utf8');
      const run = await captureMessages(model, { text }, 'sample');
      maps = run.maps;
      n = (run.messages[0] as Extract<HostToWebview, { type: 'captureStarted' }>).tokens.length;
      browser = await launchChromium();
      p = await openPanelPage(browser);
      await p.post([{ type: 'init', state: { text }, theme: 'dark' }, ...run.messages]);
    } finally {
      await model.dispose();
    }
  });

  after(async () => {
    if (p) {
      try {
        assert.deepEqual([...p.problems, ...(await violations(p.page))], [], 'no CSP violation or page error');
      } finally {
        await p.close();
      }
    }
    await browser?.close();
  });

  it('one row per layer: head means equal to an independent computation, and the lowest-entropy head', async () => {
    await p.page.click('#analysis-tab-layer-summary');
    await p.page.waitForFunction(() => document.querySelectorAll('.layer-summary-table tbody tr').length === 2);
    const rows = await p.page.$$eval('.layer-summary-table tbody tr', (trs) =>
      trs.map((tr) => Object.fromEntries([...tr.querySelectorAll('[data-key]')].map((c) => [(c as HTMLElement).dataset.key, c.textContent]))));
    for (let l = 0; l < 2; l++) {
      const heads = [0, 1, 2, 3].map((h) => statsOf(headArrays(maps[l].data, h, n), 3));
      assert.equal(rows[l].heads, '4');
      for (const key of Object.keys(heads[0])) {
        const mean = heads.reduce((s, st) => s + st[key], 0) / heads.length;
        assert.equal(rows[l][key], mean.toFixed(4), `L${l} ${key}`);
      }
      const focused = heads.reduce((best, st, h) => (st.entropy < heads[best].entropy ? h : best), 0);
      assert.equal(rows[l].focused, `L${l} H${focused}`);
    }
    // README: layer 0 has a first-token head among four, so its mean mass on the first token is over 1/4.
    assert.ok(Number(rows[0].first) > 0.25);
  });

  it('a click on the most focused head opens it in the panel', async () => {
    const label = (await p.page.textContent('.layer-summary-table tbody tr[data-layer="1"] [data-key="focused"]'))!;
    await p.page.click('.layer-summary-table tbody tr[data-layer="1"] [data-key="focused"] button');
    const [, layer, head] = /^L(\d+) H(\d+)$/.exec(label)!.map(Number);
    await p.page.waitForFunction(() => (window as unknown as { __state?: { selected?: unknown } }).__state?.selected !== undefined);
    assert.deepEqual((await p.state())?.selected, { layer, head });
    assert.ok((await p.posted()).some((m) => m.type === 'selectHead' && m.layer === layer && m.head === head), 'the host is told the head');
  });
});
