/**
 * Opens the Attention panel bundle in headless Chromium the way VS Code hosts it: an HTML page
 * under the panel CSP (common/csp.ts) served from a fake webview origin, with
 * acquireVsCodeApi stubbed to record what the panel posts and stores. Every request that is
 * not one of the three files is refused and recorded, as are CSP violations and page errors.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import type { HostToWebview, PanelState, WebviewToHost } from '../../protocol/webview';
import { makeNonce } from '../../common/csp';
import { panelHtml } from '../../common/panelDocument';
import { launchChromium } from './chromium';
import { ensureWebviewBundle } from './webviewBundle';

export const ORIGIN = 'https://webview.test';

export interface PanelPage {
  page: Page;
  /** Requests to anything but the page, panel.js and panel.css. */
  refused: string[];
  /** CSP violations, uncaught page errors and console errors. */
  problems: string[];
  posted(): Promise<WebviewToHost[]>;
  state(): Promise<PanelState | undefined>;
  post(messages: HostToWebview[]): Promise<void>;
  close(): Promise<void>;
}

/** Resolves when a marker posted after everything else has arrived (a string: see stubVsCodeApi). */
const FLUSH = `new Promise((resolve) => {
  const marker = 'flush-' + Math.random();
  addEventListener('message', function onMessage(e) {
    if (e.data !== marker) return;
    removeEventListener('message', onMessage);
    resolve();
  });
  postMessage(marker, '*');
})`;

/** Listens for CSP violations from the first script on, before the panel runs. */
export const PROBE = `window.__violations = [];
addEventListener('securitypolicyviolation', (e) => __violations.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber));`;

/**
 * acquireVsCodeApi as VS Code provides it, recording into window.__posted / __state. A string,
 * not a function: the test runner's transpiler would add helpers the page does not have.
 */
export function stubVsCodeApi(initialState: unknown = null): string {
  return `window.__posted = []; window.__state = ${JSON.stringify(initialState)} ?? undefined;
window.acquireVsCodeApi = () => ({
  postMessage: (m) => window.__posted.push(JSON.parse(JSON.stringify(m))),
  getState: () => window.__state,
  setState: (s) => { window.__state = s; },
});`;
}

/** A webview page as its host serves it, before the page has started (see openWebviewPage). */
export interface WebviewPage {
  page: Page;
  /** Requests to anything but the page and the bundle's script and CSS. */
  refused: string[];
  /** CSP violations, uncaught page errors and console errors. */
  problems: string[];
}

export interface WebviewPageOptions {
  /** The bundle's file name in dist/webview (panel, compare, efficiency, serving). */
  name: string;
  bundle: { js: string; css: string };
  title: string;
  viewport?: { width: number; height: number };
  /** What getState returns before the page stores anything. */
  initialState?: unknown;
}

/**
 * One webview bundle's page under the panel CSP, exactly the document its host serves (from the
 * fake webview origin), with acquireVsCodeApi stubbed and the CSP probe listening. The stub and
 * the probe come in as init scripts, which run before the page's own scripts and outside its CSP.
 */
export async function openWebviewPage(browser: Browser, o: WebviewPageOptions): Promise<WebviewPage> {
  const html = panelHtml({ cspSource: ORIGIN, nonce: makeNonce(), scriptUri: `${ORIGIN}/${o.name}.js`, styleUri: `${ORIGIN}/${o.name}.css`, title: o.title });
  const context = await browser.newContext({ viewport: o.viewport ?? { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const refused: string[] = [];
  const problems: string[] = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url === `${ORIGIN}/`) return route.fulfill({ body: html, contentType: 'text/html' });
    if (url === `${ORIGIN}/${o.name}.js`) return route.fulfill({ body: readFileSync(o.bundle.js), contentType: 'text/javascript' });
    if (url === `${ORIGIN}/${o.name}.css`) return route.fulfill({ body: readFileSync(o.bundle.css), contentType: 'text/css' });
    refused.push(url);
    return route.abort();
  });
  watchProblems(page, problems);
  await page.addInitScript(PROBE);
  await page.addInitScript(stubVsCodeApi(o.initialState ?? null));
  await page.goto(`${ORIGIN}/`);
  return { page, refused, problems };
}

