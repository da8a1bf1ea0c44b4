/**
 * Writes the sample model, its tokenizer and the sample texts under samples/. Deterministic:
 * the same bytes on every run, nothing downloaded. Run with `npm run samples`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { sampleFiles } from './sampleFiles';

const root = resolve(__dirname, '..');
for (const [rel, bytes] of sampleFiles()) {
  const file = join(root, rel);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, bytes);
  console.log(`${rel}  ${bytes.length} bytes`);
}
