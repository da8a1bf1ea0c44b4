/**
 * The HTML the Attention panel host gives its webview: common/panelDocument.ts's document (shared
 * with the browser tests, under the CSP of common/csp.ts), behind a check that the nonce cannot
 * break out of the policy. No vscode import, so the security properties are unit-tested.
 */
import { panelHtml as panelDocument } from '../common/panelDocument';

export interface PanelHtmlInput {
  /** webview.cspSource */
  cspSource: string;
  /** A fresh nonce per page load (makeNonce from common/csp.ts). */
  nonce: string;
  /** webview.asWebviewUri(dist/webview/panel.js).toString() */
  scriptUri: string;
  /** webview.asWebviewUri(dist/webview/panel.css).toString() */
  styleUri: string;
  title?: string;
}

const NONCE = /^[A-Za-z0-9+/_=-]{16,}$/;

export function panelHtml(input: PanelHtmlInput): string {
  // A nonce with quotes or spaces would add sources to the CSP.
  if (!NONCE.test(input.nonce)) throw new Error('panel nonce must be 16 or more base64url characters');
  return panelDocument({ ...input, title: input.title ?? 'Attention Inspector' });
}
