import { existsSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
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

const AXE_PATH = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

export interface AxeViolation {
  id: string;
  impact: string;
  targets: unknown[];
}

/**
 * axe-core run in the page: its serious and critical violations of WCAG 2.1 A/AA and best
 * practice. The page's CSP must allow the injected script: open it with `bypassCSP: true`.
 *
 * react-aria's live announcer is left out: it announces a dialog's title as an invisible
 * role="img" labelled by the title, and keeps it 7 s, so after the dialog closes or its step
 * changes axe finds an image with no name. Waiting the 7 s out was slow, and racy on a loaded
 * machine (the first announcement of a page is added 100 ms late).
 *
 * @example
 * expect(await seriousAxeViolations(page), "axe on the login page").toEqual([]);
 */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  await page.addScriptTag({ path: AXE_PATH });
  const violations = await page.evaluate(async () => {
    // Runs in the browser, where axe-core is now a global.
    const axe = (
      globalThis as unknown as {
        axe: { run(context: { exclude: string[][] }): Promise<{ violations: unknown[] }> };
      }
    ).axe;
    const result = await axe.run({ exclude: [["[data-live-announcer]"]] });
    return (
      result.violations as { id: string; impact: string; nodes: { target: unknown }[] }[]
    ).map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => n.target) }));
  });
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}
