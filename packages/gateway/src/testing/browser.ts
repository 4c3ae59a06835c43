import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { REPO_ROOT } from "./cli-process.ts";

/** Debian's chromium: `.ci/run` installs it with apt-get when it is missing. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Where `saveScreenshot` writes; git-ignored, kept by CI as test artifacts. */
export const ARTIFACTS_DIR = join(REPO_ROOT, "test-artifacts");

// Everything that would reach beyond loopback (updates, sync, field trials) is off, so a test
// behaves the same with and without internet access and never waits on a remote host.
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Starts a headless chromium. Playwright gives every launch a fresh temporary user-data-dir
 * and removes it on close, so no profile state leaks between tests.
 *
 * @example
 * const browser = await launchBrowser();
 * const page = await browser.newPage();
 * await page.goto(url);
 * await saveScreenshot(page, "checkout-pending");
 * await browser.close();
 */
export function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `the browser tests need chromium at ${CHROMIUM_PATH}: on Debian or Ubuntu, apt-get install chromium fonts-wqy-microhei (or set CHROMIUM_PATH)`,
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

/** Writes a full-page PNG to `<repo>/test-artifacts/<name>.png` and returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
