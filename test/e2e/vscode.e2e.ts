/**
 * End to end in a real VS Code: the linux-x64 VSIX (made by `npm run test:e2e` before mocha
 * runs) installed into code-server, driven through its palette in headless Chromium. Checks what
 * a user sees: the commands, the Attention panel's tokens, grid and summary, the config.json
 * hover, the Efficiency panel, and the runtime's recovery when its process is killed.
 * Run with `npm run test:e2e` (not part of `npm test`: it takes about a minute).
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Frame, Page } from 'playwright-core';
import { repoRoot, type RunningCodeServer } from './codeServer';
import { vsixEntries } from './vsixEntries';
import {
  answerInputBox, extensionLog, notificationTexts, openFile, paintedPixels, paletteLabels, pickRow, runCommand,
  runtimePids, statusBarText, until, webviewFrame,
  closeWorkbench, openWorkbench, packagedVsix, screenshotIfFailed,
} from './workbench';
import { screenshotPath } from '../helpers/screenshots';

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
const VSIX = packagedVsix();
// Every word is in tiny-gpt's vocabulary, so the tokens are [BOS] and the words.
const TEXT1 = 'the cat sat on the dog . the cat sat';
const TEXT2 = 'the old king saw a little black cat by the river';
const expectedTokens = (text: string) => ['[BOS]', ...text.split(' ')];

/** viridis at 0 and 1 (the colour scale's ends), as the webview paints them. */
const VIRIDIS_LOW = [68, 1, 84];
const VIRIDIS_HIGH = [253, 231, 37];
const near = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]) <= 12);

async function panelTokens(frame: Frame): Promise<string[]> {
  return frame.$$eval('.token-strip .token', (els) => els.map((e) => e.textContent ?? ''));
}

/** Pixel at the middle of map cell (q, k) of thumbnail (layer, head), from the grid's own geometry. */
async function thumbPixel(frame: Frame, layer: number, head: number, q: number, k: number, n: number): Promise<number[]> {
  return frame.evaluate(([l, h, qq, kk, nn]) => {
    const c = document.querySelector('canvas.thumbnail-grid') as HTMLCanvasElement;
    const g = JSON.parse(c.dataset.geometry!) as { left: number; top: number; cell: number; gap: number };
    const px = Math.floor(g.cell / nn);
    const x = g.left + h * (g.cell + g.gap) + kk * px + Math.floor(px / 2);
    const y = g.top + l * (g.cell + g.gap) + qq * px + Math.floor(px / 2);
    return Array.from(c.getContext('2d')!.getImageData(x, y, 1, 1).data.slice(0, 3));
  }, [layer, head, q, k, n]);
}

const VISIBLE_HOVER = '.monaco-hover:not(.hidden) .monaco-hover-content';

/** Moves the mouse off the editor, presses Escape, and waits until no hover box is visible. */
async function dismissHover(page: Page): Promise<void> {
  await page.mouse.move(0, 0);
  await page.keyboard.press('Escape');
  await page.locator(VISIBLE_HOVER).first().waitFor({ state: 'hidden', timeout: 10_000 });
}

async function waitForCapture(frame: Frame, text: string): Promise<string> {
  const n = expectedTokens(text).length;
  return until(`the panel to finish a capture of ${n} tokens`, async () => {
    const status = (await frame.textContent('.panel-status')) ?? '';
    return status.startsWith(`${n} tokens`) && !status.includes('capturing') && !status.includes('layer ') ? status : undefined;
  });
}

