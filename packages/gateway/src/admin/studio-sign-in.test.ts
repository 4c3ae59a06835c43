import { Secret, TOTP } from "otpauth";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser } from "../testing/browser.ts";
import { openStudio } from "../testing/studio-browser.ts";
import { createStudioUser, studioSession } from "../testing/studio-client.ts";
import { startTestGateway, type TestGateway, type TestTenant } from "../testing/test-gateway.ts";

// Signing in to Studio in a real browser against the real sign-in routes: the error a wrong
// password gets, the wait after too many, and the authenticator-code step.

let gw: TestGateway;
let shop: TestTenant;
let browser: Browser;

beforeAll(async () => {
  gw = await startTestGateway();
  shop = await gw.createTenant({ name: "Acme Coffee" });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await gw?.close();
});

// Browser tabs on a busy 2-core machine: more than the default 30 s per test.
describe("sign-in", { timeout: 120_000 }, () => {
  it("shows a wrong password as an error, then signs in and opens the organisation", async () => {
    const user = await createStudioUser(gw, { orgId: shop.orgId, role: "owner" });
    const page = await openStudio(browser, gw.url, { path: `/orgs/${shop.orgId}/payments` });
    await page.getByLabel("Email").fill(user.email);
    await page.getByLabel("Password").fill("not the password at all");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "email or password is wrong" }).waitFor();
    await page.getByLabel("Password").fill(user.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    // Back where the visitor was going before the sign-in page.
    await page.waitForURL(`**/studio/orgs/${shop.orgId}/payments`);
    await page.getByRole("heading", { name: "Payments" }).waitFor();
    await page.context().close();
  });

  it("shows how long to wait after too many failures", async () => {
    const user = await createStudioUser(gw, { orgId: shop.orgId, role: "owner" });
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${gw.url}/v1/admin/session`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: user.email, password: `wrong ${i}` }),
      });
      expect(res.status).toBe(401);
    }
    const page = await openStudio(browser, gw.url, { path: "/login" });
    await page.getByLabel("Email").fill(user.email);
    // Even the right password is refused while the account is locked.
    await page.getByLabel("Password").fill(user.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page
      .getByRole("alert")
      .filter({ hasText: /Too many failed attempts\. Try again in 1[45] min\./ })
      .waitFor();
    await page.context().close();
  });

  it("turns on two-factor authentication, then asks for the code at sign-in", async () => {
    const user = await createStudioUser(gw, { orgId: shop.orgId, role: "owner" });
    const page = await openStudio(browser, gw.url, {
      client: await studioSession(gw, user),
      path: "/account",
    });
    await page.getByRole("button", { name: "Set up two-factor authentication" }).click();
    await page.getByRole("img", { name: "QR code for your authenticator app" }).waitFor();
    const secret = (await page.locator(".totp-setup code").textContent()) ?? "";
    const totp = new TOTP({ secret: Secret.fromBase32(secret) });
    await page.getByLabel("Authentication code").fill(totp.generate());
    await page.getByRole("button", { name: "Turn on" }).click();
    await page.getByText("Two-factor authentication is on.").waitFor();

    await page.getByRole("button", { name: /Account menu/ }).click();
    await page.getByRole("menuitem", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in to Studio" }).waitFor();
    await page.getByLabel("Email").fill(user.email);
    await page.getByLabel("Password").fill(user.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Two-factor authentication" }).waitFor();
    // Each code works once: the next 30-second step's code (accepted within ±1 step).
    await page
      .getByLabel("Authentication code")
      .fill(totp.generate({ timestamp: Date.now() + 30_000 }));
    await page.getByRole("button", { name: "Verify" }).click();
    await page.waitForURL(`**/studio/orgs/${shop.orgId}/overview`);
    await page.context().close();
  });
});
