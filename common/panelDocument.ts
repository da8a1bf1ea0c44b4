/**
 * The HTML document of every Attention page, in one place so each loads under the same policy:
 * the webview panels (bundle by URI, for the panel host and the browser tests) and the
 * self-contained files written to disk (bundle and data inline, for the HTML and serving
 * reports). Pure string building: no DOM, no Node APIs. The host passes
 * webview.asWebviewUri(...) strings and webview.cspSource.
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

/** A document that opens from disk with no server and no network: everything inline. */
export interface InlineDocumentOptions {
  nonce: string;
  title: string;
  /** The bundle's script and CSS text, as read (inlineScript/inlineStyle make them safe here). */
  script: string;
  style: string;
  /** Data the page reads at start from a JSON <script> element with this id. */
  data: { id: string; value: unknown };
}

function attr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** JSON that is safe inside a <script> element: no `</script`, no `<!--`, no line separators. */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * Inline script text must neither close its element nor open an HTML comment (which changes
 * how the parser finds the end); \x3C reads as "<" in JS strings, templates and regexes. A
 * source map comment would make devtools fetch a file the document does not carry.
 */
function inlineScript(js: string): string {
  return js.replace(/\/\/# sourceMappingURL=\S+\s*$/, '').replace(/<(\/script|!--)/gi, '\\x3C$1');
}

function inlineStyle(css: string): string {
  return css.replace(/\/\*# sourceMappingURL=\S+\s*\*\/\s*$/, '').replace(/<\/(style)/gi, '<\\/$1');
}

/** The document around a head's resources and a body's scripts, under the panels' CSP. */
function document(cspSource: string, nonce: string, title: string, head: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${attr(panelCsp(cspSource, nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${attr(title)}</title>
${head}
</head>
<body>
${body}
</body>
</html>
`;
}

/** A webview panel's document: the bundle by URI from the webview's resource origin. */
export function panelHtml(o: PanelHtmlOptions): string {
  return document(o.cspSource, o.nonce, o.title, `<link rel="stylesheet" href="${attr(o.styleUri)}">`, `<script nonce="${attr(o.nonce)}" src="${attr(o.scriptUri)}"></script>`);
}

/** A self-contained document: no resource origin, the bundle and its data inline. */
export function inlineDocument(o: InlineDocumentOptions): string {
  const nonce = attr(o.nonce);
  return document(
    '',
    o.nonce,
    o.title,
    `<style nonce="${nonce}">${inlineStyle(o.style)}</style>`,
    `<script type="application/json" id="${attr(o.data.id)}">${scriptSafeJson(o.data.value)}</script>\n<script nonce="${nonce}">${inlineScript(o.script)}</script>`,
  );
}
