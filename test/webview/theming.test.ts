/**
 * The panel's colour choices, themes and keyboard use, in headless Chromium on the real capture
 * of samples/tiny-gpt (server/report/captureMessages.ts): per-head thumbnail scaling against
 * colorScale(w / head max) computed here, cividis against matplotlib's published endpoints,
 * Enter/Escape on the token strip, and VS Code's light and high-contrast themes reaching
 * Plotly's font and the thumbnail borders. Screenshots (out/screenshots, copied to docs/ by npm run screenshots): panel-light.png and
 * panel-high-contrast.png.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { decodeFloat32, encodeFloat32 } from '../../protocol/encoding';
import type { HostToWebview } from '../../protocol/webview';
import { openModel } from '../../server/capture/openModel';
import type { LayerMap, OpenedModel } from '../../server/capture/types';
import { captureMessages } from '../../server/report/captureMessages';
import { colorScale } from '../../webview/colorScale';
import { launchChromium } from '../helpers/chromium';
import { openCapturedPanel, openPanelPage, type PanelPage, violations } from '../helpers/panelPage';
import { pixelAt, thumbCellCenter } from '../helpers/panelProbe';
import { repoRoot } from '../helpers/webviewBundle';
import { SOURCE, TARGET, crossAttentionRun } from '../helpers/crossAttention';
import { screenshotPath } from '../helpers/screenshots';

const TEXT = 'The old king saw a little black cat by the river.';
type Layer = Extract<HostToWebview, { type: 'layer' }>;

/** VS Code's Light+ and Dark High Contrast values of the variables the panel reads. */
const LIGHT: Record<string, string> = {
  '--vscode-foreground': '#616161',
  '--vscode-editor-background': '#ffffff',
  '--vscode-descriptionForeground': '#717171',
  '--vscode-panel-border': '#80808059',
  '--vscode-focusBorder': '#0090f1',
  '--vscode-input-background': '#ffffff',
  '--vscode-input-foreground': '#616161',
  '--vscode-input-border': '#cecece',
  '--vscode-dropdown-background': '#ffffff',
  '--vscode-dropdown-foreground': '#616161',
  '--vscode-dropdown-border': '#cecece',
  '--vscode-button-background': '#007acc',
  '--vscode-button-foreground': '#ffffff',
  '--vscode-button-secondaryBackground': '#5f6a79',
  '--vscode-button-secondaryForeground': '#ffffff',
  '--vscode-panelTitle-activeForeground': '#424242',
  '--vscode-panelTitle-inactiveForeground': '#424242bf',
  '--vscode-panelTitle-activeBorder': '#424242',
  '--vscode-checkbox-background': '#ffffff',
  '--vscode-checkbox-border': '#919191',
};
const HIGH_CONTRAST: Record<string, string> = {
  '--vscode-foreground': '#ffffff',
  '--vscode-editor-background': '#000000',
  '--vscode-descriptionForeground': '#ffffffb3',
  '--vscode-panel-border': '#6fc3df',
  '--vscode-contrastBorder': '#6fc3df',
  '--vscode-contrastActiveBorder': '#f38518',
  '--vscode-focusBorder': '#f38518',
  '--vscode-input-background': '#000000',
  '--vscode-input-foreground': '#ffffff',
  '--vscode-input-border': '#6fc3df',
  '--vscode-dropdown-background': '#000000',
  '--vscode-dropdown-foreground': '#ffffff',
  '--vscode-dropdown-border': '#6fc3df',
  '--vscode-button-background': '#000000',
  '--vscode-button-foreground': '#ffffff',
  '--vscode-button-border': '#6fc3df',
  '--vscode-button-secondaryBackground': '#000000',
  '--vscode-button-secondaryForeground': '#ffffff',
  '--vscode-panelTitle-activeForeground': '#ffffff',
  '--vscode-panelTitle-inactiveForeground': '#ffffff',
  '--vscode-panelTitle-activeBorder': '#f38518',
  '--vscode-checkbox-background': '#000000',
  '--vscode-checkbox-border': '#6fc3df',
};

function max(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, v);
  return m;
}

