/**
 * The first minutes in a real VS Code (code-server, the packaged VSIX), as a new user meets
 * them: an empty workspace and an empty Hugging Face cache show the Models view's welcome
 * buttons; opening the sample leads to the Attention panel with its text box focused and
 * prefilled (Ctrl+Enter inspects); Open Model… lists a hub-cache model by its repository name;
 * Compare Two Checkpoints… is a titled 3-step flow offering the hub-cache models; a failed
 * inspection leaves no stale state and the status bar recovers; Estimate Attention Cost… offers
 * the cache's configs; the CLI goes on the terminal's PATH. Every step waits on a state.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Browser, Frame, Page } from 'playwright-core';
import { llamaFixture } from '../helpers/hfFixtures';
import { screenshotPath } from '../helpers/screenshots';
import { writeHfFolder } from '../helpers/writeCheckpoint';
import { repoRoot, type RunningCodeServer } from './codeServer';
import { answerInputBox, closeWorkbench, dismissNotifications, openWorkbench, screenshotIfFailed, focusWorkbench, notificationTexts, pickRow, runCommand, until, webviewFrame } from './workbench';

/** The text the panel is prefilled with (extension/firstRun.ts FIRST_TEXT): [BOS] + 12 words. */
const FIRST_TEXT = 'the cat sat on the dog . the cat sat on the';
const MAX_TOKENS = 40;

async function panelStatus(frame: Frame): Promise<string> {
  return (await frame.textContent('.panel-status')) ?? '';
}

/** The status once captureDone arrived: "n tokens · … · <provider> · <ms> ms". */
async function finishedCapture(frame: Frame, tokens: number): Promise<string> {
  return until(`a finished capture of ${tokens} tokens`, async () => {
    const s = await panelStatus(frame);
    return s.startsWith(`${tokens} tokens`) && / · \w+ · \d+ ms$/.test(s) && s;
  });
}

async function panelText(frame: Frame): Promise<string> {
  return frame.evaluate(() => (document.querySelector('.inspect-text') as unknown as { value: string }).value);
}

/** Whether the panel's text box has the keyboard: the frame focused, the inner textarea active. */
async function textBoxFocused(frame: Frame): Promise<boolean> {
  return frame.evaluate(() => {
    const host = document.activeElement as HTMLElement | null;
    return document.hasFocus() && !!host?.classList.contains('inspect-text') && host.shadowRoot?.activeElement?.tagName === 'TEXTAREA';
  });
}

/** The status bar item of the extension: its codicon and whether it has an error or warning background. */
async function statusBarIcon(page: Page): Promise<string> {
  return page.evaluate(() => {
    const item = [...document.querySelectorAll('.statusbar-item')].find((e) => (e.textContent ?? '').trim().startsWith('Attention'));
    const icon = item?.querySelector('.codicon');
    return [...(icon?.classList ?? [])].find((c) => c.startsWith('codicon-') && c !== 'codicon-modifier-spin') ?? '';
  });
}

async function quickInputTitle(page: Page): Promise<string> {
  const title = page.locator('.quick-input-widget .quick-input-title');
  await title.waitFor({ state: 'visible', timeout: 30_000 });
  return (await title.textContent()) ?? '';
}

