/**
 * The webview bundle the browser tests load. Built when missing or older than a webview/ or
 * protocol/ source, with the same esbuild options as scripts/build.mjs's webview target, so a
 * webview test does not depend on the other bundles building.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';

export const repoRoot = join(__dirname, '..', '..');
export const webviewDist = join(repoRoot, 'dist', 'webview');

/** One webview bundle (default: the Attention panel; also 'compare', 'efficiency'). */
export async function ensureWebviewBundle(name = 'panel', entry = 'webview/main.ts'): Promise<{ js: string; css: string }> {
  const js = join(webviewDist, `${name}.js`);
  const css = join(webviewDist, `${name}.css`);
  if (!existsSync(js) || !existsSync(css) || newestSource() > statSync(js).mtimeMs) {
    await esbuild.build({
      absWorkingDir: repoRoot,
      entryPoints: { [name]: entry },
      outdir: 'dist/webview',
      bundle: true,
      platform: 'browser',
      format: 'iife',
      target: 'chrome114',
      loader: { '.css': 'css' },
      sourcemap: true,
      logLevel: 'warning',
    });
  }
  return { js, css };
}

function newestSource(): number {
  let newest = 0;
  // Recursive: the panel's modules live in subfolders too (webview/views, webview/analysis).
  for (const dir of ['webview', 'protocol']) {
    for (const f of readdirSync(join(repoRoot, dir), { recursive: true })) {
      newest = Math.max(newest, statSync(join(repoRoot, dir, String(f))).mtimeMs);
    }
  }
  return newest;
}
