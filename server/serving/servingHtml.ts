/**
 * The serving report as one HTML file: the serving view's bundle (dist/webview/serving.js and
 * .css) inline under the panels' CSP, and the report as JSON it reads at start. Opens from
 * disk in any browser, no server, no network.
 */
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { ServingReport } from '../../protocol/servingWebview';
import { panelCsp } from '../../common/csp';
import { UserError } from '../../common/errors';
import { scriptSafeJson } from '../report/htmlReport';

function servingBundle(): { js: string; css: string } {
  const candidates = [join(__dirname, 'webview'), resolve(__dirname, '..', '..', 'dist', 'webview')];
  for (const dir of candidates) {
    const js = join(dir, 'serving.js');
    const css = join(dir, 'serving.css');
    if (existsSync(js) && existsSync(css)) return { js, css };
  }
  throw new UserError(`the serving view bundle (serving.js, serving.css) is missing from ${candidates.join(' and ')}; run npm run build`);
}

export function servingHtml(report: ServingReport): string {
  const bundle = servingBundle();
  const js = readFileSync(bundle.js, 'utf8').replace(/\/\/# sourceMappingURL=\S+\s*$/, '').replace(/<(\/script|!--)/gi, '\\x3C$1');
  const css = readFileSync(bundle.css, 'utf8').replace(/\/\*# sourceMappingURL=\S+\s*\*\/\s*$/, '').replace(/<\/(style)/gi, '<\\/$1');
  const nonce = randomBytes(18).toString('base64url');
  const title = `KV-cache eviction: ${report.model}`.replace(/[<>&"]/g, '');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${panelCsp('', nonce)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style nonce="${nonce}">${css}</style>
</head>
<body>
<script type="application/json" id="serving-report">${scriptSafeJson(report)}</script>
<script nonce="${nonce}">${js}</script>
</body>
</html>
`;
}
