/**
 * The analyses section of the Attention panel in headless Chromium, fed the real capture of
 * samples/tiny-gpt on samples/texts/induction.txt: the statistics table and heatmap, the layer
 * summary, the layer mean, rollout, flow and head similarity are read back from the page (table cells, Plotly's
 * drawn values, its hover labels) and compared with computations written here
 * (test/helpers/analysisReference.ts), and the heads with their README roles.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { encodeFloat32 } from '../../protocol/encoding';
import type { HostToWebview } from '../../protocol/webview';
import { openModel } from '../../server/capture/openModel';
import type { LayerMap } from '../../server/capture/types';
import { captureMessages } from '../../server/report/captureMessages';
import { MAX_CELLS } from '../../webview/layerMaps';
import { flowReference, headArrays, meanArrays, rolloutReference, statsOf } from '../helpers/analysisReference';
import { launchChromium } from '../helpers/chromium';
import { openPanelPage, type PanelPage, violations } from '../helpers/panelPage';
import { repoRoot } from '../helpers/webviewBundle';
import { screenshotPath } from '../helpers/screenshots';
import type { LayerReductions } from '../../server/capture/layerReductions';
import { statsParams } from '../../server/lsp/reducedLayers';


type Plot = { data: { z: (number | null)[][]; text: string[][] }[] };

async function plotData(page: Page, selector: string): Promise<{ z: (number | null)[][]; text: string[][] }> {
  await page.waitForFunction((s) => ((document.querySelector(s) as unknown as Plot | null)?.data?.length ?? 0) === 1, selector);
  return page.evaluate((s) => {
    const d = (document.querySelector(s) as unknown as Plot).data[0];
    return { z: d.z, text: d.text };
  }, selector);
}

/** Moves the real mouse over cell (row, col) of a Plotly grid and returns its hover label. */
async function hover(page: Page, selector: string, row: number, col: number): Promise<string> {
  await page.mouse.move(0, 0);
  const [x, y] = await page.evaluate(
    ([s, r, c]) => {
      type Axis = { _offset: number; l2p(v: number): number };
      const gd = document.querySelector(s as string) as HTMLElement & { _fullLayout: { xaxis: Axis; yaxis: Axis } };
      // The section sits below the fold: bring the cell to the middle of the viewport first.
      // (No named helpers in here: the test transpiler would wrap them in a function the page lacks.)
      const dy = gd._fullLayout.yaxis._offset + gd._fullLayout.yaxis.l2p(r as number);
      window.scrollBy(0, gd.getBoundingClientRect().top + dy - window.innerHeight / 2);
      const b = gd.getBoundingClientRect();
      return [b.left + gd._fullLayout.xaxis._offset + gd._fullLayout.xaxis.l2p(c as number), b.top + dy];
    },
    [selector, row, col] as const,
  );
  await page.mouse.move(x, y);
  const label = page.locator(`${selector} .hoverlayer .hovertext`);
  await label.waitFor();
  return (await label.locator('tspan.line').allTextContents()).join('\n');
}

async function openTab(page: Page, id: string): Promise<void> {
  await page.click(`#analysis-tab-${id}`);
  await page.waitForFunction((i) => (document.querySelector('.analysis-section') as HTMLElement).dataset.active === i, id);
}

