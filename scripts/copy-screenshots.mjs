// Copies the screenshots the test suites saved in out/screenshots into docs/screenshots, where
// the README links them. Only names that docs/screenshots already has, or that are passed as
// arguments, are copied: a test's scratch picture does not become documentation by accident.
import { copyFileSync, existsSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';

const from = 'out/screenshots';
const to = 'docs/screenshots';
if (!existsSync(from)) {
  console.error(`${from} is missing: run the tests first (npm run screenshots does).`);
  process.exit(1);
}
const wanted = new Set([...readdirSync(to), ...process.argv.slice(2)]);
let copied = 0;
for (const name of readdirSync(from)) {
  if (!name.endsWith('.png') || !wanted.has(name)) continue;
  const tmp = join(to, `.${name}.tmp`);
  copyFileSync(join(from, name), tmp);
  renameSync(tmp, join(to, name));
  copied += 1;
}
console.log(`copied ${copied} screenshots from ${from} to ${to}`);
