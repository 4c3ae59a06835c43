import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { launchBrowser, saveScreenshot } from "../testing/browser.ts";
import { startTestGateway, type TestGateway } from "../testing/test-gateway.ts";

// The API reference page in a real browser that may reach nothing but the gateway: every request
// to another host is refused, as on a machine without internet access, and the page must still
// list the API's operations.

let gw: TestGateway;
let browser: Browser;

beforeAll(async () => {
  [gw, browser] = await Promise.all([startTestGateway(), launchBrowser()]);
});

afterAll(async () => {
  await Promise.allSettled([browser?.close(), gw?.close()]);
});

it("renders the operations offline, loading everything from the gateway", async () => {
  const context = await browser.newContext();
  const elsewhere: string[] = [];
  const gateway = new URL(gw.url);
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === "data:" || url.protocol === "blob:" || url.host === gateway.host)
      return route.continue();
    elsewhere.push(url.href);
    return route.abort("internetdisconnected");
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(err.message));
  await page.goto(`${gw.url}/docs`);
  for (const summary of ["Create payment intent", "Get payment intent"])
    await page.getByText(summary, { exact: true }).first().waitFor({ timeout: 60_000 });
  await saveScreenshot(page, "api-reference-offline");
  expect(errors).toEqual([]);
  expect(elsewhere).toEqual([]);
  await context.close();
});
