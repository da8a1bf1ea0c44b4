/**
 * The serving report as one HTML file: the serving view's bundle (dist/webview/serving.js and
 * .css) inline under the panels' CSP, and the report as JSON it reads at start. Opens from
 * disk in any browser, no server, no network.
 */
import { randomBytes } from 'node:crypto';
import type { ServingReport } from '../../protocol/servingWebview';
import { inlineDocument } from '../../common/panelDocument';
import { readWebviewBundle } from '../report/htmlReport';

export function servingHtml(report: ServingReport): string {
  const bundle = readWebviewBundle('serving', 'the serving view bundle');
  const nonce = randomBytes(18).toString('base64url');
  const title = `KV-cache eviction: ${report.model}`.replace(/[<>&"]/g, '');
  return inlineDocument({ nonce, title, script: bundle.js, style: bundle.css, data: { id: 'serving-report', value: report } });
}
