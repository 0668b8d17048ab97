/**
 * Headless Chromium for dashboard tests: the Debian `chromium` package driven by playwright-core, which downloads
 * no browser of its own (shared/research/stack-notes.md). Flags keep the browser off the network apart from the
 * page under test, so a test never depends on, or waits for, anything outside the machine.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

/** `test-artifacts/` at the repository root (git-ignored), where screenshots go for people and CI to look at. */
export const ARTIFACTS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../test-artifacts');

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  try {
    return await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: [
        '--no-sandbox', // tests run as root in containers, where Chromium's sandbox cannot start
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  } catch (err) {
    throw new Error(
      `could not start Chromium at ${CHROMIUM_PATH}; install it with "apt-get install -y chromium" ` +
        `or point CHROMIUM_PATH at another build`,
      { cause: err },
    );
  }
}

/**
 * Saves a full-page PNG as `test-artifacts/<name>.png` and returns its path. `name` may contain `/` to group
 * files in sub-folders (e.g. `dashboard/phone`).
 */
export async function screenshot(page: Page, name: string): Promise<string> {
  const file = join(ARTIFACTS_DIR, `${name}.png`);
  await mkdir(dirname(file), { recursive: true });
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
