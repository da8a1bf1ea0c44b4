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
import { panelCsp } from '../../common/csp';
import { UserError } from '../../common/errors';

/** dist/webview next to dist/cli.js when bundled; <repo>/dist/webview when run with tsx. */
export function findWebviewBundle(): { js: string; css: string } {
  const candidates = [join(__dirname, 'webview'), resolve(__dirname, '..', '..', 'dist', 'webview')];
  for (const dir of candidates) {
    const js = join(dir, 'panel.js');
    const css = join(dir, 'panel.css');
    if (existsSync(js) && existsSync(css)) return { js, css };
  }
  throw new UserError(`the panel bundle (panel.js, panel.css) is missing from ${candidates.join(' and ')}; run npm run build`);
}

/** JSON that is safe inside a <script> element: no `</script`, no `<!--`, no line separators. */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The report's HTML: the panel's bundle and the messages inlined. */
export function renderHtmlReport(messages: HostToWebview[], title: string): string {
  const bundle = findWebviewBundle();
  // A source map comment would make devtools fetch a file the report does not carry.
  const js = readFileSync(bundle.js, 'utf8').replace(/\/\/# sourceMappingURL=\S+\s*$/, '');
  const css = readFileSync(bundle.css, 'utf8').replace(/\/\*# sourceMappingURL=\S+\s*\*\/\s*$/, '');
  const nonce = randomBytes(18).toString('base64url');
  // Inline script text must neither close its element nor open an HTML comment (which changes
  // how the parser finds the end); \x3C reads as "<" in JS strings, templates and regexes.
  const safeJs = js.replace(/<(\/script|!--)/gi, '\\x3C$1');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${panelCsp('', nonce)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style nonce="${nonce}">${css.replace(/<\/(style)/gi, '<\\/$1')}</style>
</head>
<body>
<script type="application/json" id="attention-report">${scriptSafeJson(messages)}</script>
<script nonce="${nonce}">${safeJs}</script>
</body>
</html>
`;
}

/** Written whole or not at all (server/files/atomicWrite.ts). */
export function writeHtmlReport(outFile: string, messages: HostToWebview[], title: string): void {
  mkdirSync(dirname(resolve(outFile)), { recursive: true });
  writeFileAtomic(outFile, renderHtmlReport(messages, title));
}