describe('first run in VS Code (code-server, packaged VSIX)', function () {
  let cs: RunningCodeServer;
  let browser: Browser;
  let page: Page;
  let workspace: string;
  let hfHome: string;
  const userData = () => join(cs.dir, 'user-data');

  /** A copy of the sample model laid out as huggingface_hub caches it. */
  function cacheModel(repo: string, rev: string): void {
    const snap = join(hfHome, 'hub', `models--${repo.replace('/', '--')}`, 'snapshots', rev);
    mkdirSync(snap, { recursive: true });
    cpSync(join(repoRoot, 'samples/tiny-gpt'), snap, { recursive: true });
  }

  before(async function () {
    hfHome = mkdtempSync(join(tmpdir(), 'ai-e2e-hf-'));
    ({ cs, browser, page, workspace } = await openWorkbench('ai-e2e-first-ws-', () => undefined, { env: { HF_HOME: hfHome, HF_HUB_CACHE: '' }, settings: { 'attentionInspector.maxTokens': MAX_TOKENS } }));
  });

  afterEach(async function () {
    await screenshotIfFailed(this.currentTest, page, 'first-');
  });

  after(async function () {
    await closeWorkbench({ cs, browser, workspace }, this.currentTest?.state === 'failed', [hfHome]);
  });

  it('an empty workspace and cache: the Models view welcome offers the sample, a folder and the cache', async function () {
    // The activity bar's Attention Inspector icon (opening the view activates the extension).
    await page.locator('.activitybar .action-item a[aria-label^="Attention Inspector"]').click();
    const welcome = page.locator('.welcome-view-content');
    await welcome.waitFor({ state: 'visible', timeout: 60_000 });
    const buttons = await until('the welcome buttons', async () => {
      const b = await welcome.locator('.monaco-button').allTextContents();
      return b.length >= 3 && b;
    });
    assert.deepEqual(buttons.slice(0, 3), ['Open the Sample Model', 'Open a Model Folder…', 'Find Models in the Hugging Face Cache']);
    // The activity bar's tooltip would cover the view in the picture: wait until it is gone.
    await page.mouse.move(700, 450);
    await until('the tooltip to hide', async () => (await page.locator('.workbench-hover-container, .monaco-hover:not(.hidden)').count()) === 0, 15_000).catch(() => undefined);
    await page.locator('.part.sidebar').screenshot({ path: screenshotPath('vscode-welcome.png') });
  });

  it('Open the Sample Model opens the panel with the text box focused and prefilled; Ctrl+Enter inspects', async function () {
    await page.locator('.welcome-view-content .monaco-button', { hasText: 'Open the Sample Model' }).click();
    const frame = await webviewFrame(page, '.attention-panel .inspect-text');
    await until('the prefilled text', async () => (await panelText(frame)) === FIRST_TEXT);
    assert.match(await until('the ready status', async () => (await panelStatus(frame)).includes('is open') && panelStatus(frame)), /^tiny-gpt is open: edit the text and press Inspect/);
    await until('the text box to have the keyboard', () => textBoxFocused(frame));
    // Typed by the keyboard, not by the test: it reaches the panel only if the box has focus.
    await page.keyboard.press('Control+Enter');
    const n = FIRST_TEXT.split(' ').length + 1;
    const status = await finishedCapture(frame, n);
    assert.match(status, /2 layers × 4 heads · cpu/);
    // The Models view now lists the opened sample, with its layers.
    await until('the sample in the Models view', async () => (await page.locator('.part.sidebar .monaco-list-row[aria-label^="tiny-gpt"]').count()) > 0);
  });

  it('Open Model… lists a hub-cache model by its repository and opens the panel focused on it', async function () {
    cacheModel('acme/tiny-gpt', '0123456789abcdef0123456789abcdef01234567');
    await runCommand(page, 'Attention: Open Model…');
    assert.match(await quickInputTitle(page), /Attention: Open Model/);
    await pickRow(page, 'acme/tiny-gpt');
    const frame = await webviewFrame(page, '.attention-panel .inspect-text');
    await until('the panel title', async () => (await frame.textContent('.panel-title')) === 'acme/tiny-gpt');
    await until('the text box to have the keyboard', () => textBoxFocused(frame));
    assert.equal(await panelText(frame), FIRST_TEXT, 'prefilled with the last text');
    await until('the editor tab title', async () => (await page.locator('.tab[aria-label^="Attention: acme/tiny-gpt"]').count()) > 0);
  });

  it('Compare Two Checkpoints… is a titled 3-step flow with the hub-cache models, and shows "identical" for two copies', async function () {
    cacheModel('acme/tiny-gpt-copy', 'fedcba9876543210fedcba9876543210fedcba98');
    await runCommand(page, 'Attention: Compare Two Checkpoints');
    assert.match(await quickInputTitle(page), /Attention: Compare Two Checkpoints \(1\/3\)/);
    await pickRow(page, 'acme/tiny-gpt-copy');
    await until('step 2', async () => /\(2\/3\)/.test(await quickInputTitle(page)));
    await pickRow(page, 'acme/tiny-gpt');
    // The pair is opened and checked before the text is asked for.
    const title = await until('step 3', async () => {
      const t = await quickInputTitle(page);
      return /\(3\/3\)/.test(t) && t;
    });
    assert.match(title, /acme\/tiny-gpt-copy vs acme\/tiny-gpt/);
    const text = 'the king saw the cat . the king saw';
    await answerInputBox(page, text);
    const frame = await webviewFrame(page, '.attention-panel .compare-section');
    const note = await until('the comparison', async () => {
      const n = (await frame.textContent('.compare-note')) ?? '';
      return (await frame.isVisible('.compare-section')) && n.includes('identical') && n;
    });
    assert.match(note, /A: acme\/tiny-gpt-copy .* B: acme\/tiny-gpt /);
    // After the comparison the text box shows the compared text, and the panel is not busy.
    assert.equal(await panelText(frame), text);
    assert.doesNotMatch(await panelStatus(frame), /capturing/);
    await page.screenshot({ path: screenshotPath('vscode-compare.png') });
  });

  it("a Models view row's Inspect button opens that model in the panel, text box focused", async function () {
    await runCommand(page, 'Attention: Refresh Models');
    const row = page.locator('.part.sidebar .monaco-list-row[aria-label^="acme/tiny-gpt-copy"]').first();
    await row.waitFor({ state: 'visible', timeout: 30_000 });
    await row.hover();
    await row.locator('.action-label[aria-label^="Inspect Text"]').click();
    const frame = await webviewFrame(page, '.attention-panel .inspect-text');
    await until('the panel to name the row\'s model', async () => (await frame.textContent('.panel-title')) === 'acme/tiny-gpt-copy');
    await until('the text box to have the keyboard', () => textBoxFocused(frame));
    assert.match(await panelStatus(frame), /^acme\/tiny-gpt-copy is open: edit the text and press Inspect/);
  });

  it('Compare Two Checkpoints… refuses a pair of another architecture before asking for the text', async function () {
    // A 3-layer Llama (config.json says float32) beside the 2-layer sample.
    const { config, tensors } = llamaFixture({ layers: 3, extra: { torch_dtype: 'float32' } });
    writeHfFolder(join(hfHome, 'hub', 'models--acme--tiny-llama', 'snapshots', '00aa00aa00aa00aa00aa00aa00aa00aa00aa00aa'), config, tensors);
    await runCommand(page, 'Attention: Compare Two Checkpoints');
    await until('step 1', async () => /\(1\/3\)/.test(await quickInputTitle(page)));
    await pickRow(page, 'acme/tiny-llama');
    await until('step 2', async () => /\(2\/3\)/.test(await quickInputTitle(page)));
    await pickRow(page, 'acme/tiny-gpt-copy');
    const toast = await until('the mismatch message', async () => {
      const t = await notificationTexts(page);
      return t.find((x) => x.includes('cannot be compared head by head'));
    });
    assert.match(toast, /acme\/tiny-llama and acme\/tiny-gpt-copy cannot be compared head by head \(acme\/tiny-llama has 3 attention layers and acme\/tiny-gpt-copy has 2\)/);
    assert.equal(await page.locator('.quick-input-widget').isVisible(), false, 'no step 3: the text is not asked for');
    await dismissNotifications(page);
  });

  it('a failed inspection leaves no stale state, and the status bar recovers', async function () {
    const frame = await webviewFrame(page, '.attention-panel .inspect-text');
    await until('an idle status bar', async () => (await statusBarIcon(page)) === 'codicon-eye', 30_000);
    const long = Array.from({ length: MAX_TOKENS + 10 }, (_, i) => (i % 2 ? 'cat' : 'the')).join(' ');
    await frame.evaluate((t) => {
      (document.querySelector('.inspect-text') as unknown as { value: string }).value = t;
      (document.querySelector('.inspect-button') as HTMLElement).click();
    }, long);
    const error = await until('the panel error', async () => (await frame.isVisible('.panel-error')) && (await frame.textContent('.panel-error')));
    assert.match(error || '', /token/i);
    assert.match(await panelStatus(frame), /the last inspection failed/);
    assert.equal(await frame.$eval('.panel-status', (e) => e.classList.contains('busy')), false);
    // The runtime answered, so it is up: a warning, never the red of a runtime that is down, then idle.
    await until('the warning in the status bar', async () => (await statusBarIcon(page)) === 'codicon-warning', 30_000);
    const background = await page.evaluate(() => {
      const item = [...document.querySelectorAll('.statusbar-item')].find((e) => (e.textContent ?? '').trim().startsWith('Attention')) as HTMLElement | undefined;
      return item?.style.backgroundColor ?? '';
    });
    const errorBg = await page.evaluate(() => getComputedStyle(document.querySelector('.monaco-workbench')!).getPropertyValue('--vscode-statusBarItem-errorBackground').trim());
    assert.ok(!errorBg || !background.includes(errorBg), `not the error background: ${background}`);
    await until('the status bar to recover', async () => (await statusBarIcon(page)) === 'codicon-eye', 30_000);
    await focusWorkbench(page);
    // The next inspection clears the error.
    await frame.evaluate((t) => {
      (document.querySelector('.inspect-text') as unknown as { value: string }).value = t;
      (document.querySelector('.inspect-button') as HTMLElement).click();
    }, FIRST_TEXT);
    await finishedCapture(frame, FIRST_TEXT.split(' ').length + 1);
    assert.equal(await frame.isVisible('.panel-error'), false, 'the error is cleared');
  });
  it('Estimate Attention Cost… offers the hub-cache configs first; the panel starts at the config torch_dtype', async function () {
    await focusWorkbench(page);
    await runCommand(page, 'Attention: Estimate Attention Cost');
    assert.match(await quickInputTitle(page), /Attention: Estimate Attention Cost/);
    await pickRow(page, 'acme/tiny-llama');
    const frame = await webviewFrame(page, '.eff-status');
    // Named by its repository, not by the snapshot's hash.
    await until('the Efficiency panel', async () => (await frame.evaluate(() => document.body.innerText)).includes('Attention efficiency: acme/tiny-llama'));
    // float32 in config.json: fp32, as the config.json hover says (test/runtime/dtypeAgreement.test.ts).
    const dtype = await until('the dtype control', async () => frame.evaluate(() => [...document.querySelectorAll('select')].map((s) => s.value).find((v) => /^(fp32|fp16|bf16)$/.test(v))));
    assert.equal(dtype, 'fp32');
  });
  it('Add attention-inspector to the Terminal PATH writes a launcher that runs the bundled CLI', async function () {
    await focusWorkbench(page);
    await runCommand(page, 'Attention: Add attention-inspector to the Terminal PATH');
    const toast = await until('the confirmation', async () => (await notificationTexts(page)).find((t) => t.includes('New terminals have')));
    const launcher = /\((\/[^)]*attention-inspector)\)/.exec(toast)?.[1];
    assert.ok(launcher && launcher.startsWith(userData()), `launcher in the extension's storage: ${toast}`);
    // Run as a terminal would: by name, from PATH, with code-server's own Node behind it.
    const out = execFileSync('/bin/sh', ['-c', 'attention-inspector variants'], { env: { ...process.env, PATH: `${dirname(launcher)}:${process.env.PATH}` }, encoding: 'utf8' });
    assert.match(out, /flash/);
    await dismissNotifications(page);
  });
});
