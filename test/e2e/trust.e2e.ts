/**
 * Restricted Mode end to end (code-server with workspace trust on, the packaged VSIX): the user
 * answers "No, I don't trust the authors"; Open Model… and Inspect Text… then refuse with a
 * warning, no model is loaded and no Attention panel opens. After the user trusts the folder
 * (Workspaces: Manage Workspace Trust → Trust) the same Inspect Text… captures.
 * package.json declares capabilities.untrustedWorkspaces "limited"; extension/commands.ts
 * requireTrust() is what refuses. Run by `npm run test:e2e` with vscode.e2e.ts.
 */
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { repoRoot, type RunningCodeServer } from './codeServer';
import { answerInputBox, closeWorkbench, extensionLog, openWorkbench, screenshotIfFailed, notificationTexts, pickRow, runCommand, runtimePids, until, webviewFrame } from './workbench';
import { screenshotPath } from '../helpers/screenshots';

const REFUSAL = 'Attention Inspector loads models only in a trusted workspace.';
const TEXT = 'the cat sat on the dog';

/** Whether any webview of the page holds the Attention panel. */
async function attentionPanelOpen(page: Page): Promise<boolean> {
  for (const f of page.frames()) {
    if (f !== page.mainFrame() && (await f.$('.attention-panel').catch(() => null))) return true;
  }
  return false;
}

async function clearNotifications(page: Page): Promise<void> {
  await page.evaluate(() => {
    for (const b of document.querySelectorAll<HTMLElement>('.notification-toast .codicon-notifications-clear, .notification-toast .codicon-close')) b.click();
  });
  await until('no notification toasts', async () => (await notificationTexts(page)).length === 0, 10_000).catch(() => undefined);
}

describe('VS Code Restricted Mode (code-server, workspace trust on)', function () {
  let cs: RunningCodeServer;
  let browser: Browser;
  let page: Page;
  let workspace: string;
  const userData = () => join(cs.dir, 'user-data');

  before(async function () {
    ({ cs, browser, page, workspace } = await openWorkbench('ai-e2e-trust-ws-', (ws) => {
      cpSync(join(repoRoot, 'samples/tiny-gpt'), join(ws, 'tiny-gpt'), { recursive: true });
    }, { workspaceTrust: true }));
  });

  afterEach(async function () {
    await screenshotIfFailed(this.currentTest, page, 'trust-');
  });

  after(async function () {
    await closeWorkbench({ cs, browser, workspace }, this.currentTest?.state === 'failed');
  });

  it('asks whether to trust the folder; "No" opens it in Restricted Mode', async function () {
    const no = page.locator('.monaco-dialog-box .monaco-button', { hasText: "No, I don't trust the authors" });
    await no.waitFor({ state: 'visible', timeout: 60_000 });
    await no.click();
    const item = page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).first();
    await item.waitFor({ state: 'visible', timeout: 30_000 });
    // The extension still activates (untrustedWorkspaces "limited") and starts its runtime.
    await until('the runtime process', () => runtimePids(cs.extensionsDir).length === 1);
    await until('"runtime started" in the log', () => extensionLog(userData()).includes('runtime started'));
  });

  it('Open Model… and Inspect Text… refuse in Restricted Mode: no model loaded, no panel', async function () {
    await runCommand(page, 'Attention: Open Model');
    const toasts = await until('the refusal', async () => {
      const t = await notificationTexts(page);
      return t.some((x) => x.includes(REFUSAL)) && t;
    });
    assert.ok(toasts.some((x) => x.includes(REFUSAL) && x.includes('Manage Workspace Trust')), toasts.join(' | '));
    // No model picker: the refusal comes before the workspace's models are even listed.
    assert.equal(await page.locator('.quick-input-list .monaco-list-row[aria-label*="model.onnx"]').count(), 0);
    // The picture once the toast has slid fully in (its button drawn), with the banner above.
    await page.locator('.notification-toast .monaco-button', { hasText: 'Manage Workspace Trust' }).first().waitFor({ state: 'visible' });
    await page.mouse.move(700, 600); // off the title bar, whose hover tooltip would cover it
    await page.waitForTimeout(800);
    await page.screenshot({ path: screenshotPath('vscode-restricted.png') });
    await clearNotifications(page);

    await runCommand(page, 'Attention: Inspect Text');
    await until('the refusal again', async () => (await notificationTexts(page)).some((x) => x.includes(REFUSAL)));
    // The input box never opened, so nothing was typed into a capture.
    assert.equal(await page.locator('.quick-input-widget input').isVisible(), false);
    assert.equal(await attentionPanelOpen(page), false, 'an Attention panel opened in Restricted Mode');
    const log = extensionLog(userData());
    assert.doesNotMatch(log, /opened .*attention layers/);
    assert.doesNotMatch(log, /capture \S+: \d+ layers/);
    await clearNotifications(page);
  });

  it('after "Trust" in Manage Workspace Trust, Inspect Text… opens the model and captures', async function () {
    await runCommand(page, 'Workspaces: Manage Workspace Trust');
    const trust = page.locator('.workspace-trust-editor .monaco-button', { hasText: /^Trust$/ }).first();
    await trust.waitFor({ state: 'visible', timeout: 30_000 });
    await trust.click();
    await until('Restricted Mode to end', async () => (await page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).count()) === 0, 30_000);

    await runCommand(page, 'Attention: Inspect Text');
    await pickRow(page, 'model.onnx');
    await answerInputBox(page, TEXT);
    const frame = await webviewFrame(page, '.attention-panel .token-strip');
    const n = TEXT.split(' ').length + 1;
    const status = await until('the capture in the panel', async () => {
      const s = (await frame.textContent('.panel-status')) ?? '';
      return s.startsWith(`${n} tokens`) && !s.includes('capturing') && !s.includes('layer ') && s;
    });
    assert.match(status, new RegExp(`^${n} tokens · 2 layers × 4 heads · cpu · \\d+ ms$`));
    assert.deepEqual(await frame.$$eval('.token-strip .token', (els) => els.map((e) => e.textContent ?? '')), ['[BOS]', ...TEXT.split(' ')]);
    assert.match(extensionLog(userData()), /opened .*: 2 attention layers, 4 heads/);
  });
});
