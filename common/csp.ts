/**
 * The Content-Security-Policy of an Attention panel, in one place for the panel host, the
 * standalone report and the browser tests. No remote content, scripts only by nonce, no
 * eval (the strict Plotly bundle needs none). Pair with webview/cspNonce.ts, which lets the
 * libraries' own <style> elements carry the nonce. `cspSource` is webview.cspSource in VS Code.
 */
export function panelCsp(cspSource: string, nonce: string): string {
  // The standalone report has no resource origin: everything it needs is inline.
  const src = cspSource ? `${cspSource} ` : '';
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${src}'nonce-${nonce}'`,
    // Plotly sets style attributes through setAttribute (e.g. image-rendering on the heatmap
    // image); attributes cannot run script, and <style> elements stay nonce-only.
    "style-src-attr 'unsafe-inline'",
    `img-src ${src}data:`,
    `font-src ${cspSource || "'none'"}`,
  ].join('; ');
}

/** A nonce for one page load: 32 characters from a CSPRNG. */
export function makeNonce(): string {
  const bytes = new Uint8Array(24);
  globalThis.crypto.getRandomValues(bytes);
  let s = '';
  for (const b of bytes) s += 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[b & 63];
  return s;
}
