/**
 * The HTML document of an Attention panel, for the panel host (extension) and the browser
 * tests, so both load the bundle the same way under the same policy. Pure string building: no
 * DOM, no Node APIs. The host passes webview.asWebviewUri(...) strings and webview.cspSource.
 */
import { panelCsp } from './csp';

export interface PanelHtmlOptions {
  cspSource: string;
  nonce: string;
  /** URI of dist/webview/panel.js as the webview may load it. */
  scriptUri: string;
  /** URI of dist/webview/panel.css. */
  styleUri: string;
  title: string;
}

function attr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function panelHtml(o: PanelHtmlOptions): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${attr(panelCsp(o.cspSource, o.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${attr(o.styleUri)}">
<title>${attr(o.title)}</title>
</head>
<body>
<script nonce="${attr(o.nonce)}" src="${attr(o.scriptUri)}"></script>
</body>
</html>
`;
}
