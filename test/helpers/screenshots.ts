/**
 * Where tests save the screenshots they take: out/screenshots, never the tracked docs/screenshots
 * (tests leave the tree as they found it). `npm run screenshots` runs the suites and copies the
 * pictures into docs/screenshots for the README.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const screenshotDir = join(__dirname, '..', '..', 'out', 'screenshots');

/** The path a test writes screenshot `name` to; the folder exists after the call. */
export function screenshotPath(name: string): string {
  mkdirSync(screenshotDir, { recursive: true });
  return join(screenshotDir, name);
}
