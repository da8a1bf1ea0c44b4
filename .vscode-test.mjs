// Desktop VS Code end-to-end suite (@vscode/test-cli): `npm run test:vscode` downloads VS Code,
// so it needs internet; it is not run in CI here, where test/e2e drives code-server instead.
import { defineConfig } from '@vscode/test-cli';

export default defineConfig({
  label: 'desktop',
  // Compiled from test/vscode/*.test.ts by scripts/build-vscode-tests.mjs.
  files: 'out/test-vscode/**/*.test.js',
  workspaceFolder: './samples',
  // Models load only in trusted workspaces; the suite opens the repository's own samples.
  launchArgs: ['--disable-workspace-trust', '--disable-extensions'],
  mocha: { ui: 'bdd', timeout: 120000 },
});
