import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, saveScreenshot, seriousAxeViolations } from "../testing/browser.ts";
import { openStudio } from "../testing/studio-browser.ts";
import { signInAs } from "../testing/studio-client.ts";
import { startTestGateway, type TestGateway, type TestTenant } from "../testing/test-gateway.ts";

// Studio's shell in a real browser against a real gateway: how it is served, the sign-in
// redirect, the navigation each role sees, the organisation switcher, the account page.

let gateway: TestGateway;
let shop: TestTenant;
let browser: Browser;

beforeAll(async () => {
  gateway = await startTestGateway();
  shop = await gateway.createTenant({ name: "Acme Coffee" });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await gateway?.close();
});

describe("serving", () => {
  it("answers index.html for every /studio path with a CSP, and hashed assets for good", async () => {
    const res = await fetch(`${gateway.url}/studio/orgs/1/payments?status=success`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    const html = await res.text();
    const asset = /src="(\/studio\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const js = await fetch(`${gateway.url}${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get("cache-control")).toContain("immutable");
    expect(js.headers.get("content-type")).toContain("javascript");
    const missing = await fetch(`${gateway.url}/studio/assets/nothing-here.js`);
    expect(missing.status).toBe(404);
  });
});

// Browser tabs on a busy 2-core machine: more than the default 30 s per test.
describe("shell", { timeout: 120_000 }, () => {
  it("sends a visitor without a session to the sign-in page, labelled and accessible", async () => {
    const page = await openStudio(browser, gateway.url, { path: "/orgs/1/payments" });
    await page.getByRole("heading", { name: "Sign in to Studio" }).waitFor();
    expect(new URL(page.url()).pathname).toBe("/studio/login");
    expect(new URL(page.url()).searchParams.get("next")).toBe("/orgs/1/payments");
    await page.getByLabel("Email").waitFor();
    await page.getByLabel("Password").waitFor();
    expect(await seriousAxeViolations(page), "axe on the sign-in page").toEqual([]);
    await saveScreenshot(page, "studio-login");
    await page.context().close();
  });

  it("opens an owner's organisation with the whole navigation", async () => {
    const owner = await signInAs(gateway, { orgId: shop.orgId, role: "owner" });
    const page = await openStudio(browser, gateway.url, { client: owner });
    await page.waitForURL(`**/studio/orgs/${shop.orgId}/overview`);
    const nav = page.getByRole("navigation", { name: "Main navigation" });
    for (const entry of ["Overview", "Payments", "Team", "Settings", "Audit log"]) {
      await nav.getByRole("link", { name: entry }).waitFor();
    }
    expect(await nav.getByRole("link", { name: "Organisations" }).count()).toBe(0);
    await page.getByRole("button", { name: /Acme Coffee/ }).waitFor();
    await nav.getByRole("link", { name: "Payments" }).click();
    await page.waitForURL(`**/studio/orgs/${shop.orgId}/payments`);
    expect(await seriousAxeViolations(page), "axe on the shell").toEqual([]);
    await page.context().close();
  });

  it("hides from a viewer what the role lacks", async () => {
    const viewer = await signInAs(gateway, { orgId: shop.orgId, role: "viewer" });
    const page = await openStudio(browser, gateway.url, { client: viewer });
    const nav = page.getByRole("navigation", { name: "Main navigation" });
    await nav.getByRole("link", { name: "Payments" }).waitFor();
    expect(await nav.getByRole("link", { name: "Audit log" }).count()).toBe(0);
    await page.context().close();
  });

  it("gives a non-member of an organisation the not-found page", async () => {
    const other = await gateway.createTenant({ name: "Other Org" });
    const stranger = await signInAs(gateway, { orgId: shop.orgId, role: "owner" });
    const page = await openStudio(browser, gateway.url, {
      client: stranger,
      path: `/orgs/${other.orgId}/overview`,
    });
    await page.getByRole("heading", { name: "Page not found" }).waitFor();
    // Inside the frame: the navigation of the user's own organisation is there to go back.
    await page.getByRole("navigation", { name: "Main navigation" }).waitFor();
    await page.context().close();
  });

  it("gives an operator the operator section", async () => {
    const operator = await signInAs(gateway, { operator: true });
    const op = await openStudio(browser, gateway.url, { client: operator });
    await op.waitForURL("**/studio/operator/organizations");
    await op.getByRole("link", { name: "Health" }).waitFor();
    await op.context().close();
  });

  it("switches organisation and language, and remembers the language", async () => {
    const second = await gateway.createTenant({ name: "Blue Tea" });
    const owner = await signInAs(gateway, { orgId: shop.orgId, role: "owner" });
    await gateway.database.db
      .insertInto("memberships")
      .values({ org_id: second.orgId, user_id: owner.user.userId, role: "developer" })
      .execute();
    const page = await openStudio(browser, gateway.url, {
      client: owner,
      path: `/orgs/${shop.orgId}/payments`,
    });
    await page.getByRole("button", { name: /Acme Coffee/ }).click();
    await page.getByRole("option", { name: /Blue Tea/ }).click();
    await page.waitForURL(`**/studio/orgs/${second.orgId}/payments`);
    // A developer may not read the audit log.
    const nav = page.getByRole("navigation", { name: "Main navigation" });
    await nav.getByRole("link", { name: "Payments" }).waitFor();
    expect(await nav.getByRole("link", { name: "Audit log" }).count()).toBe(0);

    await page.getByRole("button", { name: /English/ }).click();
    await page.getByRole("option", { name: "繁體中文" }).click();
    await page
      .getByRole("navigation", { name: "主要導覽" })
      .getByRole("link", { name: "付款", exact: true })
      .waitFor();
    await page.reload();
    await page.getByRole("navigation", { name: "主要導覽" }).waitFor();
    expect(await page.evaluate(() => document.documentElement.lang)).toBe("zh-TW");
    await page.context().close();
  });

  it("shows the account page", async () => {
    const owner = await signInAs(gateway, { orgId: shop.orgId, role: "owner" });
    const page = await openStudio(browser, gateway.url, { client: owner });
    await page.getByRole("button", { name: /Account menu/ }).click();
    await page.getByRole("menuitem", { name: /Your account/ }).click();
    await page.waitForURL("**/studio/account");
    await page.getByRole("heading", { name: "Change password" }).waitFor();
    await page.getByRole("button", { name: "Set up two-factor authentication" }).waitFor();
    expect(await seriousAxeViolations(page), "axe on the account page").toEqual([]);
    await saveScreenshot(page, "studio-account");
    await page.context().close();
  });
});

describe("cross-site requests", { timeout: 120_000 }, () => {
  it("refuses a form another site posts from the signed-in owner's browser", async () => {
    const owner = await signInAs(gateway, { orgId: shop.orgId, role: "owner" });
    const target = `${gateway.url}/v1/admin/orgs/${shop.orgId}/invitations`;
    // The classic CSRF page: a form that posts JSON-looking text/plain to the admin API as soon
    // as it loads, from another site (localhost is not the same site as 127.0.0.1).
    const attacker = createServer((_req, res) => {
      res.setHeader("content-type", "text/html");
      res.end(
        `<form method="post" action="${target}" enctype="text/plain">` +
          `<input name='{"email":"mallory@example.com","role":"owner","x":"' value='"}'>` +
          "</form><script>document.forms[0].submit()</script>",
      );
    });
    await new Promise<void>((resolve) => attacker.listen(0, "127.0.0.1", resolve));
    try {
      const port = (attacker.address() as AddressInfo).port;
      const page = await openStudio(browser, gateway.url, { client: owner });
      await page.getByRole("heading", { name: /Overview/ }).waitFor();
      await page.goto(`http://localhost:${port}/`);
      await page.waitForURL(target);
      const answer = JSON.parse(await page.locator("body").innerText());
      // Refused: the SameSite=Strict cookie stays home (4031), and were it sent, the missing
      // CSRF token would be (4033).
      expect([4031, 4033]).toContain(answer.code);
      await page.context().close();
    } finally {
      await new Promise((resolve) => attacker.close(resolve));
    }
    const invitations = await owner.request("GET", `/v1/admin/orgs/${shop.orgId}/invitations`);
    expect(invitations.status).toBe(200);
    expect(JSON.stringify(invitations.body.data)).not.toContain("mallory@example.com");
  });
});
