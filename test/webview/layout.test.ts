/**
 * Layout and theming of the Attention panel in headless Chromium at half and full editor width:
 * the comparison says "identical" and centres A − B on the theme's background, Plotly's mode bar
 * stays off the titles, crowded axes are thinned, tables scroll instead of being clipped, the
 * thumbnails follow the size control. Writes screenshots of every width × theme to
 * out/screenshots (copied to docs/screenshots by hand after looking at them).
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import type { HostToWebview } from '../../protocol/webview';
import { openModel } from '../../server/capture/openModel';
import type { OpenedModel } from '../../server/capture/types';
import { captureMessages } from '../../server/report/captureMessages';
import { thinTicks } from '../../webview/plotChrome';
import { launchChromium } from '../helpers/chromium';
import { closeChecked, openPanelPage, type PanelPage } from '../helpers/panelPage';
import { repoRoot } from '../helpers/webviewBundle';

const OUT = join(repoRoot, 'out', 'screenshots');
const TEXT_A = 'the cat sat on the dog . the cat sat on the old king and the little black cat saw the dog by the river . the king saw the cat and the dog .';
const TEXT_B = 'the old king saw a little black cat by the river . the cat sat on the dog and the king saw the cat . the dog saw the old cat by the king .';
const HALF = 700;
const FULL = 1400;

/** VS Code's Light+ and Dark High Contrast values of the variables the panel reads. */
const THEMES: Record<string, { cls: string; vars: Record<string, string> }> = {
  dark: { cls: 'vscode-dark', vars: { '--vscode-foreground': '#cccccc', '--vscode-editor-background': '#1e1e1e', '--vscode-panel-border': '#80808059' } },
  light: {
    cls: 'vscode-light',
    vars: { '--vscode-foreground': '#616161', '--vscode-editor-background': '#ffffff', '--vscode-panel-border': '#80808059', '--vscode-descriptionForeground': '#717171', '--vscode-input-background': '#ffffff', '--vscode-input-foreground': '#616161', '--vscode-button-secondaryBackground': '#5f6a79', '--vscode-button-secondaryForeground': '#ffffff', '--vscode-panelTitle-activeForeground': '#424242', '--vscode-panelTitle-inactiveForeground': '#424242bf', '--vscode-panelTitle-activeBorder': '#424242', '--vscode-dropdown-background': '#ffffff', '--vscode-dropdown-foreground': '#616161', '--vscode-dropdown-border': '#cecece' },
  },
  'high-contrast': {
    cls: 'vscode-high-contrast',
    vars: { '--vscode-foreground': '#ffffff', '--vscode-editor-background': '#000000', '--vscode-panel-border': '#6fc3df', '--vscode-contrastBorder': '#6fc3df', '--vscode-focusBorder': '#f38518', '--vscode-input-background': '#000000', '--vscode-input-foreground': '#ffffff', '--vscode-input-border': '#6fc3df', '--vscode-panelTitle-activeForeground': '#ffffff', '--vscode-panelTitle-inactiveForeground': '#ffffff', '--vscode-panelTitle-activeBorder': '#f38518', '--vscode-dropdown-background': '#000000', '--vscode-dropdown-foreground': '#ffffff', '--vscode-dropdown-border': '#6fc3df' },
  },
};

async function setTheme(p: PanelPage, name: string): Promise<void> {
  const t = THEMES[name];
  await p.page.evaluate(({ cls, vars }) => {
    for (const [k, v] of Object.entries(vars)) document.documentElement.style.setProperty(k, v);
    document.body.className = cls;
  }, t);
}

