// Makes platform-specific VSIXs: the bundles plus onnxruntime-node's binaries for one target
// each (a universal VSIX would carry ~290 MB of binaries for five platforms).
// Usage: node scripts/package.mjs [--target linux-x64,...]   (default: every target below)
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const TARGETS = {
  'linux-x64': 'linux/x64',
  'linux-arm64': 'linux/arm64',
  'darwin-arm64': 'darwin/arm64',
  'win32-x64': 'win32/x64',
  'win32-arm64': 'win32/arm64',
};
const arg = process.argv.indexOf('--target');
const wanted = arg > 0 ? process.argv[arg + 1].split(',') : Object.keys(TARGETS);
for (const t of wanted) {
  if (!TARGETS[t]) {
    console.error(`unknown target ${t}; known: ${Object.keys(TARGETS).join(', ')}`);
    process.exit(2);
  }
}

execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--production'], { stdio: 'inherit' });
const base = readFileSync(join(root, '.vscodeignore'), 'utf8');
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
mkdirSync(join(root, 'out/vsix'), { recursive: true });

for (const target of wanted) {
  // Re-exclude the binaries of every other platform after the allow-list brings the package back.
  const others = Object.entries(TARGETS)
    .filter(([t]) => t !== target)
    .map(([, dir]) => `node_modules/onnxruntime-node/bin/napi-v6/${dir}/**`);
  const ignoreFile = join(root, `out/vsix/.vscodeignore-${target}`);
  writeFileSync(ignoreFile, `${base}\n# other platforms\n${others.join('\n')}\n`);
  const out = join(root, `out/vsix/attention-inspector-${target}-${version}.vsix`);
  execFileSync(
    'npx',
    ['--no-install', 'vsce', 'package', '--target', target, '--ignoreFile', ignoreFile, '--no-dependencies',
      '--allow-missing-repository', '--skip-license', '--out', out],
    { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  console.log(`[package] ${target}: ${out} (${(statSync(out).size / 2 ** 20).toFixed(1)} MiB)`);
}
