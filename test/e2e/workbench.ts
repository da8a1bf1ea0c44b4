/**
 * Driving the VS Code workbench (code-server in headless Chromium) the way a user does: the
 * command palette, quick picks, input boxes, notifications, hovers; reading what webviews draw
 * (a webview is an iframe inside an iframe, reached through page.frames()); and looking at the
 * extension from outside: its log file and its runtime process.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Frame, Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium';
import { installCodeServer, repoRoot, startCodeServer, type CodeServerOptions, type RunningCodeServer } from './codeServer';

/** Polls `probe` until it returns something other than undefined/false, or throws with `what`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Gives the keyboard back to the workbench: while a webview has focus, key presses go to its
 * iframe and the workbench's shortcuts (F1, Ctrl+P) never fire. The Explorer's title is inert.
 */
export async function focusWorkbench(page: Page): Promise<void> {
  await page.locator('.part.sidebar .composite.title').first().click();
}

/** The labels the command palette lists for `query` (without running anything). */
export async function paletteLabels(page: Page, query: string): Promise<string[]> {
  await focusWorkbench(page);
  await page.keyboard.press('F1');
  await page.waitForSelector('.quick-input-widget input', { state: 'visible' });
  await page.keyboard.type(query);
  await page.waitForTimeout(500);
  const labels = await page.$$eval('.quick-input-list .monaco-list-row', (rows) => rows.map((r) => r.getAttribute('aria-label') ?? ''));
  await page.keyboard.press('Escape');
  return labels;
}

/** A new page on the code-server workbench at `url`, once the workbench is drawn. */
export async function openWorkbenchPage(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(url);
  await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
  return page;
}

/** The packaged linux-x64 VSIX (made by `npm run test:e2e` before mocha). */
export function packagedVsix(): string {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  return join(repoRoot, `out/vsix/attention-inspector-linux-x64-${pkg.version}.vsix`);
}

export interface Workbench {
  cs: RunningCodeServer;
  browser: Browser;
  page: Page;
  /** The folder the workbench opens. */
  workspace: string;
}

/**
 * A fresh code-server with the packaged VSIX installed, opened on a new folder (named from
 * `workspacePrefix`) that `prepare` fills first, and its workbench drawn in headless Chromium.
 */
export async function openWorkbench(workspacePrefix: string, prepare: (workspace: string) => void, opts: CodeServerOptions = {}): Promise<Workbench> {
  installCodeServer();
  const workspace = mkdtempSync(join(tmpdir(), workspacePrefix));
  prepare(workspace);
  const cs = await startCodeServer(packagedVsix(), workspace, opts);
  const browser = await launchChromium();
  const page = await openWorkbenchPage(browser, cs.url);
  return { cs, browser, page, workspace };
}

/**
 * For after: prints the extension log when the suite failed (or E2E_DEBUG is set), closes the
 * browser, stops code-server and removes its folder, the workspace and `more` folders.
 */
export async function closeWorkbench(w: Partial<Workbench>, failed: boolean, more: (string | undefined)[] = []): Promise<void> {
  if (w.cs && (failed || process.env.E2E_DEBUG)) console.log('--- extension log ---\n' + extensionLog(join(w.cs.dir, 'user-data')));
  await w.browser?.close();
  await w.cs?.stop();
  // code-server's children may still be writing logs as it exits: rmSync retries ENOTEMPTY.
  for (const d of [w.cs?.dir, w.workspace, ...more]) if (d) rmSync(d, { recursive: true, force: true, maxRetries: 10 });
}

/** For afterEach: a screenshot of the page when the test failed, its path printed. */
export async function screenshotIfFailed(test: Mocha.Test | undefined, page: Page | undefined, tag: string): Promise<void> {
  if (test?.state !== 'failed' || !page) return;
  const shot = join(tmpdir(), `ai-e2e-${tag}failure-${Date.now()}.png`);
  await page.screenshot({ path: shot }).catch(() => undefined);
  console.log(`[e2e] screenshot of the failure: ${shot}`);
}

/** Runs a palette command by its full title ("Attention: Show Logs"). */
export async function runCommand(page: Page, title: string): Promise<void> {
  await focusWorkbench(page);
  await page.keyboard.press('F1');
  await page.waitForSelector('.quick-input-widget input', { state: 'visible' });
  await page.keyboard.type(title);
  await pickRow(page, title);
}

