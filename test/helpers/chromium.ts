/**
 * Headless Chromium for tests, through playwright-core and the system's Chromium (apt package
 * `chromium`): playwright's own browser download is not used, so tests need no network.
 */
import { execSync } from 'node:child_process';
import { chromium, type Browser } from 'playwright-core';

export function findChromium(): string {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return fromEnv;
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    try {
      const p = execSync(`command -v ${name}`, { encoding: 'utf8', shell: '/bin/sh' }).trim();
      if (p) return p;
    } catch {
      // not on PATH; try the next name
    }
  }
  throw new Error('Chromium is not installed: run `apt-get install -y chromium` (or set CHROMIUM_PATH to a Chromium binary).');
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: findChromium(),
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
