/**
 * Opens the Attention panel bundle in headless Chromium the way VS Code hosts it: an HTML page
 * under the panel CSP (common/csp.ts) served from a fake webview origin, with
 * acquireVsCodeApi stubbed to record what the panel posts and stores. Every request that is
 * not one of the three files is refused and recorded, as are CSP violations and page errors.
 */
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import type { HostToWebview, PanelState, WebviewToHost } from '../../protocol/webview';
import { makeNonce } from '../../common/csp';
import { panelHtml } from '../../common/panelDocument';
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

export async function openPanelPage(browser: Browser, initialState?: PanelState): Promise<PanelPage> {
  const bundle = await ensureWebviewBundle();
  const nonce = makeNonce();
  // The page is exactly what the host serves; the stub and the CSP probe come in as init
  // scripts, which run before the page's own scripts and outside its CSP.
  const html = panelHtml({ cspSource: ORIGIN, nonce, scriptUri: `${ORIGIN}/panel.js`, styleUri: `${ORIGIN}/panel.css`, title: 'Attention' });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const refused: string[] = [];
  const problems: string[] = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url === `${ORIGIN}/`) return route.fulfill({ body: html, contentType: 'text/html' });
    if (url === `${ORIGIN}/panel.js`) return route.fulfill({ body: readFileSync(bundle.js), contentType: 'text/javascript' });
    if (url === `${ORIGIN}/panel.css`) return route.fulfill({ body: readFileSync(bundle.css), contentType: 'text/css' });
    refused.push(url);
    return route.abort();
  });
  watchProblems(page, problems);
  await page.addInitScript(PROBE);
  await page.addInitScript(stubVsCodeApi(initialState ?? null));
  await page.goto(`${ORIGIN}/`);
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
    close: () => context.close(),
  };
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
