/**
 * Runs before any library module (it is main.ts's first import): lets the toolkit and Plotly
 * style themselves under a nonce-only style-src. Both insert <style> elements at run time,
 * which a strict CSP blocks unless they carry the page's nonce:
 * - FAST (webview-ui-toolkit) reads the nonce from <meta property="csp-nonce">;
 * - Plotly reuses an existing #plotly.js-style-global and fills it through CSSOM (allowed), and
 *   skips the map library's stylesheet when its element already exists (the panel has no maps).
 * The nonce is the one this script was loaded with (document.currentScript.nonce).
 */
const PLOTLY_STYLE_IDS = ['plotly.js-style-global', '9f215cf04c5486422605d13261cb87401f4e7763b6296af81e98efbc0130da53'];

const script = document.currentScript as HTMLScriptElement | null;
const nonce = script?.nonce || script?.getAttribute('nonce') || '';
if (nonce) {
  if (!document.querySelector('meta[property="csp-nonce"]')) {
    const meta = document.createElement('meta');
    meta.setAttribute('property', 'csp-nonce');
    meta.setAttribute('content', nonce);
    document.head.appendChild(meta);
  }
  for (const id of PLOTLY_STYLE_IDS) {
    if (document.getElementById(id)) continue;
    const style = document.createElement('style');
    style.id = id;
    style.setAttribute('nonce', nonce);
    document.head.appendChild(style);
  }
}

export const styleNonce = nonce;
