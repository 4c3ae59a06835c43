import type { Browser, Page } from "playwright-core";
import type { StudioTestClient } from "./studio-client.ts";

/** The size of Studio's screenshots and tests: a laptop screen. */
export const STUDIO_VIEWPORT = { width: 1280, height: 800 };

/**
 * A tab on Studio (`<baseUrl>/studio<path>`), signed in as `client` when given (its session
 * cookie, as if the user had signed in). bypassCSP: Studio's policy forbids inline scripts,
 * which is how axe-core is injected.
 *
 * @example
 * const owner = await signInAs(gateway, { orgId, role: "owner" });
 * const page = await openStudio(browser, gateway.url, { client: owner, path: "/account" });
 */
export async function openStudio(
  browser: Browser,
  baseUrl: string,
  o: { client?: StudioTestClient; path?: string; locale?: string } = {},
): Promise<Page> {
  const context = await browser.newContext({
    viewport: STUDIO_VIEWPORT,
    locale: o.locale ?? "en-US",
    bypassCSP: true,
  });
  if (o.client) {
    const [name = "", value = ""] = o.client.cookie.split("=");
    await context.addCookies([{ name, value, url: baseUrl, httpOnly: true, sameSite: "Strict" }]);
  }
  const page = await context.newPage();
  // A step that waits longer fails with its locator named. Generous: CI runs two test files at
  // once on 2 cores, each with its browser and chain, sometimes beside a CPU hog.
  page.setDefaultTimeout(60_000);
  await page.goto(`${baseUrl}/studio${o.path ?? ""}`);
  return page;
}