function rectsOverlap(a: DOMRect | null, b: DOMRect | null): boolean {
  if (!a || !b) return false;
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

describe('Attention panel layout at half and full width, light, dark and high contrast (headless Chromium)', function () {
  this.timeout(180_000);
  let browser: Browser;
  let model: OpenedModel;
  let a: HostToWebview[];
  let b: HostToWebview[];
  let a2: HostToWebview[];

  before(async () => {
    mkdirSync(OUT, { recursive: true });
    model = await openModel(join(repoRoot, 'samples', 'tiny-gpt'));
    a = (await captureMessages(model, { text: TEXT_A }, 'capA')).messages;
    b = (await captureMessages(model, { text: TEXT_B }, 'capB')).messages;
    a2 = (await captureMessages(model, { text: TEXT_A }, 'capA2')).messages;
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await model?.dispose();
  });

  async function panel(messages: HostToWebview[], width: number): Promise<PanelPage> {
    const p = await openPanelPage(browser);
    await p.page.setViewportSize({ width, height: 900 });
    await p.post([{ type: 'init', state: { text: TEXT_A }, theme: 'dark' }, ...messages]);
    await p.page.waitForFunction(() => (document.querySelector('.head-heatmap') as { data?: unknown[] } | null)?.data?.length === 1);
    return p;
  }

  const close = (p: PanelPage) => closeChecked(p);

  const diffTrace = (p: PanelPage) =>
    p.page.evaluate(() => {
      const gd = document.querySelector('.compare-diff') as unknown as { data: { zmin: number; zmax: number; colorscale: [number, string][] }[]; layout: { title: { text: string }; xaxis: { tickvals?: number[] } } };
      return { zmin: gd.data[0].zmin, zmax: gd.data[0].zmax, mid: gd.data[0].colorscale[2][1], title: gd.layout.title.text, xticks: gd.layout.xaxis.tickvals };
    });

  it('says "identical" for two equal captures, and centres A − B on the theme background', async () => {
    const p = await panel([...a, ...a2], FULL);
    try {
      await p.post([{ type: 'compare', a: { captureId: 'capA', label: 'run 1' }, b: { captureId: 'capA2', label: 'run 2' } }]);
      await p.page.waitForFunction(() => (document.querySelector('.compare-diff') as { data?: unknown[] } | null)?.data?.length === 1);
      const note = (await p.page.textContent('.compare-note')) ?? '';
      assert.match(note, /identical: every A − B is 0/);
      let t = await diffTrace(p);
      assert.equal(t.title, 'A − B: identical');
      assert.deepEqual([t.zmin, t.zmax], [-1, 1], 'a fixed ±1 scale, not ±1e-6 of noise');
      assert.equal(t.mid, 'rgb(30, 30, 30)', "the dark default background (the panel's --bg)");
      await setTheme(p, 'light');
      await p.page.waitForFunction(() => (document.querySelector('.compare-diff') as unknown as { data: { colorscale: [number, string][] }[] }).data[0].colorscale[2][1] === '#ffffff');
      t = await diffTrace(p);
      assert.equal(t.mid, '#ffffff');
      await p.page.locator('.compare-section').screenshot({ path: join(OUT, 'diff-identical-light.png') });
    } finally {
      await close(p);
    }
  });

  it('thins crowded axis labels of the comparison to one per 13 px, at half and full width', async () => {
    const count = (m: HostToWebview[]) => (m[0] as Extract<HostToWebview, { type: 'captureStarted' }>).tokens.length;
    const n = Math.min(count(a), count(b));
    assert.ok(n >= 29, `${n} tokens`);
    for (const width of [HALF, FULL]) {
      const p = await panel([...a, ...b], width);
      try {
        // Layer 1's same-token head depends on the words (layer 0's heads are positional).
        await p.post([{ type: 'compare', a: { captureId: 'capA', label: 'A' }, b: { captureId: 'capB', label: 'B' } }, { type: 'selectHead', layer: 1, head: 1 }]);
        await p.page.waitForFunction(() => document.querySelector('.compare-note')?.textContent?.startsWith('Layer 1 · head 1'));
        const t = await diffTrace(p);
        assert.match((await p.page.textContent('.compare-note')) ?? '', /largest \|A − B\|/);
        const plotWidth = await p.page.$eval('.compare-diff', (e) => e.clientWidth);
        const expected = thinTicks(n, Math.max(120, plotWidth - 110), 13);
        assert.deepEqual(t.xticks, expected);
        // No two labels closer than 13 px: the spacing the labels need.
        const step = expected[1] - expected[0];
        assert.ok(((plotWidth - 110) / n) * step >= 13 - 1e-9, `${width}: step ${step} over ${plotWidth} px`);
        // Full width puts A, B and A − B side by side (a third each): too narrow for every label.
        if (width === FULL) assert.ok(expected.length < n, 'thinned with three plots in a row');
        await p.page.locator('.compare-section').screenshot({ path: join(OUT, `compare-${width === HALF ? 'half' : 'full'}.png`) });
      } finally {
        await close(p);
      }
    }
  });

  it("keeps Plotly's mode bar off the titles", async () => {
    const p = await panel([...a, ...b], HALF);
    try {
      await p.post([{ type: 'compare', a: { captureId: 'capA', label: 'a long label for side A, longer than the plot is wide' }, b: { captureId: 'capB', label: 'B' } }]);
      await p.page.waitForFunction(() => (document.querySelector('.compare-diff') as { data?: unknown[] } | null)?.data?.length === 1);
      for (const sel of ['.head-heatmap', '.compare-a', '.compare-diff']) {
        const box = (await p.page.locator(sel).boundingBox())!;
        await p.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
        await p.page.waitForFunction((s) => {
          const m = document.querySelector(`${s} .modebar`) as HTMLElement | null;
          return m !== null && getComputedStyle(m).opacity === '1';
        }, sel);
        const [bar, title] = await p.page.evaluate((s) =>
          [`${s} .modebar`, `${s} .gtitle`].map((q) => {
            const e = document.querySelector(q);
            return e ? (JSON.parse(JSON.stringify(e.getBoundingClientRect())) as DOMRect) : null;
          }),
        sel);
        assert.ok(title, `${sel} has a title`);
        assert.ok(!rectsOverlap(bar, title), `${sel}: mode bar ${JSON.stringify(bar)} over title ${JSON.stringify(title)}`);
      }
    } finally {
      await close(p);
    }
  });

  it('the statistics table scrolls sideways at half width instead of running off the panel', async () => {
    const p = await panel(a, HALF);
    try {
      await p.page.waitForSelector('.stats-table tbody tr');
      const t = await p.page.$eval('.stats-table', (e) => ({ right: e.getBoundingClientRect().right, scroll: e.scrollWidth, client: e.clientWidth, overflow: getComputedStyle(e).overflowX }));
      const viewport = p.page.viewportSize()!.width;
      assert.ok(t.right <= viewport, `table ends at ${t.right} in a ${viewport} px panel`);
      assert.equal(t.overflow, 'auto');
      const page = await p.page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(page <= viewport, `the page does not scroll sideways (${page} px)`);
    } finally {
      await close(p);
    }
  });

  it('thumbnails fit the width by default and follow the size control (kept in the state)', async () => {
    const p = await panel(a, FULL);
    try {
      const cell = async () => JSON.parse((await p.page.getAttribute('canvas.thumbnail-grid', 'data-geometry'))!).cell as number;
      const fit = await cell();
      const hostWidth = await p.page.$eval('.grid-host', (e) => e.clientWidth);
      const n = (a[0] as Extract<HostToWebview, { type: 'captureStarted' }>).tokens.length;
      // A whole number of pixels per token, as large as the room allows (webview/thumbnailGrid.ts).
      const pixelExact = (room: number) => Math.floor(room / n) * n;
      // 4 heads a row: the thumbnails use the column's width (minus labels and gaps), up to 160 px.
      const room = Math.min(160, Math.floor((hostWidth - 34) / 4) - 6);
      assert.equal(fit, pixelExact(room), `${fit} px in ${hostWidth}`);
      assert.ok(fit > 96, `${fit} px: larger than the old 96 px cap allowed`);
      await p.page.selectOption('select[name="thumb-size"]', '64');
      assert.equal(await cell(), pixelExact(64));
      await p.page.selectOption('select[name="thumb-size"]', '192');
      assert.equal(await cell(), pixelExact(192));
      assert.equal((await p.state())?.thumbSize, '192');
      const scroll = await p.page.$eval('.grid-host', (e) => e.scrollWidth > e.clientWidth);
      assert.ok(scroll, 'a grid wider than its column scrolls');
    } finally {
      await close(p);
    }
  });

  it('screenshots: half and full width × dark, light and high contrast', async () => {
    for (const width of [HALF, FULL]) {
      const p = await panel(a, width);
      try {
        await p.page.check('.hv-heads input[data-head="2"]');
        for (const theme of Object.keys(THEMES)) {
          await setTheme(p, theme);
          await p.page.waitForFunction((bg) => {
            const gd = document.querySelector('.head-heatmap') as unknown as { _fullLayout?: { font?: { color?: string } } };
            return gd._fullLayout?.font?.color !== undefined && getComputedStyle(document.body).getPropertyValue('--vscode-editor-background').trim() === bg;
          }, THEMES[theme].vars['--vscode-editor-background']);
          await p.page.mouse.move(1, 1);
          const file = join(OUT, `panel-${theme}-${width === HALF ? 'half' : 'full'}.png`);
          await p.page.screenshot({ path: file, fullPage: true });
          assert.ok(readFileSync(file).length > 10_000);
        }
        await setTheme(p, 'dark');
        await p.page.locator('.head-view-section').screenshot({ path: join(OUT, `head-view-${width === HALF ? 'half' : 'full'}.png`) });
        await p.page.click('.model-view-section > summary');
        await p.page.waitForFunction(() => document.querySelectorAll('.mv-grid canvas[data-lines]').length === 8);
        await p.page.locator('.model-view-section').screenshot({ path: join(OUT, `model-view-${width === HALF ? 'half' : 'full'}.png`) });
      } finally {
        await close(p);
      }
    }
  });
});