describe('Attention panel analyses in headless Chromium', function () {
  this.timeout(120_000);
  let browser: Browser;
  let p: PanelPage;
  let maps: LayerMap[];
  let tokens: string[];
  let n: number;

  before(async () => {
    const model = await openModel(join(repoRoot, 'samples', 'tiny-gpt'));
    try {
      const text = readFileSync(join(repoRoot, 'samples', 'texts', 'induction.txt'), 'utf8');
      const run = await captureMessages(model, { text }, 'sample');
      maps = run.maps;
      tokens = (run.messages[0] as Extract<HostToWebview, { type: 'captureStarted' }>).tokens.map((t) => t.text);
      n = tokens.length;
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
        assert.deepEqual(p.refused, [], 'the panel requested nothing outside its bundle');
        assert.deepEqual([...p.problems, ...(await violations(p.page))], [], 'no CSP violation or page error');
      } finally {
        await p.close();
      }
    }
    await browser?.close();
  });

  it('the statistics table shows every head with figures equal to an independent computation', async () => {
    await p.page.waitForFunction(() => document.querySelectorAll('.stats-table tbody tr').length === 8);
    const rows = await p.page.$$eval('.stats-table tbody tr', (trs) =>
      trs.map((tr) => ({
        layer: Number((tr as HTMLElement).dataset.layer),
        head: Number((tr as HTMLElement).dataset.head),
        cells: Object.fromEntries([...tr.querySelectorAll('td')].map((td) => [(td as HTMLElement).dataset.key, td.textContent])),
      })),
    );
    for (const r of rows) {
      const expected = statsOf(headArrays(maps[r.layer].data, r.head, n), 3);
      for (const [key, v] of Object.entries(expected)) assert.equal(r.cells[key], v.toFixed(4), `L${r.layer}H${r.head} ${key}`);
    }
    const cell = (l: number, h: number, key: string) => Number(rows.find((r) => r.layer === l && r.head === h)!.cells[key]);
    assert.ok(cell(0, 0, 'previous') > 0.9, 'README: L0H0 is a previous-token head');
    assert.ok(cell(0, 1, 'first') > 0.9, 'README: L0H1 is a first-token head');
    assert.ok(cell(0, 2, 'self') > 0.9, 'README: L0H2 attends to itself');
    // Uniform head: mean over rows of ln(i + 1).
    const uniform = Array.from({ length: n }, (_, i) => Math.log(i + 1)).reduce((a, b) => a + b) / n;
    assert.equal(cell(0, 3, 'entropy'), Number(uniform.toFixed(4)));
  });

  it('the layer x head heatmap draws the chosen statistic, with hover text; filters hide heads', async () => {
    const { z } = await plotData(p.page, '.analysis-stats-plot');
    for (let l = 0; l < 2; l++) for (let h = 0; h < 4; h++) {
      const e = statsOf(headArrays(maps[l].data, h, n), 3).entropy;
      assert.ok(Math.abs(z[l][h]! - e) < 1e-9, `entropy L${l}H${h}: ${z[l][h]} vs ${e}`);
    }
    const label = await hover(p.page, '.analysis-stats-plot', 0, 3);
    assert.equal(label, `L0 H3\nEntropy: ${z[0][3]!.toFixed(4)}`);
    // Statistic "Previous", top 2 heads: the two previous-token heads of the README.
    await p.page.selectOption('.analysis-stats select[name="stat"]', 'previous');
    await p.page.fill('.analysis-stats input[name="topheads"]', '2');
    await p.page.dispatchEvent('.analysis-stats input[name="topheads"]', 'change');
    await p.page.waitForFunction(() => document.querySelectorAll('.stats-table tbody tr').length === 2);
    const shown = await p.page.$$eval('.stats-table tbody th', (ths) => ths.map((t) => t.textContent).sort());
    assert.deepEqual(shown, ['L0 H0', 'L1 H2']);
    const filtered = (await plotData(p.page, '.analysis-stats-plot')).z;
    assert.equal(filtered.flat().filter((v) => v !== null).length, 2);
    await p.page.fill('.analysis-stats input[name="topheads"]', '0');
    await p.page.dispatchEvent('.analysis-stats input[name="topheads"]', 'change');
    await p.page.waitForFunction(() => document.querySelectorAll('.stats-table tbody tr').length === 8);
  });

  it('sorts by a column (descending, then ascending) and opens a head from the table', async () => {
    await p.page.click('.stats-table th[data-key="first"] button');
    const col = () => p.page.$$eval('.stats-table tbody td[data-key="first"]', (tds) => tds.map((t) => Number(t.textContent)));
    const desc = await col();
    assert.deepEqual(desc, [...desc].sort((a, b) => b - a));
    assert.equal(await p.page.getAttribute('.stats-table th[data-key="first"]', 'aria-sort'), 'descending');
    const top = await p.page.textContent('.stats-table tbody tr:first-child th');
    assert.ok(top === 'L0 H1' || top === 'L1 H3', `a first-token head leads: ${top}`);
    await p.page.click('.stats-table th[data-key="first"] button');
    const asc = await col();
    assert.deepEqual(asc, [...asc].sort((a, b) => a - b));
    await p.page.click('.stats-table tbody tr[data-layer="1"][data-head="2"] button');
    assert.deepEqual((await p.posted()).at(-1), { type: 'selectHead', layer: 1, head: 2 });
    assert.deepEqual((await p.state())?.selected, { layer: 1, head: 2 });
    await p.page.selectOption('.analysis-stats select[name="stat"]', 'entropy');
    await p.page.click('.stats-table th[data-key="layer"] button');
    await p.page.locator('.analysis-section').scrollIntoViewIfNeeded();
    await p.page.locator('.analysis-section').screenshot({ path: screenshotPath('statistics.png') });
  });

  it('the layer view draws the mean over heads', async () => {
    await openTab(p.page, 'layer');
    const { z } = await plotData(p.page, '.analysis-layer-plot');
    const mean = meanArrays([0, 1, 2, 3].map((h) => headArrays(maps[0].data, h, n)));
    for (let q = 0; q < n; q += 7) for (let k = 0; k <= q; k += 3) assert.ok(Math.abs(z[q][k]! - mean[q][k]) < 1e-6, `(${q}, ${k})`);
    // Top-1 key per row: each drawn row keeps its largest mean weight only (blank elsewhere).
    await p.page.fill('.analysis-layer input[name="topk"]', '1');
    await p.page.dispatchEvent('.analysis-layer input[name="topk"]', 'change');
    await p.page.waitForFunction(() => (document.querySelector('.analysis-layer-plot') as unknown as Plot).data[0].z[5].filter((v) => v !== null).length === 1);
    const top = (await plotData(p.page, '.analysis-layer-plot')).z;
    for (let q = 0; q < n; q++) {
      const drawn = top[q].flatMap((v, k) => (v === null ? [] : [k]));
      const best = Math.max(...mean[q]);
      assert.deepEqual(drawn, mean[q].flatMap((v, k) => (v === best ? [k] : [])), `row ${q}`);
    }
    await p.page.fill('.analysis-layer input[name="topk"]', '0');
    await p.page.dispatchEvent('.analysis-layer input[name="topk"]', 'change');
  });

  it('rollout equals a direct product of augmented head means, in the drawing and the hover', async () => {
    await openTab(p.page, 'rollout');
    const { z } = await plotData(p.page, '.analysis-rollout-plot');
    const means = maps.map((m) => meanArrays([0, 1, 2, 3].map((h) => headArrays(m.data, h, n))));
    const r = rolloutReference(means);
    assert.equal(z.length, n);
    for (let q = 0; q < n; q++) for (let k = 0; k < n; k++) assert.ok(Math.abs(z[q][k]! - r[q][k]) < 1e-6, `R[${q}][${k}]`);
    const label = await hover(p.page, '.analysis-rollout-plot', 20, 19);
    assert.equal(label, `output: "${tokens[20]}" (#20)\ninput: "${tokens[19]}" (#19)\nrollout: ${r[20][19].toFixed(4)}`);
    await p.page.mouse.move(0, 0);
    await p.page.locator('.analysis-section').screenshot({ path: screenshotPath('rollout.png') });
  });

  it('hiding special tokens drops [BOS] and rolls out the renormalised maps', async () => {
    await p.page.check('input[name="hide-special"]');
    await p.page.waitForFunction((m) => ((document.querySelector('.analysis-rollout-plot') as unknown as Plot).data[0].z.length === m), n - 1);
    const { z } = await plotData(p.page, '.analysis-rollout-plot');
    const kept = Array.from({ length: n - 1 }, (_, i) => i + 1);
    const r = rolloutReference(maps.map((m) => meanArrays([0, 1, 2, 3].map((h) => headArrays(m.data, h, n, kept)))));
    for (let q = 0; q < n - 1; q += 3) for (let k = 0; k < n - 1; k += 2) assert.ok(Math.abs(z[q][k]! - r[q][k]) < 1e-6, `hidden R[${q}][${k}]`);
    assert.match((await p.page.textContent('.analysis-caveat')) ?? '', /1 special token\(s\) hidden/);
    await p.page.uncheck('input[name="hide-special"]');
    await p.page.waitForFunction((m) => ((document.querySelector('.analysis-rollout-plot') as unknown as Plot).data[0].z.length === m), n);
  });

  it('arrow keys move between tabs; flow matches Edmonds-Karp for sampled pairs', async () => {
    await p.page.focus('#analysis-tab-rollout');
    await p.page.keyboard.press('ArrowRight');
    await p.page.waitForFunction(() => (document.querySelector('.analysis-section') as HTMLElement).dataset.active === 'flow');
    await p.page.waitForFunction(() => (document.querySelector('.analysis-flow-plot') as HTMLElement).dataset.done === 'true', undefined, { timeout: 60_000 });
    const { z } = await plotData(p.page, '.analysis-flow-plot');
    assert.equal(z.length, n, 'every output row on a 69-token text');
    const means = maps.map((m) => meanArrays([0, 1, 2, 3].map((h) => headArrays(m.data, h, n))));
    for (const [i, j] of [[n - 1, 0], [n - 1, n - 2], [10, 9], [5, 5]]) {
      const f = flowReference(means, i, j);
      assert.ok(Math.abs(z[i][j]! - f) < 1e-6, `flow ${i} -> ${j}: ${z[i][j]} vs ${f}`);
    }
    assert.match((await p.page.textContent('.analysis-flow .hint')) ?? '', /n ≤ 256/);
  });

  it('head similarity: a symmetric matrix with unit diagonal, the README twins grouped, a click opens a head', async () => {
    await openTab(p.page, 'similarity');
    const { z } = await plotData(p.page, '.analysis-similarity-plot');
    assert.equal(z.length, 8);
    for (let i = 0; i < 8; i++) {
      assert.ok(Math.abs(z[i][i]! - 1) < 1e-12);
      for (let j = 0; j < 8; j++) assert.equal(z[i][j], z[j][i]);
    }
    const groups = await p.page.$$eval('.group-list li', (lis) => lis.map((li) => [...li.querySelectorAll('button')].map((b) => b.textContent)));
    const groupOf = (label: string) => groups.findIndex((g) => g.includes(label));
    assert.equal(groupOf('L0H0'), groupOf('L1H2'), JSON.stringify(groups));
    assert.equal(groupOf('L0H1'), groupOf('L1H3'), JSON.stringify(groups));
    assert.notEqual(groupOf('L0H0'), groupOf('L0H1'));
    await p.page.click('.group-list button[data-layer="0"][data-head="1"]');
    assert.deepEqual((await p.posted()).at(-1), { type: 'selectHead', layer: 0, head: 1 });
    await p.page.mouse.move(0, 0);
    await p.page.locator('.analysis-section').screenshot({ path: screenshotPath('similarity.png') });
  });

  it('the layer summary: one row per layer, head means equal to an independent computation, and the lowest-entropy head', async () => {
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

  it('the layer summary: a click on the most focused head opens it in the panel', async () => {
    const label = (await p.page.textContent('.layer-summary-table tbody tr[data-layer="1"] [data-key="focused"]'))!;
    await p.page.click('.layer-summary-table tbody tr[data-layer="1"] [data-key="focused"] button');
    const [, layer, head] = /^L(\d+) H(\d+)$/.exec(label)!.map(Number);
    await p.page.waitForFunction(() => (window as unknown as { __state?: { selected?: unknown } }).__state?.selected !== undefined);
    assert.deepEqual((await p.state())?.selected, { layer, head });
    assert.ok((await p.posted()).some((m) => m.type === 'selectHead' && m.layer === layer && m.head === head), 'the host is told the head');
  });

  it('attention sinks: per layer the keys receiving the most mass, with shares and the strongest head equal to an independent computation', async () => {
    await openTab(p.page, 'sinks');
    await p.page.waitForFunction(() => document.querySelectorAll('.analysis-sinks tbody tr').length === 2);
    const rows = await p.page.$$eval('.analysis-sinks tbody tr', (trs) =>
      trs.map((tr) => Object.fromEntries([...tr.querySelectorAll('[data-key]')].map((c) => [(c as HTMLElement).dataset.key, [c.textContent, (c as HTMLElement).dataset.token]]))));
    for (let l = 0; l < 2; l++) {
      const heads = [0, 1, 2, 3].map((h) => headArrays(maps[l].data, h, n));
      // Mass each key receives in head h: the mean of its column over the query rows.
      const received = heads.map((m) => tokens.map((_, k) => m.reduce((s, row) => s + row[k], 0) / n));
      const mass = tokens.map((_, k) => received.reduce((s, r) => s + r[k], 0) / heads.length);
      const total = mass.reduce((a, b) => a + b, 0);
      const top = tokens.map((_, k) => k).sort((a, b) => mass[b] - mass[a] || a - b).slice(0, 3);
      top.forEach((k, s) => {
        assert.deepEqual(rows[l][`sink${s + 1}`], [`"${tokens[k]}" (#${k}) ${(mass[k] / total).toFixed(4)}`, String(k)], `L${l} sink ${s + 1}`);
      });
      const strongest = received.reduce((best, r, h) => (r[top[0]] > received[best][top[0]] ? h : best), 0);
      assert.equal(rows[l].strongest[0], `L${l} H${strongest}`);
    }
    // README: layer 0 has a first-token head, so the first token is that layer's top sink.
    assert.equal(rows[0].sink1[1], '0');
    await p.page.click('.analysis-sinks tbody tr[data-layer="0"] [data-key="strongest"] button');
    const [, layer, head] = /^L(\d+) H(\d+)$/.exec(rows[0].strongest[0]!)!.map(Number);
    assert.ok((await p.posted()).some((m) => m.type === 'selectHead' && m.layer === layer && m.head === head), 'the host is told the head');
    await p.page.mouse.move(0, 0);
    await p.page.locator('.analysis-section').screenshot({ path: screenshotPath('sinks.png') });
  });

  it('a long text: rollout drawn MAX_CELLS a side by block max, flow refused past 256 tokens, pooled maps flagged', async () => {
    const model = await openModel(join(repoRoot, 'samples', 'tiny-gpt'));
    let run: Awaited<ReturnType<typeof captureMessages>>;
    try {
      run = await captureMessages(model, { text: readFileSync(join(repoRoot, 'samples', 'texts', 'long.txt'), 'utf8').slice(0, 1400) }, 'long');
    } finally {
      await model.dispose();
    }
    const N = run.maps[0].queries;
    assert.ok(N > MAX_CELLS && N > 256, `${N} tokens`);
    await p.post(run.messages);
    await openTab(p.page, 'rollout');
    await p.page.waitForFunction((m) => ((document.querySelector('.analysis-rollout-plot') as unknown as Plot).data[0].z.length === m), MAX_CELLS);
    const { z, text } = await plotData(p.page, '.analysis-rollout-plot');
    const r = rolloutReference(run.maps.map((m) => meanArrays([0, 1, 2, 3].map((h) => headArrays(m.data, h, N)))));
    const edge = (i: number) => Math.floor((i * N) / MAX_CELLS);
    for (const [i, j] of [[100, 100], [159, 0], [80, 40], [159, 158]]) {
      let max = 0;
      for (let q = edge(i); q < edge(i + 1); q++) for (let k = edge(j); k < edge(j + 1); k++) max = Math.max(max, r[q][k]);
      assert.ok(Math.abs(z[i][j]! - max) < 1e-6, `block (${i}, ${j}): ${z[i][j]} vs ${max}`);
      assert.ok(text[i][j].endsWith(`max rollout: ${max.toFixed(4)}`), text[i][j]);
    }
    await openTab(p.page, 'flow');
    await p.page.waitForFunction(() => /This text has \d+/.test(document.querySelector('.analysis-flow .hint')?.textContent ?? ''));
    // The same capture pooled 2 x 2 (block maxima), as a host over its memory budget sends it.
    const pool = 2;
    const rows = Math.ceil(N / pool);
    const pooled = run.messages.map((msg) => {
      if (msg.type !== 'layer') return { ...msg, captureId: 'pooled' } as HostToWebview;
      const m = run.maps[msg.layer];
      const out = new Float32Array(m.heads * rows * rows);
      for (let h = 0; h < m.heads; h++) for (let q = 0; q < N; q++) for (let k = 0; k < N; k++) {
        const o = (h * rows + Math.floor(q / pool)) * rows + Math.floor(k / pool);
        out[o] = Math.max(out[o], m.data[(h * N + q) * N + k]);
      }
      return { ...msg, captureId: 'pooled', pool, data: encodeFloat32(out) };
    });
    await openTab(p.page, 'stats');
    await p.post(pooled);
    await p.page.waitForFunction(() => /pooled \(2 × 2 token blocks/.test(document.querySelector('.analysis-caveat')?.textContent ?? ''));
    await p.page.waitForFunction(() => document.querySelectorAll('.stats-table tbody tr').length === 8);
  });

  it('pooled layers with the runtime\'s statistics: the table shows the full-resolution figures, marked exact', async () => {
    const model = await openModel(join(repoRoot, 'samples', 'tiny-gpt'));
    const text = readFileSync(join(repoRoot, 'samples', 'texts', 'long.txt'), 'utf8').slice(0, 1400);
    let run: Awaited<ReturnType<typeof captureMessages>>;
    const reductions: LayerReductions[] = [];
    try {
      run = await captureMessages(model, { text }, 'long');
      // The runtime's own reductions, computed in the graph beside the probabilities.
      await model.capture({ text }, { maps: 'none', poolFactor: () => 2, onReductions: (r) => void reductions.push(r) });
    } finally {
      await model.dispose();
    }
    const N = run.maps[0].queries;
    const pooled = run.messages.map((msg) => {
      if (msg.type !== 'layer') return { ...msg, captureId: 'exact' } as HostToWebview;
      const r = reductions[msg.layer];
      return { ...msg, captureId: 'exact', pool: 2, data: encodeFloat32(r.pooled!.max), stats: statsParams(r) };
    });
    // A panel of its own: this capture's figures, not what the captures above left in the views.
    const own = await openPanelPage(browser);
    await openTab(own.page, 'stats');
    await own.post(pooled);
    await own.page.waitForFunction(() => /head statistics are exact/.test(document.querySelector('.analysis-caveat')?.textContent ?? ''));
    await own.page.waitForFunction(() => document.querySelectorAll('.stats-table tbody tr').length === 8);
    // The table is drawn on the next frame after the last layer: wait until it shows this capture's
    // L0 H0 (a wrong figure times out here and fails the comparison below).
    const want = statsOf(headArrays(run.maps[0].data, 0, N), 3).distance.toFixed(4);
    await own.page
      .waitForFunction((w) => document.querySelector('.stats-table tbody tr[data-layer="0"][data-head="0"] td[data-key="distance"]')?.textContent === w, want, { timeout: 5000 })
      .catch(() => undefined);
    const rows = await own.page.$$eval('.stats-table tbody tr', (trs) =>
      trs.map((tr) => ({
        layer: Number((tr as HTMLElement).dataset.layer),
        head: Number((tr as HTMLElement).dataset.head),
        cells: Object.fromEntries([...tr.querySelectorAll('td')].map((td) => [(td as HTMLElement).dataset.key, td.textContent])),
      })),
    );
    for (const r of rows) {
      // Independent figures from the full map, not from the pooled cells the panel holds.
      const expected = statsOf(headArrays(run.maps[r.layer].data, r.head, N), 3);
      for (const [key, v] of Object.entries(expected)) assert.equal(r.cells[key], v.toFixed(4), `L${r.layer}H${r.head} ${key}`);
    }
    await own.page.close();
  });

  it('pooled layers with the runtime\'s mass per token and block means: sinks exact per token, rollout on the exact block means', async () => {
    const model = await openModel(join(repoRoot, 'samples', 'tiny-gpt'));
    const text = readFileSync(join(repoRoot, 'samples', 'texts', 'long.txt'), 'utf8').slice(0, 1400);
    const pool = 2;
    let run: Awaited<ReturnType<typeof captureMessages>>;
    const reductions: LayerReductions[] = [];
    try {
      run = await captureMessages(model, { text }, 'long');
      await model.capture({ text }, { maps: 'none', poolFactor: () => pool, onReductions: (r) => void reductions.push(r) });
    } finally {
      await model.dispose();
    }
    const N = run.maps[0].queries;
    const words = (run.messages[0] as Extract<HostToWebview, { type: 'captureStarted' }>).tokens.map((t) => t.text);
    const pooled = run.messages.map((msg) => {
      if (msg.type !== 'layer') return { ...msg, captureId: 'masses' } as HostToWebview;
      const r = reductions[msg.layer];
      return { ...msg, captureId: 'masses', pool, data: encodeFloat32(r.pooled!.max), stats: statsParams(r), keyMass: encodeFloat32(r.columnMeans), blockMeans: encodeFloat32(r.pooled!.headMean) };
    });
    const own = await openPanelPage(browser);
    try {
      await openTab(own.page, 'sinks');
      await own.post(pooled);
      await own.page.waitForFunction(() => /attention sinks use the runtime's exact mass per token; rollout multiplies the runtime's exact means of 2 × 2 blocks/.test(document.querySelector('.analysis-caveat')?.textContent ?? ''));
      await own.page.waitForFunction(() => document.querySelectorAll('.analysis-sinks tbody tr').length === 2);
      const rows = await own.page.$$eval('.analysis-sinks tbody tr', (trs) =>
        trs.map((tr) => Object.fromEntries([...tr.querySelectorAll('[data-key]')].map((c) => [(c as HTMLElement).dataset.key, [c.textContent, (c as HTMLElement).dataset.token]]))));
      for (let l = 0; l < 2; l++) {
        // Token-level masses from the full maps, not from the 2 x 2 block maxima the panel holds.
        const heads = [0, 1, 2, 3].map((h) => headArrays(run.maps[l].data, h, N));
        const received = heads.map((m) => words.map((_, k) => m.reduce((sum, row) => sum + row[k], 0) / N));
        const mass = words.map((_, k) => received.reduce((sum, r) => sum + r[k], 0) / heads.length);
        const total = mass.reduce((a, b) => a + b, 0);
        const top = words.map((_, k) => k).sort((a, b) => mass[b] - mass[a] || a - b).slice(0, 3);
        top.forEach((k, i) => assert.deepEqual(rows[l][`sink${i + 1}`], [`"${words[k]}" (#${k}) ${(mass[k] / total).toFixed(4)}`, String(k)], `L${l} sink ${i + 1}`));
        const strongest = received.reduce((best, r, h) => (r[top[0]] > received[best][top[0]] ? h : best), 0);
        assert.equal(rows[l].strongest[0], `L${l} H${strongest}`);
      }
      await own.page.locator('.analysis-section').screenshot({ path: screenshotPath('sinks-pooled.png') });
      // Rollout of the block matrices: row r = mean over block r's query rows of each key block's mass.
      const cells = Math.ceil(N / pool);
      const blocks = run.maps.map((m) => {
        const mean = meanArrays([0, 1, 2, 3].map((h) => headArrays(m.data, h, N)));
        return Array.from({ length: cells }, (_, r) => {
          const qs = Array.from({ length: Math.min(N, (r + 1) * pool) - r * pool }, (_, i) => r * pool + i);
          return Array.from({ length: cells }, (_, c) => {
            let sum = 0;
            for (const q of qs) for (let k = c * pool; k < Math.min(N, (c + 1) * pool); k++) sum += mean[q][k];
            return sum / qs.length;
          });
        });
      });
      const want = rolloutReference(blocks);
      await openTab(own.page, 'rollout');
      const side = Math.min(cells, MAX_CELLS);
      await own.page.waitForFunction((m) => (document.querySelector('.analysis-rollout-plot') as unknown as Partial<Plot>).data?.[0]?.z.length === m, side);
      await own.page.waitForFunction(() => (document.querySelector('.analysis-rollout-plot') as HTMLElement).dataset.done === 'true');
      const { z } = await plotData(own.page, '.analysis-rollout-plot');
      // Drawn at most MAX_CELLS a side, by block max of the rolled-out cells.
      const edge = (i: number) => Math.floor((i * cells) / side);
      for (const [i, j] of [[side - 1, 0], [side - 1, side - 2], [Math.floor(side / 2), Math.floor(side / 4)], [10, 10]]) {
        let max = 0;
        for (let q = edge(i); q < Math.max(edge(i) + 1, edge(i + 1)); q++) for (let k = edge(j); k < Math.max(edge(j) + 1, edge(j + 1)); k++) max = Math.max(max, want[q][k]);
        assert.ok(Math.abs(z[i][j]! - max) < 1e-5, `cell (${i}, ${j}): ${z[i][j]} vs ${max}`);
      }
    } finally {
      await own.page.close();
    }
  });
});