/** Clicks the first quick-pick row whose label contains `text` (waiting for it to appear). */
export async function pickRow(page: Page, text: string): Promise<void> {
  const row = page.locator(`.quick-input-list .monaco-list-row[aria-label*="${text.replace(/"/g, '\\"')}"]`).first();
  await row.waitFor({ state: 'visible', timeout: 30_000 });
  await row.click();
}

/** Types into the quick input box (an input box a command opened) and submits it. */
export async function answerInputBox(page: Page, text: string): Promise<void> {
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 30_000 });
  // The box may be prefilled (Inspect Text offers the editor's selection): replace it. fill() and
  // press() act on the box itself, not on whatever has the keyboard: when a quick pick closes,
  // VS Code hands focus back to the webview that had it, asynchronously, and that can land after
  // the next box has opened.
  await input.fill(text);
  await until('the input box to hold the text', async () => (await input.inputValue()) === text);
  await input.press('Enter');
}

/**
 * Opens a workspace file by clicking through the Explorer tree, as a user would (Quick Open's
 * results depend on the file search having indexed the folder yet).
 */
export async function openFile(page: Page, relPath: string): Promise<void> {
  const parts = relPath.split('/');
  for (const [i, name] of parts.entries()) {
    const row = page.locator(`.explorer-folders-view .monaco-list-row[aria-label="${name}"]`).first();
    await row.waitFor({ state: 'visible', timeout: 30_000 });
    const expanded = await row.getAttribute('aria-expanded');
    if (i === parts.length - 1 || expanded !== 'true') await row.click();
  }
}

export async function notificationTexts(page: Page): Promise<string[]> {
  return page.$$eval('.notification-toast, .notifications-center .notification-list-item', (els) => els.map((e) => (e.textContent ?? '').replace(/\u00a0/g, ' ')));
}

export async function dismissNotifications(page: Page): Promise<void> {
  await page.evaluate(() => {
    for (const b of document.querySelectorAll<HTMLElement>('.notification-toast .codicon-notifications-clear, .notification-toast .codicon-close')) b.click();
  });
}

/** The webview frame whose document has `selector` (the panel's own iframe, not its host). */
export async function webviewFrame(page: Page, selector: string, timeoutMs = 60_000): Promise<Frame> {
  return until(`a webview with ${selector}`, async () => {
    for (const f of page.frames()) {
      if (f === page.mainFrame()) continue;
      if (await f.$(selector).catch(() => null)) return f;
    }
    return undefined;
  }, timeoutMs);
}

/**
 * Pixels of the thumbnail grid canvas that differ from its top-left pixel (the background):
 * a grid with no maps drawn has none apart from its labels' few.
 */
export async function paintedPixels(frame: Frame): Promise<{ total: number; painted: number; colours: number }> {
  return frame.evaluate(() => {
    const c = document.querySelector('canvas.thumbnail-grid') as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const bg = [d[0], d[1], d[2]];
    let painted = 0;
    const colours = new Set<number>();
    for (let i = 0; i < d.length; i += 4) {
      if (d[i] !== bg[0] || d[i + 1] !== bg[1] || d[i + 2] !== bg[2]) painted++;
      colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    }
    return { total: d.length / 4, painted, colours: colours.size };
  });
}

/** The extension's LogOutputChannel file under the code-server user-data folder. */
export function extensionLog(userData: string): string {
  const logs = join(userData, 'logs');
  if (!existsSync(logs)) return '';
  const found: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name === 'Attention Inspector.log') found.push(p);
    }
  };
  walk(logs);
  return found.map((f) => readFileSync(f, 'utf8')).join('\n');
}

/** Process ids of the runtime (dist/server.js of the extension installed under `extensionsDir`). */
export function runtimePids(extensionsDir: string): number[] {
  const ps = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return ps
    .split('\n')
    .filter((l) => l.includes(extensionsDir) && l.includes('dist/server.js'))
    .map((l) => Number(l.trim().split(/\s+/)[0]))
    .filter((p) => Number.isInteger(p) && p > 0);
}

/** The status bar item of the extension (its text, e.g. "Attention · cpu"). */
export async function statusBarText(page: Page): Promise<string> {
  const texts = await page.$$eval('.statusbar-item', (els) => els.map((e) => (e.textContent ?? '').trim()));
  return texts.find((t) => t.startsWith('Attention')) ?? '';
}
