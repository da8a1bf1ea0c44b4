// One esbuild script, one bundle per target. onnxruntime-node stays external because it loads
// native binaries relative to its own package folder.
import * as esbuild from 'esbuild';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const common = {
  bundle: true,
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  absWorkingDir: root,
};

// Node bundles prefer ESM entry points: UMD builds (jsonc-parser's main) require their own
// files at run time, which a bundle cannot resolve.
const nodeMainFields = ['module', 'main'];

const targets = [
  {
    ...common,
    entryPoints: ['extension/extension.ts'],
    outfile: 'dist/extension.js',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode'],
  },
  {
    ...common,
    entryPoints: ['server/main.ts'],
    outfile: 'dist/server.js',
    platform: 'node',
    mainFields: nodeMainFields,
    format: 'cjs',
    target: 'node20',
    external: ['onnxruntime-node'],
  },
  {
    // Tokenizing runs in a worker thread (server/tokenize/workerClient.ts), loaded from beside
    // the server and CLI bundles.
    ...common,
    entryPoints: ['server/tokenize/tokenizeWorker.ts'],
    outfile: 'dist/tokenizeWorker.js',
    platform: 'node',
    mainFields: nodeMainFields,
    format: 'cjs',
    target: 'node20',
  },
  {
    ...common,
    entryPoints: ['server/cli.ts'],
    outfile: 'dist/cli.js',
    platform: 'node',
    mainFields: nodeMainFields,
    format: 'cjs',
    target: 'node20',
    external: ['onnxruntime-node'],
    banner: { js: '#!/usr/bin/env node' },
  },
  {
    ...common,
    entryPoints: { panel: 'webview/main.ts', efficiency: 'webview/efficiency/main.ts', compare: 'webview/mechanisms/main.ts', serving: 'webview/serving/main.ts' },
    outdir: 'dist/webview',
    platform: 'browser',
    format: 'iife',
    target: 'chrome114',
    loader: { '.css': 'css' },
  },
];

mkdirSync(join(root, 'dist/webview'), { recursive: true });
if (watch) {
  for (const t of targets) {
    const ctx = await esbuild.context(t);
    await ctx.watch();
  }
  console.log('[build] watching');
} else {
  const started = Date.now();
  await Promise.all(targets.map((t) => esbuild.build(t)));
  console.log(`[build] extension, server, tokenizer worker, cli, webview bundles in ${Date.now() - started} ms`);
}
