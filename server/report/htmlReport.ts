/**
 * The standalone HTML report: one file holding the panel bundle (script and CSS inline) and the
 * messages a host would have posted, which the panel replays (webview/main.ts, report mode).
 * It opens from disk in any browser with no server, no CDN and no network.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../files/atomicWrite';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { HostToWebview } from '../../protocol/webview';
import { inlineDocument } from '../../common/panelDocument';
import { UserError } from '../../common/errors';

/**
 * A webview bundle's script and CSS text: dist/webview next to dist/cli.js when bundled;
 * <repo>/dist/webview when run with tsx. `name` is the bundle (panel, serving), `what` says
 * what it is in the error.
 */
export function readWebviewBundle(name: string, what: string): { js: string; css: string } {
  const candidates = [join(__dirname, 'webview'), resolve(__dirname, '..', '..', 'dist', 'webview')];
  for (const dir of candidates) {
    const js = join(dir, `${name}.js`);
    const css = join(dir, `${name}.css`);
    if (existsSync(js) && existsSync(css)) return { js: readFileSync(js, 'utf8'), css: readFileSync(css, 'utf8') };
  }
  throw new UserError(`${what} (${name}.js, ${name}.css) is missing from ${candidates.join(' and ')}; run npm run build`);
}

/** The report's HTML: the panel's bundle and the messages inlined. */
export function renderHtmlReport(messages: HostToWebview[], title: string): string {
  const bundle = readWebviewBundle('panel', 'the panel bundle');
  const nonce = randomBytes(18).toString('base64url');
  return inlineDocument({ nonce, title, script: bundle.js, style: bundle.css, data: { id: 'attention-report', value: messages } });
}

/** Written whole or not at all (server/files/atomicWrite.ts). */
export function writeHtmlReport(outFile: string, messages: HostToWebview[], title: string): void {
  mkdirSync(dirname(resolve(outFile)), { recursive: true });
  writeFileAtomic(outFile, renderHtmlReport(messages, title));
}