export async function openPanelPage(browser: Browser, initialState?: PanelState): Promise<PanelPage> {
  const bundle = await ensureWebviewBundle();
  const { page, refused, problems } = await openWebviewPage(browser, { name: 'panel', bundle, title: 'Attention', initialState });
  await page.waitForFunction(() => document.querySelector('.thumbnail-grid') !== null, undefined, { timeout: 15_000 }).catch((e) => {
    throw new Error(`the panel did not start: ${problems.join('; ') || e.message}`);
  });
  return {
    page,
    refused,
    problems,
    posted: () => page.evaluate(() => (window as unknown as { __posted: WebviewToHost[] }).__posted),
    state: () => page.evaluate(() => (window as unknown as { __state?: PanelState }).__state),
    post: async (messages) => {
      for (const m of messages) await page.evaluate((msg) => window.postMessage(msg, '*'), m);
      // Message events are dispatched in order: once a marker posted last arrives, the panel
      // has handled everything before it.
      await page.evaluate(FLUSH);
    },
    close: () => page.context().close(),
  };
}

/**
 * The panel after a host's first messages: the stored state and the theme, then a capture's
 * messages; resolves once the head heatmap is drawn.
 */
export async function openCapturedPanel(browser: Browser, messages: HostToWebview[], state: PanelState, initialState?: PanelState): Promise<PanelPage> {
  const p = await openPanelPage(browser, initialState);
  await p.post([{ type: 'init', state, theme: 'dark' }, ...messages]);
  await p.page.waitForFunction(() => (document.querySelector('.head-heatmap') as { data?: unknown[] } | null)?.data?.length === 1);
  return p;
}

/** Fails on any CSP violation or page error (and, with `refused`, any request outside the bundle), then closes the page. */
export async function closeChecked(p: PanelPage | undefined, opts: { refused?: boolean } = {}): Promise<void> {
  if (!p) return;
  try {
    if (opts.refused) assert.deepEqual(p.refused, [], 'the panel requested nothing outside its bundle');
    assert.deepEqual([...p.problems, ...(await violations(p.page))], [], 'no CSP violation or page error');
  } finally {
    await p.close();
  }
}

/**
 * A self-contained report file opened from disk (file: URL) with the CSP probe listening. Every
 * request that is not file: or data: is refused and recorded in `requested`.
 */
export async function openReportFile(browser: Browser, file: string, o: { viewport?: { width: number; height: number }; acceptDownloads?: boolean } = {}): Promise<{ page: Page; requested: string[]; problems: string[] }> {
  const context = await browser.newContext({ viewport: o.viewport ?? { width: 1280, height: 900 }, deviceScaleFactor: 1, acceptDownloads: o.acceptDownloads });
  const page = await context.newPage();
  const requested: string[] = [];
  const problems: string[] = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:') || url.startsWith('data:')) return route.continue();
    requested.push(url);
    return route.abort();
  });
  page.on('request', (r) => {
    if (!/^(file|data):/.test(r.url())) requested.push(r.url());
  });
  watchProblems(page, problems);
  await page.addInitScript(PROBE);
  await page.goto(pathToFileURL(file).href);
  return { page, requested, problems };
}

export function watchProblems(page: Page, problems: string[]): void {
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || /strict CSP|Content Security Policy/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
}

/** CSP violations seen by the page's own listener (report pages install it too, see PROBE). */
export async function violations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __violations?: string[] }).__violations ?? []);
}

/** What a suite of report files shares: one browser and one temporary folder to write them in. */
export interface ReportFilesSuite {
  browser: Browser;
  dir: string;
}

/**
 * Registers the hooks of a suite that writes report files and opens them: the panel bundle
 * built, the browser launched and the folder made before; both gone after.
 */
export function reportFilesSuite(prefix: string): ReportFilesSuite {
  const suite = {} as ReportFilesSuite;
  before(async () => {
    await ensureWebviewBundle();
    suite.browser = await launchChromium();
    suite.dir = mkdtempSync(join(tmpdir(), prefix));
  });
  after(async () => {
    await suite.browser?.close();
    if (suite.dir) rmSync(suite.dir, { recursive: true, force: true });
  });
  return suite;
}

/**
 * Opens a report file, runs `check` on it, then fails on any request that left the file, CSP
 * violation or page error, and closes it.
 */
export async function checkReportFile(browser: Browser, file: string, check: (page: Page) => Promise<void>, viewport?: { width: number; height: number }): Promise<void> {
  const { page, requested, problems } = await openReportFile(browser, file, { viewport });
  try {
    await check(page);
    assert.deepEqual(requested, [], 'no request left the file');
    assert.deepEqual([...problems, ...(await violations(page))], [], 'no CSP violation or page error');
  } finally {
    await page.context().close();
  }
}