describe('VS Code end to end (code-server, packaged VSIX)', function () {
  let cs: RunningCodeServer;
  let browser: Browser;
  let page: Page;
  let workspace: string;
  const userData = () => join(cs.dir, 'user-data');

  before(async function () {
    const prepare = (ws: string) => {
      cpSync(join(repoRoot, 'samples/tiny-gpt'), join(ws, 'tiny-gpt'), { recursive: true });
      mkdirSync(join(ws, 'configs'));
      cpSync(join(repoRoot, 'samples/configs/llama-3-8b'), join(ws, 'configs/llama-3-8b'), { recursive: true });
    };
    // Captures of 1,000 tokens or more are held after their first layer (server/lsp/testHold.ts).
    ({ cs, browser, page, workspace } = await openWorkbench('ai-e2e-ws-', prepare, { env: { ATTENTION_INSPECTOR_TEST_HOLD_TOKENS: '1000' } }));
  });

  afterEach(async function () {
    await screenshotIfFailed(this.currentTest, page, '');
  });

  after(async function () {
    await closeWorkbench({ cs, browser, workspace }, this.currentTest?.state === 'failed');
  });

  it('the linux-x64 VSIX holds the bundles and only linux-x64 onnxruntime binaries', function () {
    const entries = vsixEntries(VSIX);
    const names = entries.map((e) => e.name);
    const mib = (statSync(VSIX).size / 2 ** 20).toFixed(1);
    console.log(`      ${VSIX.split('/').pop()}: ${mib} MiB, ${names.length} files`);
    for (const f of ['dist/extension.js', 'dist/server.js', 'dist/tokenizeWorker.js', 'dist/cli.js', 'dist/webview/panel.js', 'dist/webview/efficiency.js', 'package.json',
      'node_modules/onnxruntime-node/dist/index.js', 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node',
      'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1', 'node_modules/onnxruntime-common/dist/cjs/index.js',
      'node_modules/onnxruntime-common/dist/cjs/package.json']) {
      assert.ok(names.includes(`extension/${f}`), `VSIX lacks ${f}`);
    }
    const binaries = names.filter((n) => n.includes('/bin/napi-v6/'));
    assert.deepEqual(binaries.filter((n) => !n.includes('/linux/x64/')), [], 'another platform\'s binaries');
    assert.deepEqual(names.filter((n) => /\.(map|ts)$/.test(n) || /^extension\/(server|extension|webview|protocol|test|src)\//.test(n)), [], 'sources or maps packaged');
    const stray = names.filter((n) => n.startsWith('extension/node_modules/') && !/^extension\/node_modules\/onnxruntime-(node|common)\//.test(n));
    assert.deepEqual(stray, [], 'node_modules beyond onnxruntime');
  });

  it('activates from the packaged VSIX and starts its runtime (a dist/server.js process)', async function () {
    const pids = await until('the runtime process', () => runtimePids(cs.extensionsDir).length === 1 && runtimePids(cs.extensionsDir));
    assert.equal(pids.length, 1);
    // Started with huge pages for its large allocations (common/mallocTunables.ts).
    const environ = readFileSync(`/proc/${pids[0]}/environ`, 'utf8').split('\0');
    assert.ok(environ.some((v) => /^GLIBC_TUNABLES=(.*:)?glibc\.malloc\.hugetlb=1(:|$)/.test(v)), environ.filter((v) => v.startsWith('GLIBC')).join(' ') || 'no GLIBC_TUNABLES');
    await until('"runtime started" in the log', () => extensionLog(userData()).includes('runtime started'));
    assert.match(await until('the status bar item', () => statusBarText(page)), /^Attention/);
  });

  it('lists every contributed palette command under the Attention category', async function () {
    const hidden = new Set<string>(pkg.contributes.menus.commandPalette.filter((m: { when: string }) => m.when === 'false').map((m: { command: string }) => m.command));
    const expected: string[] = pkg.contributes.commands.filter((c: { command: string }) => !hidden.has(c.command)).map((c: { category: string; title: string }) => `${c.category}: ${c.title}`);
    const labels = await until('the Attention commands in the palette', async () => {
      const l = await paletteLabels(page, 'Attention: ');
      return expected.every((e: string) => l.some((x: string) => x.startsWith(e))) && l;
    });
    for (const e of expected) assert.ok(labels.some((x) => x.startsWith(e)), `palette lacks ${e}: ${labels.join(' | ')}`);
    assert.ok(expected.length >= 5);
  });

  it('Show Logs opens the output channel with the runtime log', async function () {
    await runCommand(page, 'Attention: Show Logs');
    const text = await until('the log in the Output view', async () => {
      // Monaco renders spaces as no-break spaces.
      const t = ((await page.locator('.part.panel .view-lines').first().textContent().catch(() => '')) ?? '').replace(/\u00a0/g, ' ');
      return t.includes('runtime started') && t;
    });
    assert.match(text, /runtime started \(.*dist\/server\.js\)/);
    await page.keyboard.press('Control+J'); // hide the panel again
  });

  it('Open Model… lists the workspace model and opens it', async function () {
    await runCommand(page, 'Attention: Open Model');
    await pickRow(page, 'model.onnx');
    const log = await until('"opened" in the log', () => {
      const l = extensionLog(userData());
      return /opened .*: 2 attention layers, 4 heads/.test(l) && l;
    });
    assert.match(log, /opened .*: 2 attention layers, 4 heads/);
  });

  it('Inspect Text… shows tokens, painted head maps and the summary in the Attention panel', async function () {
    await runCommand(page, 'Attention: Inspect Text');
    await answerInputBox(page, TEXT1);
    const frame = await webviewFrame(page, '.attention-panel .token-strip');
    const status = await waitForCapture(frame, TEXT1);
    assert.deepEqual(await panelTokens(frame), expectedTokens(TEXT1));
    // The summary: token count, layers x heads, and the execution provider that ran (cpu here).
    assert.match(status, /^11 tokens · 2 layers × 4 heads · cpu · \d+ ms$/);
    const px = await paintedPixels(frame);
    assert.ok(px.painted > px.total * 0.1, `grid mostly background: ${JSON.stringify(px)}`);
    // L0 H2 attends to itself (samples/tiny-gpt/README.md): weight 1 on the diagonal, 0 beside it.
    assert.ok(near(await thumbPixel(frame, 0, 2, 5, 5, 11), VIRIDIS_HIGH), 'L0 H2 diagonal is not viridis(1)');
    assert.ok(near(await thumbPixel(frame, 0, 2, 5, 4, 11), VIRIDIS_LOW), 'L0 H2 off-diagonal is not viridis(0)');
    // L0 H0 attends to the previous token.
    assert.ok(near(await thumbPixel(frame, 0, 0, 5, 4, 11), VIRIDIS_HIGH), 'L0 H0 previous token is not viridis(1)');
    await page.screenshot({ path: screenshotPath('vscode-panel.png') });
  });

  it('Inside the head: the query–key scatter and the head ablation come from the runtime through the host', async function () {
    const frame = await webviewFrame(page, '.attention-panel .token-strip');
    await frame.click('.internals-details > summary');
    // 11 queries and 11 keys of the selected head (layer 0, head 0) after attention/internals.
    await until('the query–key scatter', async () => (await frame.getAttribute('.qk-scatter', 'data-points')) === '22', 60_000);
    await frame.click('.ablate-button');
    // attention/ablate: one row per head of the 2 layers × 4 heads.
    await until('the ablation table', async () => (await frame.$$('.ablation-table tbody tr')).length === 8, 60_000);
    assert.match((await frame.textContent('.ablation-note')) ?? '', /KL\(p_full ‖ p_ablated\) of the next-token distribution at position 10/);
  });

  it('hovering num_key_value_heads in a config.json shows the KV cache per token', async function () {
    const config = JSON.parse(readFileSync(join(workspace, 'configs/llama-3-8b/config.json'), 'utf8'));
    // 2 (K and V) x layers x KV heads x head dim x 2 bytes (bf16) = 128 KiB for Llama-3-8B.
    const perToken = 2 * config.num_hidden_layers * config.num_key_value_heads * (config.hidden_size / config.num_attention_heads) * 2;
    assert.equal(perToken, 128 * 1024);
    await openFile(page, 'configs/llama-3-8b/config.json');
    // The token's own span (class mtkN), not the line's: the hover is for the key under the mouse.
    const key = page.locator('.monaco-editor .view-line span[class^="mtk"]', { hasText: 'num_key_value_heads' }).first();
    await key.waitFor({ state: 'visible', timeout: 30_000 });
    const hover = await until('the hover of num_key_value_heads', async () => {
      // Any earlier hover (another key's, or the editor's own) is closed and seen gone first, so
      // the box read below can only be the one this hover opens.
      await dismissHover(page);
      await key.hover();
      const box = page.locator(VISIBLE_HOVER).first();
      await box.waitFor({ state: 'visible', timeout: 5000 });
      const t = ((await box.textContent()) ?? '').replace(/\u00a0/g, ' ');
      return t.includes('num_key_value_heads = 8') && t;
    });
    assert.ok(hover.includes(`KV cache per token: ${perToken / 1024} KiB (${perToken.toLocaleString('en-US')} B)`), hover);
    assert.match(hover, /grouped-query attention: 32 query heads in 8 groups of 4/);
    // At the configured context (max_position_embeddings) the cache is perToken x 8192 = 1 GiB.
    assert.equal((perToken * config.max_position_embeddings) / 2 ** 30, 1);
    assert.match(hover, new RegExp(`KV cache at ${config.max_position_embeddings.toLocaleString('en-US')} tokens\\s*1 GiB`));
    await page.waitForTimeout(800); // let the hover's fade-in finish before the picture
    await page.screenshot({ path: screenshotPath('vscode-hover.png') });
    await dismissHover(page);
  });

  it('Estimate Attention Cost… opens the Efficiency panel for the open config.json', async function () {
    await runCommand(page, 'Attention: Estimate Attention Cost');
    const frame = await webviewFrame(page, 'table');
    const title = await until('the Efficiency panel title', async () => {
      const t = await frame.evaluate(() => document.body.innerText);
      return t.includes('Attention efficiency:') && t;
    });
    assert.match(title, /Attention efficiency: .*llama/i);
    const rows = await frame.$$eval('table tr', (trs) => trs.length);
    assert.ok(rows > 2, `efficiency table has ${rows} rows`);
  });

  it('reports a runtime killed mid-inspection, restarts it with backoff, and inspects again', async function () {
    const [before] = runtimePids(cs.extensionsDir);
    // The runtime runs with ATTENTION_INSPECTOR_TEST_HOLD_TOKENS (see before()): a capture this
    // long stops after its first layer until cancelled, so the kill lands mid-capture however
    // fast the machine is. The test waits for that state (the runtime's log line), not a delay.
    const long = readFileSync(join(repoRoot, 'samples/texts/long.txt'), 'utf8').split(/\s+/).slice(0, 2500).join(' ');
    await runCommand(page, 'Attention: Inspect Text');
    await answerInputBox(page, long);
    const frame = await webviewFrame(page, '.attention-panel .token-strip');
    await until('the capture to start', async () => ((await frame.textContent('.panel-status')) ?? '').includes('capturing'), 30_000);
    await until('the runtime to hold the capture after its first layer', () => /test hold: capture of \d+ tokens held/.test(extensionLog(userData())));
    process.kill(before, 'SIGKILL');
    const error = await until('the panel error', async () => (await frame.isVisible('.panel-error')) && (await frame.textContent('.panel-error')));
    assert.ok(error && error.length > 0);
    const toasts = await until('the crash notification', async () => {
      const t = await notificationTexts(page);
      return t.some((x) => x.includes('stopped unexpectedly')) && t;
    });
    assert.ok(toasts.some((x) => /restarting it in 1 s/.test(x)), toasts.join(' | '));
    const after = await until('a new runtime process', () => {
      const p = runtimePids(cs.extensionsDir);
      return p.length === 1 && p[0] !== before && p[0];
    });
    assert.notEqual(after, before);
    const log = extensionLog(userData());
    assert.match(log, /runtime exited unexpectedly; restart 1 of 5 in 1000 ms/);
    // The kill landed mid-inspection: the request failed and no capture of the long text finished.
    assert.match(log, /Inspect Text failed/);
    assert.doesNotMatch(log, /capture \S+: 2 layers, \d{4} tokens/);
    // The restarted runtime has no open model; Inspect Text reopens the last one.
    await until('the runtime to be ready', () => (extensionLog(userData()).match(/runtime started/g) ?? []).length >= 2);
    await runCommand(page, 'Attention: Inspect Text');
    await answerInputBox(page, TEXT2);
    await waitForCapture(frame, TEXT2);
    assert.deepEqual(await panelTokens(frame), expectedTokens(TEXT2));
  });

  it('Restart Runtime replaces the runtime process and the next inspection works', async function () {
    const [before] = runtimePids(cs.extensionsDir);
    const startsBefore = (extensionLog(userData()).match(/runtime started/g) ?? []).length;
    await runCommand(page, 'Attention: Restart Runtime');
    const after = await until('the restarted runtime', () => {
      const p = runtimePids(cs.extensionsDir);
      return p.length === 1 && p[0] !== before && (extensionLog(userData()).match(/runtime started/g) ?? []).length > startsBefore && p[0];
    });
    assert.notEqual(after, before);
    await runCommand(page, 'Attention: Inspect Text');
    await answerInputBox(page, TEXT1);
    const frame = await webviewFrame(page, '.attention-panel .token-strip');
    const status = await waitForCapture(frame, TEXT1);
    assert.match(status, /· cpu ·/);
    assert.deepEqual(await panelTokens(frame), expectedTokens(TEXT1));
  });
});
