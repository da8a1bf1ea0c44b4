/**
 * The panel host's pure parts: the HTML it gives the webview (CSP, nonce on every script,
 * nothing remote) and the validation of what the webview posts back.
 */
import assert from 'node:assert/strict';
import { panelHtml } from '../../extension/panelHtml';
import { parseWebviewMessage } from '../../protocol/webview';
import { makeNonce } from '../../common/csp';

const CSP_SOURCE = 'https://file+.vscode-resource.vscode-cdn.net';
const BASE = `${CSP_SOURCE}/ext/dist/webview`;

function directives(html: string): Map<string, string[]> {
  const m = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html);
  assert.ok(m, 'a CSP meta element');
  const csp = m[1].replace(/&#39;|&apos;/g, "'");
  return new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
}

describe('panel HTML', () => {
  const nonce = makeNonce();
  const html = panelHtml({ cspSource: CSP_SOURCE, nonce, scriptUri: `${BASE}/panel.js`, styleUri: `${BASE}/panel.css` });

  it('carries a CSP that denies by default and runs scripts only by nonce', () => {
    const d = directives(html);
    assert.deepEqual(d.get('default-src'), ["'none'"]);
    assert.deepEqual(d.get('script-src'), [`'nonce-${nonce}'`]);
    assert.ok(d.get('img-src')?.includes(CSP_SOURCE));
    assert.ok(d.get('style-src')?.includes(CSP_SOURCE));
    assert.ok(d.get('font-src')?.includes(CSP_SOURCE));
    assert.ok(!html.includes('unsafe-eval'));
    for (const [name, values] of d) {
      if (name === 'style-src-attr') continue;
      assert.ok(!values.includes("'unsafe-inline'"), `${name} allows inline content`);
    }
  });

  it('puts the nonce on every script and loads only the webview bundle', () => {
    const scripts = [...html.matchAll(/<script\b([^>]*)>/g)].map((m) => m[1]);
    assert.equal(scripts.length, 1);
    for (const attrs of scripts) assert.ok(attrs.includes(`nonce="${nonce}"`), attrs);
    assert.ok(html.includes(`src="${BASE}/panel.js"`));
    assert.ok(html.includes(`href="${BASE}/panel.css"`));
  });

  it('names no remote URL besides the webview resource origin', () => {
    const urls = [...html.matchAll(/(?:https?:)?\/\/[^\s"'<>]+/g)].map((m) => m[0]);
    assert.ok(urls.length >= 2);
    for (const u of urls) assert.ok(u.startsWith(CSP_SOURCE), `remote URL ${u}`);
  });

  it('gives a fresh nonce each time and refuses one that would break the policy', () => {
    assert.notEqual(makeNonce(), makeNonce());
    assert.throws(() => panelHtml({ cspSource: CSP_SOURCE, nonce: `abc' 'unsafe-inline`, scriptUri: 'x', styleUri: 'y' }), /nonce/);
  });
});

describe('webview message validation', () => {
  const tile = { type: 'requestTile', requestId: 3, captureId: 'x1-ab', layer: 2, head: 1, q0: 0, q1: 16, k0: 8, k1: 24 };

  it('accepts well-formed messages, keeping only their known fields', () => {
    assert.deepEqual(parseWebviewMessage({ type: 'ready', extra: 1 }), { type: 'ready' });
    assert.deepEqual(parseWebviewMessage(tile), tile);
    assert.deepEqual(parseWebviewMessage({ type: 'selectHead', layer: 0, head: 5 }), { type: 'selectHead', layer: 0, head: 5 });
    assert.deepEqual(parseWebviewMessage({ type: 'log', level: 'warn', message: 'a\nb' }), { type: 'log', level: 'warn', message: 'a b' });
  });

  it('refuses ids and numbers out of range, paths and unknown types', () => {
    for (const bad of [
      { ...tile, layer: -1 },
      { ...tile, head: 1.5 },
      { ...tile, q1: 0 },
      { ...tile, k0: 24 },
      { ...tile, requestId: '3' },
      { ...tile, captureId: '../../etc/passwd' },
      { ...tile, captureId: 'a'.repeat(65) },
      { ...tile, q1: Number.POSITIVE_INFINITY },
      { type: 'selectHead', layer: 0 },
      { type: 'inspect', text: '   ' },
      { type: 'openFile', path: '/etc/passwd' },
      { type: 'log', level: 'debug', message: 'x' },
      null,
      'ready',
    ]) {
      assert.equal(parseWebviewMessage(bad), undefined, JSON.stringify(bad));
    }
  });
});
