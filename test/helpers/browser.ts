// Debian's Chromium driven by playwright-core: never a browser download.
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Where `.ci/run` (apt-get install chromium) puts the browser. */
export const CHROMIUM = '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** A desktop Chrome on Linux, so the pages show a familiar browser rather than "HeadlessChrome". */
export const DESKTOP_CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';

/** Launches the system Chromium; fails with the install command when it is missing. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install it with "apt-get install -y chromium" (.ci/run does)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
}
