/**
 * The panel never keeps a stale state (headless Chromium, real capture messages of
 * samples/tiny-gpt): a failed capture stops saying "capturing…", clears an empty grid and hides
 * export buttons with nothing to export; a cancel says so; a model just opened prefills and
 * focuses the text box; the caption under the grid returns to the selected head.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import type { HostToWebview } from '../../protocol/webview';
import { openModel } from '../../server/capture/openModel';
import type { OpenedModel } from '../../server/capture/types';
import { captureMessages } from '../../server/report/captureMessages';
import { launchChromium } from '../helpers/chromium';
import { closeChecked, openPanelPage, type PanelPage } from '../helpers/panelPage';
import { clickThumb } from '../helpers/panelProbe';
import { repoRoot } from '../helpers/webviewBundle';

const TEXT = 'the cat sat on the dog . the cat sat';

describe('Attention panel states after failure, cancel and opening a model (headless Chromium)', function () {
  this.timeout(120_000);
  let browser: Browser;
  let model: OpenedModel;
  let messages: HostToWebview[];

  before(async () => {
    model = await openModel(join(repoRoot, 'samples', 'tiny-gpt'));
    messages = (await captureMessages(model, { text: TEXT }, 'c1')).messages;
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await model?.dispose();
  });

  async function page(): Promise<PanelPage> {
    const p = await openPanelPage(browser);
    await p.post([{ type: 'init', state: {}, theme: 'dark' }]);
    return p;
  }

  const close = (p: PanelPage) => closeChecked(p);

  const status = (p: PanelPage) => p.page.evaluate(() => ({ text: document.querySelector('.panel-status')!.textContent ?? '', busy: document.querySelector('.panel-status')!.classList.contains('busy') }));

  it('a capture that fails before its first layer: no "capturing…", no empty grid, no export buttons', async () => {
    const p = await page();
    try {
      await p.post([messages[0]]);
      assert.equal((await status(p)).busy, true);
      assert.ok(await p.page.isVisible('.heatmap-section .export-bar') === false, 'nothing to export while no layer is there');
      await p.post([{ type: 'error', message: 'the runtime stopped' }]);
      const s = await status(p);
      assert.equal(s.busy, false);
      assert.match(s.text, /^Inspection failed: nothing to show/);
      assert.equal(await p.page.textContent('.panel-error'), 'the runtime stopped');
      assert.equal(await p.page.locator('.token-strip .token').count(), 0, 'no tokens of a capture that is not shown');
      assert.equal(await p.page.getAttribute('canvas.thumbnail-grid', 'height'), await p.page.evaluate(() => String(Math.round(18 * (window.devicePixelRatio || 1)))), 'an empty grid: labels row only');
      for (const sel of ['.heatmap-section .export-bar', '.line-section .export-bar', '.head-view-section']) assert.equal(await p.page.isVisible(sel), false, sel);
      // The next capture works and shows everything again.
      await p.post(messages);
      await p.page.waitForFunction(() => (document.querySelector('.head-heatmap') as { data?: unknown[] } | null)?.data?.length === 1);
      assert.equal(await p.page.isVisible('.panel-error'), false);
      assert.equal(await p.page.isVisible('.heatmap-section .export-bar'), true);
    } finally {
      await close(p);
    }
  });

  it('a capture that fails after a layer says how far it got; a refused one keeps the previous capture and says so', async () => {
    const p = await page();
    try {
      await p.post([messages[0], messages[1], { type: 'error', message: 'out of memory' }]);
      let s = await status(p);
      assert.equal(s.busy, false);
      assert.match(s.text, /failed after 1 of 2 layers$/);
      await p.post(messages);
      await p.post([{ type: 'prepare', text: 'a much longer text', focus: false }, { type: 'error', message: 'too many tokens' }]);
      s = await status(p);
      assert.match(s.text, /the previous capture \(the last inspection failed\)$/);
      assert.equal(await p.page.evaluate(() => (document.querySelector('.inspect-text') as unknown as { value: string }).value), 'a much longer text');
    } finally {
      await close(p);
    }
  });

  it('a cancel before the first layer says "cancelled" and clears the capture', async () => {
    const p = await page();
    try {
      await p.post([messages[0], { type: 'prepare', text: TEXT, focus: false, status: 'cancelled' }]);
      const s = await status(p);
      assert.equal(s.busy, false);
      assert.match(s.text, /^Inspection cancelled/);
    } finally {
      await close(p);
    }
  });

  it('a model just opened: title, prefilled and focused text box; Ctrl+Enter inspects', async () => {
    const p = await page();
    try {
      await p.post([{ type: 'prepare', text: TEXT, modelName: 'acme/tiny-gpt', focus: true }]);
      assert.equal(await p.page.textContent('.panel-title'), 'acme/tiny-gpt');
      assert.match((await status(p)).text, /acme\/tiny-gpt is open: edit the text and press Inspect/);
      const focused = await p.page.evaluate(() => {
        const host = document.activeElement as HTMLElement & { shadowRoot: ShadowRoot | null };
        return { host: host?.classList.contains('inspect-text') ? 'inspect-text' : host?.tagName, inner: host?.shadowRoot?.activeElement?.tagName, value: (host as unknown as { value: string }).value };
      });
      assert.deepEqual(focused, { host: 'inspect-text', inner: 'TEXTAREA', value: TEXT });
      await p.page.keyboard.type(' on');
      await p.page.keyboard.press('Control+Enter');
      const posted = await p.posted();
      assert.deepEqual(posted.at(-1), { type: 'inspect', text: `${TEXT} on` });
    } finally {
      await close(p);
    }
  });

  it('the caption under the grid goes back to the selected head when the pointer leaves', async () => {
    const p = await page();
    try {
      await p.post(messages);
      await clickThumb(p.page, 1, 2);
      assert.equal(await p.page.textContent('.grid-hint'), 'Selected: layer 1 · head 2. Click a head (or use the arrow keys) to open it.');
      const box = (await p.page.locator('canvas.thumbnail-grid').boundingBox())!;
      const g = JSON.parse((await p.page.getAttribute('canvas.thumbnail-grid', 'data-geometry'))!);
      await p.page.mouse.move(box.x + (g.left + 3 * (g.cell + g.gap) + g.cell / 2) / g.dpr, box.y + (g.top + g.cell / 2) / g.dpr);
      assert.equal(await p.page.textContent('.grid-hint'), 'layer 0 · head 3');
      await p.page.mouse.move(box.x + box.width + 200, box.y - 50);
      await p.page.waitForFunction(() => document.querySelector('.grid-hint')?.textContent?.startsWith('Selected'));
      assert.equal(await p.page.textContent('.grid-hint'), 'Selected: layer 1 · head 2. Click a head (or use the arrow keys) to open it.');
    } finally {
      await close(p);
    }
  });
});