function near(actual: number[], expected: number[], levels: number, what: string): void {
  assert.ok(actual.every((v, i) => Math.abs(v - expected[i]) <= levels), `${what}: ${actual} vs ${expected}`);
}

describe('Attention panel colours, themes and keyboard (headless Chromium)', function () {
  this.timeout(120_000);
  let browser: Browser;
  let model: OpenedModel;
  let messages: HostToWebview[];
  let maps: LayerMap[];
  /**
   * The same capture without query row 0. Every causal head gives weight 1 to the first token
   * from query 0, so on the full maps each head's maximum is 1 and per-head scaling would change
   * nothing; from query 1 on, the uniform head L0 H3 peaks at 1/2 (query 1 over two keys).
   */
  let windowed: HostToWebview[];

  const panel = (msgs: HostToWebview[], initial?: Parameters<typeof openPanelPage>[1]): Promise<PanelPage> => openCapturedPanel(browser, msgs, initial ?? {}, initial);

  before(async () => {
    model = await openModel(join(repoRoot, 'samples', 'tiny-gpt'));
    ({ messages, maps } = await captureMessages(model, { text: TEXT }, 'theme'));
    windowed = messages.map((m) => {
      if (m.type !== 'layer') return m;
      const d = decodeFloat32(m.data);
      const out = new Float32Array(m.heads * (m.queries - 1) * m.keys);
      for (let h = 0; h < m.heads; h++) out.set(d.subarray((h * m.queries + 1) * m.keys, (h + 1) * m.queries * m.keys), h * (m.queries - 1) * m.keys);
      return { ...m, queries: m.queries - 1, data: encodeFloat32(out) };
    });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await model?.dispose();
  });

  it('per-head scaling paints a low-maximum head as colorScale(w / head max); shared as colorScale(w / capture max)', async () => {
    const layers = windowed.filter((m): m is Layer => m.type === 'layer');
    const l0 = decodeFloat32(layers[0].data);
    const { queries: nq, keys: nk } = layers[0];
    const head3 = l0.subarray(3 * nq * nk, 4 * nq * nk);
    const headMax = max(head3);
    const globalMax = Math.max(...layers.map((l) => max(decodeFloat32(l.data))));
    assert.ok(Math.abs(headMax - 0.5) < 1e-3, `uniform head from query 1: max 1/2, got ${headMax}`);
    assert.ok(globalMax > 0.9, `some head is near 1 (${globalMax})`);
    const p = await panel(windowed);
    try {
      // Query 1 (row 0 here) over key 0, and a late query over key 2: both weights of the uniform head.
      const cells: [number, number][] = [[0, 0], [nq - 1, 2]];
      const check = async (div: number, what: string) => {
        for (const [q, k] of cells) {
          const c = await thumbCellCenter(p.page, 0, 3, q, k, nq, nk);
          assert.ok(c.exact);
          assert.deepEqual(await pixelAt(p.page, c.x, c.y), colorScale(head3[q * nk + k] / div), `${what} (${q}, ${k})`);
        }
      };
      await check(globalMax, 'shared');
      assert.match((await p.page.textContent('.legend'))!, new RegExp(`one scale, 0 to ${globalMax.toFixed(3)}`));
      await p.page.selectOption('select[name="colour-mode"]', 'perHead');
      await check(headMax, 'per head');
      // The peak of the head is the top of the scale: viridis(1).
      const top = await thumbCellCenter(p.page, 0, 3, 0, 0, nq, nk);
      assert.deepEqual(await pixelAt(p.page, top.x, top.y), [0xfd, 0xe7, 0x25]);
      assert.match((await p.page.textContent('.legend'))!, /each head scaled to its own largest weight/);
      assert.equal((await p.state())?.colorMode, 'perHead');
      assert.deepEqual(await violations(p.page), []);
    } finally {
      await p.close();
    }
    // A reload starts from the stored state.
    const again = await panel(windowed, { colorMode: 'perHead' });
    try {
      assert.equal(await again.page.inputValue('select[name="colour-mode"]'), 'perHead');
      const c = await thumbCellCenter(again.page, 0, 3, nq - 1, 2, nq, nk);
      assert.deepEqual(await pixelAt(again.page, c.x, c.y), colorScale(head3[(nq - 1) * nk + 2] / headMax));
    } finally {
      await again.close();
    }
  });

  it('cividis reaches the thumbnails and Plotly, with matplotlib cividis endpoints', async () => {
    const p = await panel(messages);
    try {
      await p.page.selectOption('select[name="colour-scale"]', 'cividis');
      const n = maps[0].queries;
      // L0 H1 (first token): weight 1 at (q, 0) for every q, weight 0 above the diagonal.
      const one = await thumbCellCenter(p.page, 0, 1, 0, 0, n, n);
      const zero = await thumbCellCenter(p.page, 0, 1, 0, n - 1, n, n);
      assert.ok(Math.abs(maps[0].data[1 * n * n] - 1) < 1e-4 && maps[0].data[1 * n * n + n - 1] === 0);
      near(await pixelAt(p.page, one.x, one.y), [0xfe, 0xe8, 0x38], 3, 'cividis(1)');
      near(await pixelAt(p.page, zero.x, zero.y), [0x00, 0x22, 0x4e], 3, 'cividis(0)');
      const scale = await p.page.evaluate(() => {
        const el = document.querySelector('.head-heatmap') as unknown as { data: { colorscale: [number, string][] }[] };
        return el.data[0].colorscale;
      });
      const rgb = (s: string) => s.match(/\d+/g)!.map(Number);
      near(rgb(scale[0][1]), [0x00, 0x22, 0x4e], 3, 'Plotly cividis(0)');
      near(rgb(scale.at(-1)![1]), [0xfe, 0xe8, 0x38], 3, 'Plotly cividis(1)');
      assert.equal((await p.state())?.scale, 'cividis');
      assert.match((await p.page.textContent('.legend'))!, /cividis on a square-root scale/);
      // Greys: white for no attention, black for all of it.
      await p.page.selectOption('select[name="colour-scale"]', 'greys');
      assert.deepEqual(await pixelAt(p.page, zero.x, zero.y), [255, 255, 255]);
      assert.deepEqual(await pixelAt(p.page, one.x, one.y), [0, 0, 0]);
    } finally {
      await p.close();
    }
  });

  it('keyboard on the token strip: arrows move, Enter keeps the query, Escape clears it', async () => {
    const p = await panel(messages);
    try {
      // Layer 0 head 0 is selected: the previous-token head.
      await p.page.focus('.token-strip .token[data-index="0"]');
      await p.page.keyboard.press('ArrowRight');
      await p.page.keyboard.press('ArrowRight');
      await p.page.keyboard.press('ArrowLeft');
      await p.page.keyboard.press('ArrowRight');
      await p.page.keyboard.press('Enter');
      assert.equal(await p.page.getAttribute('.token-strip .token.pinned', 'data-index'), '2');
      assert.equal(await p.page.getAttribute('.token-strip .token[data-index="2"]', 'tabindex'), '0');
      // Focus leaves the strip: the pinned query stays, its weights on the tokens.
      await p.page.focus('canvas.thumbnail-grid');
      assert.equal(await p.page.getAttribute('.token-strip .token.query', 'data-index'), '2');
      const n = maps[0].queries;
      for (let k = 0; k < 4; k++) {
        assert.equal(await p.page.getAttribute(`.token-strip .token[data-index="${k}"]`, 'data-weight'), maps[0].data[2 * n + k].toFixed(4));
      }
      await p.page.focus('.token-strip .token[data-index="2"]');
      await p.page.keyboard.press('Escape');
      await p.page.focus('canvas.thumbnail-grid');
      assert.equal(await p.page.$('.token-strip .token.pinned'), null);
      assert.equal(await p.page.$('.token-strip .token.query'), null);
    } finally {
      await p.close();
    }
  });

  it('light and high-contrast themes: Plotly font is --vscode-foreground; high contrast borders the thumbnails', async () => {
    const p = await panel(messages);
    const theme = async (cls: string, vars: Record<string, string>) => {
      await p.page.evaluate(
        ([c, v]) => {
          const root = document.documentElement;
          root.removeAttribute('style');
          for (const [k, val] of Object.entries(v)) root.style.setProperty(k, val);
          document.body.className = c;
        },
        [cls, vars] as const,
      );
      const want = vars['--vscode-foreground'];
      // Every Plotly figure on screen (the head heatmap, the analysis chart) is drawn again.
      await p.page.waitForFunction((fg) => {
        const plots = [...document.querySelectorAll('.js-plotly-plot')] as unknown as { layout?: { font?: { color?: string } } }[];
        return plots.length >= 2 && plots.every((el) => el.layout?.font?.color === fg);
      }, want);
    };
    try {
      await theme('vscode-light', LIGHT);
      await p.page.waitForTimeout(300);
      await p.page.screenshot({ path: screenshotPath('panel-light.png'), fullPage: true });
      await theme('vscode-high-contrast', HIGH_CONTRAST);
      const n = maps[0].queries;
      const c = await thumbCellCenter(p.page, 1, 2, 0, 0, n, n);
      const g = JSON.parse((await p.page.getAttribute('canvas.thumbnail-grid', 'data-geometry'))!) as { left: number; top: number; cell: number; gap: number };
      // The border runs 2 px outside the cell, in the gap.
      const x0 = g.left + 2 * (g.cell + g.gap);
      assert.deepEqual(await pixelAt(p.page, x0 - 2, c.y), [0x6f, 0xc3, 0xdf]);
      await p.page.waitForTimeout(300);
      await p.page.screenshot({ path: screenshotPath('panel-high-contrast.png'), fullPage: true });
      assert.deepEqual(await violations(p.page), []);
    } finally {
      await p.close();
    }
  });

  it('encoder-decoder: an encoder self layer is labelled with source tokens, a cross layer target x source', async () => {
    // The panel's tokens are the target (extension/captureRelay.ts panelTokens); an encoder self
    // layer has source x source maps. Its weights here: softmax over the source of a one-hot score.
    const cross = await crossAttentionRun(1);
    const S = SOURCE.length;
    const self = new Float32Array(S * S);
    for (let q = 0; q < S; q++) {
      const e = Array.from({ length: S }, (_, k) => Math.exp(k === q ? 2 : 0));
      const z = e.reduce((a, b) => a + b, 0);
      e.forEach((v, k) => (self[q * S + k] = v / z));
    }
    const [started, crossLayer, done] = cross.messages as [Extract<HostToWebview, { type: 'captureStarted' }>, Layer, HostToWebview];
    const msgs: HostToWebview[] = [
      { ...started, layers: [{ index: 0, kind: 'self', heads: 1 }, { index: 1, kind: 'cross', heads: 1 }] },
      { type: 'layer', captureId: started.captureId, layer: 0, heads: 1, queries: S, keys: S, pool: 1, data: encodeFloat32(self) },
      { ...crossLayer, layer: 1 },
      done,
    ];
    const p = await panel(msgs);
    const axes = () =>
      p.page.evaluate(() => {
        const l = (document.querySelector('.head-heatmap') as unknown as { layout: { title: { text: string }; xaxis: { ticktext: string[] }; yaxis: { ticktext: string[] } } }).layout;
        return { title: l.title.text, x: l.xaxis.ticktext.slice(0, 3), y: l.yaxis.ticktext.slice(0, 3) };
      });
    try {
      const enc = await axes();
      assert.deepEqual([enc.x, enc.y], [SOURCE.slice(0, 3), SOURCE.slice(0, 3)]);
      assert.ok(!enc.title.includes('cross'), enc.title);
      await p.post([{ type: 'selectHead', layer: 1, head: 0 }]);
      await p.page.waitForFunction(() => (document.querySelector('.head-heatmap') as unknown as { layout: { title: { text: string } } }).layout.title.text.includes('cross'));
      const x = await axes();
      assert.deepEqual([x.x, x.y], [SOURCE.slice(0, 3), TARGET.slice(0, 3)]);
    } finally {
      await p.close();
    }
  });
});
