// Bundles test/vscode/*.test.ts into out/test-vscode/ for @vscode/test-cli (.vscode-test.mjs),
// which loads plain JavaScript inside the extension host. `vscode` is provided by the host.
import * as esbuild from 'esbuild';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'test/vscode');
const entryPoints = readdirSync(dir).filter((f) => f.endsWith('.test.ts')).map((f) => join(dir, f));
await esbuild.build({
  entryPoints,
  outdir: join(root, 'out/test-vscode'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: true,
  external: ['vscode', 'mocha'],
  logLevel: 'warning',
});
console.log(`[build-vscode-tests] ${entryPoints.length} suite(s) -> out/test-vscode`);
