/**
 * The panel's second set of views in headless Chromium, fed the real output of the capture
 * engine on samples/tiny-gpt (server/report/captureMessages.ts) and a real onnxruntime
 * cross-attention run: the heatmap hover's rank, the line view's lines, the comparison's
 * A − B cells, and what the export buttons post, each checked against the captured weights.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import type { HostToWebview, WebviewToHost } from '../../protocol/webview';
import { openModel } from '../../server/capture/openModel';
import { decodeNpy } from '../../common/npy';
import type { OpenedModel } from '../../server/capture/types';
import { writeHtmlReport } from '../../server/report/htmlReport';
import { exportPayload } from '../../extension/exportPayload';
import { parseWebviewMessage } from '../../protocol/webview';
import { launchChromium } from '../helpers/chromium';
import { crossAttentionRun, SOURCE, TARGET, ALIGN, type CrossRun } from '../helpers/crossAttention';
import { captureRun, mapWeight, type CapturedRun } from '../helpers/capturedRun';
import { closeChecked, openCapturedPanel, type PanelPage, PROBE, violations, watchProblems } from '../helpers/panelPage';
import { heatmapHover } from '../helpers/panelProbe';
import { ensureWebviewBundle, repoRoot } from '../helpers/webviewBundle';
import { screenshotPath } from '../helpers/screenshots';

const TEXT_A = 'The old king saw a little black cat by the river.';
const TEXT_B = 'The little black cat saw the old king.';

type Run = CapturedRun;

type ExportMsg = Extract<WebviewToHost, { type: 'export' }>;

const weight = mapWeight;

/** RFC 4180 reader, enough for what matrixCsv writes (quoted fields, doubled quotes). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    }
    else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  return rows;
}

function pngSize(dataUrl: string): { width: number; height: number } {
  const b = Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64');
  assert.deepEqual([...b.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  assert.equal(b.subarray(12, 16).toString('latin1'), 'IHDR');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

describe('Attention panel head tools: exports, line view, comparison (headless Chromium)', function () {
  this.timeout(120_000);
  let browser: Browser;
  let model: OpenedModel;
  let a: Run;
  let b: Run;
  let cross: CrossRun;

  const run = (text: string, id: string) => captureRun(model, text, id);

  const panel = (messages: HostToWebview[], text: string): Promise<PanelPage> => openCapturedPanel(browser, messages, { text });

  async function exported(p: PanelPage, section: string, format: string): Promise<ExportMsg> {
    const before = (await p.posted()).length;
    await p.page.click(`${section} .export-bar [data-format="${format}"]`);
    await p.page.waitForFunction((n) => (window as unknown as { __posted: unknown[] }).__posted.length > n, before);
    const msg = (await p.posted()).at(-1) as ExportMsg;
    assert.equal(msg.type, 'export');
    assert.equal(msg.format, format);
    // The host accepts what the panel posts, unchanged.
    assert.deepEqual(parseWebviewMessage(msg), msg);
    return msg;
  }

  before(async () => {
    model = await openModel(join(repoRoot, 'samples', 'tiny-gpt'));
    a = await run(TEXT_A, 'capA');
    b = await run(TEXT_B, 'capB');
    cross = await crossAttentionRun();
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await model?.dispose();
  });

  describe('on a short text', () => {
    let p: PanelPage;
    before(async () => {
      p = await panel(a.messages, a.text);
    });
    after(async () => checkAndClose(p));

    it("the heatmap hover gives the weight's rank within its query's row", async () => {
      const m = a.maps[0];
      for (const [q, k] of [[6, 5], [6, 0], [8, 3], [3, 3]]) {
        const w = weight(m, 0, q, k);
        let larger = 0;
        for (let j = 0; j < m.keys; j++) if (weight(m, 0, q, j) > w) larger++;
        const text = await heatmapHover(p.page, q, k);
        assert.ok(text.includes(`rank: ${larger + 1} of ${m.keys}`), `(${q}, ${k}): ${text}`);
      }
    });

    it('the line view draws the top-k lines of the clicked query, opacity = weight', async () => {
      const m = a.maps[0];
      await p.page.fill('.line-controls .lv-topk', '3');
      for (const q of [6, 9]) {
        await p.page.click(`svg.line-view text[data-side="query"][data-index="${q}"]`);
        const lines = await readLines(p);
        const expected = Array.from({ length: m.keys }, (_, k) => ({ k, w: weight(m, 0, q, k) }))
          .sort((x, y) => y.w - x.w || x.k - y.k)
          .slice(0, 3);
        assert.deepEqual(lines.map((l) => [l.query, l.key]), expected.map((e) => [q, e.k]));
        for (let i = 0; i < 3; i++) assert.ok(Math.abs(lines[i].opacity - expected[i].w) < 1e-7, `opacity ${lines[i].opacity} vs ${expected[i].w}`);
        // Each line runs from its query's label (left) to its key's label (right).
        for (const l of lines) {
          assert.ok(Math.abs(l.y1 - l.queryLabelY) < 5 && Math.abs(l.y2 - l.keyLabelY) < 5, JSON.stringify(l));
          assert.ok(l.x1 < l.x2);
        }
      }
      // L0 H0 is the previous-token head: its strongest line from query 6 goes to key 5.
      await p.page.click('svg.line-view text[data-side="query"][data-index="6"]');
      assert.equal((await readLines(p))[0].key, 5);
    });

    it('a clicked key gets the lines of the queries that attend to it most', async () => {
      const m = a.maps[0];
      await p.page.fill('.line-controls .lv-topk', '4');
      await p.page.click('svg.line-view text[data-side="key"][data-index="2"]');
      const lines = await readLines(p);
      const expected = Array.from({ length: m.queries }, (_, q) => ({ q, w: weight(m, 0, q, 2) }))
        .sort((x, y) => y.w - x.w || x.q - y.q)
        .slice(0, 4);
      assert.deepEqual(lines.map((l) => [l.query, l.key]), expected.map((e) => [e.q, 2]));
      // For the picture: the same-token head (L1 H1) from the second "the".
      await p.post([{ type: 'selectHead', layer: 1, head: 1 }]);
      await p.page.click('svg.line-view text[data-side="query"][data-index="10"]');
      const drawn = await readLines(p);
      assert.deepEqual(drawn.slice(0, 2).map((l) => l.key).sort(), [1, 10], 'both "the" tokens');
      await p.page.locator('.line-section').screenshot({ path: screenshotPath('line-view.png') });
      await p.post([{ type: 'selectHead', layer: 0, head: 0 }]);
    });

    it('exports PNG (a data URL of the plot size) and SVG (with the heatmap) to the host', async () => {
      const png = await exported(p, '.heatmap-section', 'png');
      const size = await p.page.evaluate(() => {
        const fl = (document.querySelector('.head-heatmap') as unknown as { _fullLayout: { width: number; height: number } })._fullLayout;
        return { width: Math.round(fl.width), height: Math.round(fl.height) };
      });
      assert.deepEqual(pngSize(png.data), size);
      assert.equal(png.name, 'tiny-gpt_The-old-king-saw-a-little_L0-H0.png');
      const host = exportPayload(png, 'samples/tiny-gpt');
      assert.equal(host.kind, 'file');
      const svg = await exported(p, '.heatmap-section', 'svg');
      assert.match(svg.data, /^<svg[\s>]/);
      assert.match(svg.data, /class="hm"/, 'the heatmap trace');
      assert.match(svg.data, /<image[^>]+href="data:image\/png;base64,/, 'its cells, as Plotly draws them');
      assert.ok(svg.data.includes('Layer 0 · head 0'), 'the title');
      const lineSvg = await exported(p, '.line-section', 'svg');
      // The key test left top k at 4.
      assert.equal((lineSvg.data.match(/class="lv-line"/g) ?? []).length, 4);
    });

    it('exports CSV equal to the map, .npy the host encodes, and the CLI snippet', async () => {
      const m = a.maps[0];
      const csv = await exported(p, '.heatmap-section', 'csv');
      const rows = parseCsv(csv.data);
      assert.equal(rows.length, m.queries + 1);
      assert.deepEqual(rows[0].slice(1), a.tokens);
      for (let q = 0; q < m.queries; q++) {
        assert.equal(rows[q + 1][0], a.tokens[q]);
        for (let k = 0; k < m.keys; k++) assert.equal(Math.fround(Number(rows[q + 1][k + 1])), weight(m, 0, q, k), `cell ${q},${k}`);
      }
      const npy = await exported(p, '.heatmap-section', 'npy');
      const file = exportPayload(npy, 'x');
      assert.equal(file.kind, 'file');
      const back = decodeNpy(Buffer.from((file as { bytes: Uint8Array }).bytes));
      assert.deepEqual(back.shape, [m.queries, m.keys]);
      assert.deepEqual([...back.data], [...m.data.subarray(0, m.queries * m.keys)]);
      const snippet = await exported(p, '.heatmap-section', 'snippet');
      assert.equal(snippet.data, a.text);
      const command = exportPayload(snippet, 'samples/tiny-gpt');
      assert.deepEqual(command, { kind: 'clipboard', text: `attention-inspector capture --model samples/tiny-gpt --text '${a.text}' --out attention-out` });
    });
  });

  it('compares two texts over their common prefix: the A − B cells are A − B', async () => {
    const p = await panel([...a.messages, ...b.messages], b.text);
    try {
      await p.post([{ type: 'compare', a: { captureId: 'capA', label: 'text A' }, b: { captureId: 'capB', label: 'text B' } }]);
      await p.page.waitForFunction(() => (document.querySelector('.compare-diff') as { data?: unknown[] } | null)?.data?.length === 1);
      const n = Math.min(a.tokens.length, b.tokens.length);
      assert.ok(a.tokens.length !== b.tokens.length);
      const note = await p.page.textContent('.compare-note');
      assert.ok(note?.includes(`common prefix: the first ${n} tokens`), note ?? '');
      // Layer 0's heads are positional (tiny-gpt README), the same for any text; layer 1's
      // same-token and induction heads depend on the words.
      for (const [layer, head] of [[1, 1], [1, 0]]) {
        // Selecting a head redraws the comparison for it.
        await p.post([{ type: 'selectHead', layer, head }]);
        await p.page.waitForFunction((t) => document.querySelector('.compare-note')?.textContent?.startsWith(t), `Layer ${layer} · head ${head}`);
        const z = await p.page.evaluate(() => (document.querySelector('.compare-diff') as unknown as { data: { z: number[][] }[] }).data[0].z);
        assert.equal(z.length, n);
        const ma = a.maps[layer];
        const mb = b.maps[layer];
        let maxAbs = 0;
        for (let q = 0; q < n; q++) {
          assert.equal(z[q].length, n);
          for (let k = 0; k < n; k++) {
            const d = weight(ma, head, q, k) - weight(mb, head, q, k);
            maxAbs = Math.max(maxAbs, Math.abs(d));
            assert.ok(Math.abs(z[q][k] - d) < 1e-6, `L${layer} H${head} (${q}, ${k}): ${z[q][k]} vs ${d}`);
          }
        }
        const range = await p.page.evaluate(() => {
          const t = (document.querySelector('.compare-diff') as unknown as { data: { zmin: number; zmax: number }[] }).data[0];
          return [t.zmin, t.zmax];
        });
        assert.ok(maxAbs > 0.1, 'the texts differ where this head looks');
        assert.ok(Math.abs(range[1] - maxAbs) < 1e-6 && range[0] === -range[1], `diverging scale symmetric about 0: ${range} vs ${maxAbs}`);
      }
      await p.post([{ type: 'selectHead', layer: 1, head: 1 }]);
      await p.page.waitForFunction(() => document.querySelector('.compare-note')?.textContent?.startsWith('Layer 1 · head 1'));
      await p.page.locator('.compare-section').screenshot({ path: screenshotPath('diff.png') });
      await p.page.click('.compare-close');
      assert.ok(await p.page.isHidden('.compare-section'));
    } finally {
      await checkAndClose(p);
    }
  });

  it('on a long text the line view draws a range of 40 tokens and says what weight lies outside', async () => {
    const text = readFileSync(join(repoRoot, 'samples', 'texts', 'long.txt'), 'utf8').slice(0, 1000);
    const long = await run(text, 'long');
    const m = long.maps[0];
    assert.ok(m.queries > 120, `${m.queries} tokens`);
    const p = await panel(long.messages, text);
    try {
      // L0 H3 spreads over the whole prefix: most of the last query's weight is out of range.
      await p.post([{ type: 'selectHead', layer: 0, head: 3 }]);
      await p.page.waitForFunction(() => document.querySelector('.line-note')?.textContent?.startsWith('Layer 0 · head 3'));
      const n = m.queries;
      const q = n - 1;
      const shown = await p.page.$$eval('svg.line-view text[data-side="query"]', (els) => els.map((e) => Number((e as SVGElement).dataset.index)));
      assert.deepEqual(shown, Array.from({ length: 40 }, (_, i) => n - 40 + i));
      let outside = 0;
      for (let k = 0; k < n - 40; k++) outside += weight(m, 3, q, k);
      const note = (await p.page.textContent('.line-note')) ?? '';
      assert.ok(note.includes(`Tokens #${n - 40}–#${n - 1} of ${n}; weight outside them: ${outside.toFixed(3)}`), note);
      assert.equal((await readLines(p)).length, 5);
      // Earlier tokens: the range moves back by half a screen.
      await p.page.click('.lv-earlier');
      const first = await p.page.$eval('svg.line-view text[data-side="query"]', (e) => Number((e as SVGElement).dataset.index));
      assert.equal(first, n - 60);
    } finally {
      await checkAndClose(p);
    }
  });

  it('in the standalone report (no host) the export buttons download the files directly', async () => {
    await ensureWebviewBundle();
    const dir = mkdtempSync(join(tmpdir(), 'attention-head-tools-'));
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1, acceptDownloads: true });
    try {
      const file = join(dir, 'report.html');
      writeHtmlReport(file, a.messages, 'report');
      const page = await context.newPage();
      const problems: string[] = [];
      watchProblems(page, problems);
      await page.addInitScript(PROBE);
      await page.goto(pathToFileURL(file).href);
      await page.waitForFunction(() => (document.querySelector('.head-heatmap') as { data?: unknown[] } | null)?.data?.length === 1);
      assert.equal(await page.locator('.heatmap-section .export-bar [data-format="npy"]').count(), 0, '.npy needs the host');
      const download = async (format: string) => {
        const [d] = await Promise.all([page.waitForEvent('download'), page.click(`.heatmap-section .export-bar [data-format="${format}"]`)]);
        return { name: d.suggestedFilename(), bytes: readFileSync((await d.path())!) };
      };
      const csv = await download('csv');
      assert.equal(csv.name, 'tiny-gpt_L0-H0.csv');
      const rows = parseCsv(csv.bytes.toString('utf8'));
      const m = a.maps[0];
      for (let q = 0; q < m.queries; q++) for (let k = 0; k < m.keys; k++) assert.equal(Math.fround(Number(rows[q + 1][k + 1])), weight(m, 0, q, k));
      const png = await download('png');
      assert.equal(png.name, 'tiny-gpt_L0-H0.png');
      const size = pngSize(`data:image/png;base64,${png.bytes.toString('base64')}`);
      assert.ok(size.width > 300 && size.height > 300, JSON.stringify(size));
      assert.deepEqual([...problems, ...(await violations(page))], [], 'no CSP violation or page error');
    } finally {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('shows cross-attention as target (queries) × source (keys), from a real onnxruntime run', async () => {
    // The graph's softmax, recomputed here: the panel must be showing onnxruntime's numbers.
    const S = SOURCE.length;
    const T = TARGET.length;
    for (let t = 0; t < T; t++) {
      const s = Array.from({ length: S }, (_, j) => {
        let dot = 0;
        for (let i = 0; i < cross.d; i++) dot += cross.q[t * cross.d + i] * cross.k[j * cross.d + i];
        return dot / Math.sqrt(cross.d);
      });
      const mx = Math.max(...s);
      const e = s.map((v) => Math.exp(v - mx));
      const sum = e.reduce((x, y) => x + y, 0);
      for (let j = 0; j < S; j++) assert.ok(Math.abs(cross.probs[t * S + j] - e[j] / sum) < 1e-5);
      assert.equal(s.indexOf(mx), ALIGN[t], `target ${t} aligns with source ${ALIGN[t]}`);
    }
    const p = await panel(cross.messages, '');
    try {
      const axes = await p.page.evaluate(() => {
        const gd = document.querySelector('.head-heatmap') as unknown as { layout: { xaxis: { ticktext: string[]; title: { text: string } }; yaxis: { ticktext: string[]; title: { text: string } } } };
        return { x: gd.layout.xaxis.ticktext, y: gd.layout.yaxis.ticktext, xt: gd.layout.xaxis.title.text, yt: gd.layout.yaxis.title.text };
      });
      // Tick text is pseudo-HTML to Plotly: </s> is sent escaped, or it would vanish.
      const tick = (t: string) => (t.length > 10 ? t.slice(0, 9) + '…' : t).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
      assert.deepEqual(axes.x, SOURCE.map(tick));
      assert.deepEqual(axes.y, TARGET.map(tick));
      assert.equal(axes.xt, 'source (key)');
      assert.equal(axes.yt, 'target (query)');
      const text = await heatmapHover(p.page, 4, 6);
      assert.ok(text.includes(`query: "${TARGET[4]}" (#4)`) && text.includes(`key: "${SOURCE[6]}" (#6)`), text);
      assert.ok(text.includes(`weight: ${cross.probs[4 * S + 6].toFixed(4)}`) && text.includes(`rank: 1 of ${S}`), text);
      // The line view's right column holds the source.
      const keys = await p.page.$$eval('svg.line-view text[data-side="key"]', (els) => els.map((e) => e.childNodes[0].textContent));
      assert.deepEqual(keys, SOURCE);
      await p.page.mouse.move(0, 0);
      await p.page.locator('.heatmap-section').screenshot({ path: screenshotPath('cross.png') });
    } finally {
      await checkAndClose(p);
    }
  });
});

interface DrawnLine {
  query: number;
  key: number;
  opacity: number;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  queryLabelY: number;
  keyLabelY: number;
}

async function readLines(p: PanelPage): Promise<DrawnLine[]> {
  // No named inner functions: the page gets this function's source, without tsx's helpers.
  return p.page.$$eval('svg.line-view line.lv-line', (els) =>
    els.map((e) => {
      const q = Number((e as SVGElement).dataset.query);
      const k = Number((e as SVGElement).dataset.key);
      const ql = document.querySelector(`svg.line-view text[data-side="query"][data-index="${q}"]`);
      const kl = document.querySelector(`svg.line-view text[data-side="key"][data-index="${k}"]`);
      return {
        query: q,
        key: k,
        opacity: Number(e.getAttribute('stroke-opacity')),
        x1: Number(e.getAttribute('x1')),
        y1: Number(e.getAttribute('y1')),
        x2: Number(e.getAttribute('x2')),
        y2: Number(e.getAttribute('y2')),
        queryLabelY: Number(ql?.getAttribute('y')),
        keyLabelY: Number(kl?.getAttribute('y')),
      };
    }),
  );
}

function checkAndClose(p: PanelPage | undefined): Promise<void> {
  return closeChecked(p, { refused: true });
}
