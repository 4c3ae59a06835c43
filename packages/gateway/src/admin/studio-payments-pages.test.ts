import { readFile } from "node:fs/promises";
import { parse } from "csv-parse/sync";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { launchBrowser, saveScreenshot, seriousAxeViolations } from "../testing/browser.ts";
import { type CallbackReceiver, startCallbackReceiver } from "../testing/callback-receiver.ts";
import { chainOn, type Intent, pay, WAIT } from "../testing/lifecycle-shop.ts";
import { type ManualChain, startManualChain } from "../testing/manual-chain.ts";
import { openStudio } from "../testing/studio-browser.ts";
import { type StudioTestClient, signInAs } from "../testing/studio-client.ts";
import { startTestGateway, type TestGateway, type TestTenant } from "../testing/test-gateway.ts";

// Studio's overview, payments, payment detail and callbacks pages in a real browser, against a
// real gateway whose intents are paid on a real chain and whose callbacks reach a real server.

let chain: ManualChain;
let gw: TestGateway;
let shop: TestTenant;
let receiver: CallbackReceiver;
let owner: StudioTestClient;
let browser: Browser;
let paid: Intent;
let open: Intent;
let payTx: string;

async function create(body: Record<string, unknown>, tenant = shop): Promise<Intent> {
  const res = await fetch(`${gw.url}/v1/studio/api/payment/intent`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-studio-api-key": tenant.apiKey },
    body: JSON.stringify({ fiat_currency: "USD", ...body }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: Intent }).data;
}

beforeAll(async () => {
  chain = await startManualChain();
  receiver = await startCallbackReceiver();
  gw = await startTestGateway({
    env: { CALLBACK_ALLOWED_NETWORKS: "127.0.0.0/8" },
    extraChains: [chainOn(chain, "local", {})],
    settleIntervalMs: 100,
  });
  shop = await gw.createTenant({ chain: "local", name: "Acme Coffee" });
  owner = await signInAs(gw, { orgId: shop.orgId, role: "owner" });
  paid = await create({
    fiat_amount: "42.5",
    order_data: { order_id: "ORDER-1001" },
    callback_url: receiver.url,
  });
  open = await create({ fiat_amount: "1250", order_data: { order_id: "ORDER-1002" } });
  payTx = (await pay(chain, paid.payment_address, paid.crypto_amount)).hash;
  await vi.waitFor(async () => {
    const res = await owner.request(
      "GET",
      `/v1/admin/orgs/${shop.orgId}/payments/${paid.payment_intent_id}`,
    );
    expect(res.body.data.intent.status).toBe("success");
    expect(res.body.data.callbacks[0]?.attempts.length).toBeGreaterThan(0);
  }, WAIT);
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await gw?.close();
  await Promise.allSettled([chain?.stop(), receiver?.close()]);
});

// A browser test opens tabs and waits on a chain and a callback receiver: on a busy 2-core
// machine that takes more than the default 30 s, so each describe allows two minutes.
async function expectAccessible(page: Page, screen: string): Promise<void> {
  expect(await seriousAxeViolations(page), `axe on ${screen}`).toEqual([]);
}

describe("overview", { timeout: 120_000 }, () => {
  it("shows the figures, the volume chart and the status breakdown", async () => {
    const page = await openStudio(browser, gw.url, { client: owner });
    await page.waitForURL(`**/studio/orgs/${shop.orgId}/overview`);
    await page.getByRole("heading", { name: "Success rate" }).waitFor();
    // One of the two decided... only one is decided (the other is pending): 100%.
    await page.getByText("100.0%").waitFor();
    await page
      .getByRole("img", { name: /amount received per day/ })
      .locator("canvas")
      .first()
      .waitFor();
    const breakdown = page.locator(".status-bars li", { hasText: "Pending" });
    await expect.poll(() => breakdown.locator(".num").textContent()).toBe("1");
    await expectAccessible(page, "the overview");
    await saveScreenshot(page, "studio-overview");
    await page.context().close();
  });
});

describe("payments", { timeout: 120_000 }, () => {
  it("finds a paid intent by its order id and opens its timeline", async () => {
    const page = await openStudio(browser, gw.url, {
      client: owner,
      path: `/orgs/${shop.orgId}/payments`,
    });
    const rows = page.locator("table tbody tr");
    await expect.poll(() => rows.count()).toBe(2);
    await expectAccessible(page, "the payments list");
    await saveScreenshot(page, "studio-payments");
    await page.getByLabel("Order ID").fill("ORDER-1001");
    await page.getByRole("button", { name: "Apply filters" }).click();
    await page.waitForURL(/order_id=ORDER-1001/);
    await expect.poll(() => rows.count()).toBe(1);
    await rows.first().getByRole("link", { name: paid.payment_intent_id }).click();
    await page.getByRole("heading", { name: `Payment ${paid.payment_intent_id}` }).waitFor();
    const timeline = page.locator(".timeline");
    await timeline.getByText("Paid").waitFor();
    await page.getByRole("heading", { name: "Transfers" }).waitFor();
    // The transfer that paid it, by its transaction hash (the local chain has no explorer).
    await page.locator(`table [title="${payTx}"]`).waitFor();
    // The filter survives going back: it lives in the URL.
    await page.goBack();
    await expect.poll(() => rows.count()).toBe(1);
    expect(await page.getByLabel("Order ID").inputValue()).toBe("ORDER-1001");
    await page.context().close();
  });

  it("resends a callback and shows the new attempt", async () => {
    const page = await openStudio(browser, gw.url, {
      client: owner,
      path: `/orgs/${shop.orgId}/payments/${paid.payment_intent_id}`,
    });
    const attempts = page.locator(".callback-event tbody tr");
    await expect.poll(() => attempts.count()).toBeGreaterThan(0);
    const before = await attempts.count();
    const delivered = receiver.received.length;
    await expectAccessible(page, "the payment detail");
    await saveScreenshot(page, "studio-payment-detail");
    await page.getByRole("button", { name: "Resend callback" }).click();
    await page.getByText("Callback queued again").waitFor();
    await expect.poll(() => attempts.count(), WAIT).toBe(before + 1);
    expect(receiver.received.length).toBeGreaterThan(delivered);
    await page.context().close();
  });

  it("downloads the payments CSV with the rows the API returns", async () => {
    const page = await openStudio(browser, gw.url, {
      client: owner,
      path: `/orgs/${shop.orgId}/payments`,
    });
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("link", { name: "Download payments" }).click(),
    ]);
    expect(download.suggestedFilename()).toBe("payments.csv");
    const rows = parse(await readFile(await download.path(), "utf8"), { columns: true }) as Record<
      string,
      string
    >[];
    const api = await owner.request("GET", `/v1/admin/orgs/${shop.orgId}/payments?page_size=100`);
    const items = api.body.data.items as {
      payment_intent_id: string;
      status: string;
      fiat_amount: string;
    }[];
    const pick = (r: Record<string, unknown>) => ({
      payment_intent_id: String(r.payment_intent_id),
      status: r.status,
      fiat_amount: r.fiat_amount,
    });
    expect(
      rows.map(pick).sort((a, b) => a.payment_intent_id.localeCompare(b.payment_intent_id)),
    ).toEqual(
      items.map(pick).sort((a, b) => a.payment_intent_id.localeCompare(b.payment_intent_id)),
    );
    expect(rows.map((r) => r.payment_intent_id)).toContain(open.payment_intent_id);
    await page.context().close();
  });

  it("shows a viewer no write buttons", async () => {
    const viewer = await signInAs(gw, { orgId: shop.orgId, role: "viewer" });
    const page = await openStudio(browser, gw.url, {
      client: viewer,
      path: `/orgs/${shop.orgId}/payments/${paid.payment_intent_id}`,
    });
    await page.getByRole("heading", { name: "Callbacks" }).waitFor();
    expect(await page.getByRole("button", { name: "Resend callback" }).count()).toBe(0);
    await page.goto(`${gw.url}/studio/orgs/${shop.orgId}/callbacks`);
    await page.getByRole("heading", { name: "Deliveries" }).waitFor();
    expect(await page.getByRole("heading", { name: "Send a test event" }).count()).toBe(0);
    await page.context().close();
  });

  it("shows another organisation's intent as not found, which the API answers 404", async () => {
    const other = await gw.createTenant({ chain: "local", name: "Other Shop" });
    const theirs = await create({ fiat_amount: "5" }, other);
    const page = await openStudio(browser, gw.url, {
      client: owner,
      path: `/orgs/${shop.orgId}/payments`,
    });
    // The member's own organisation in the URL, the other one's intent id: the page's own request.
    const url = `/v1/admin/orgs/${shop.orgId}/payments/${theirs.payment_intent_id}`;
    const answered = page.waitForResponse((r) => new URL(r.url()).pathname === url);
    await page.goto(`${gw.url}/studio/orgs/${shop.orgId}/payments/${theirs.payment_intent_id}`);
    const answer = await answered;
    expect(answer.status()).toBe(404);
    expect(await answer.json()).toMatchObject({ code: 4006 });
    await page.getByRole("heading", { name: "Page not found" }).waitFor();
    await page.getByText(`payment intent ${theirs.payment_intent_id} not found`).waitFor();
    // Nothing of the intent shows, and there is nothing to try again.
    expect(await page.getByText(theirs.payment_address).count()).toBe(0);
    expect(await page.getByRole("button", { name: "Try again" }).count()).toBe(0);
    await expectAccessible(page, "another organisation's payment");
    await page.context().close();
  });
});

describe("callbacks", { timeout: 120_000 }, () => {
  it("lists deliveries and sends a signed test event", async () => {
    const page = await openStudio(browser, gw.url, {
      client: owner,
      path: `/orgs/${shop.orgId}/callbacks`,
    });
    await page.getByText("Every endpoint answers").waitFor();
    // The delivery of the paid intent's callback, linked to the payment (its id shortened).
    await page.locator(`table a[title="${paid.payment_intent_id}"]`).first().waitFor();
    const before = receiver.received.length;
    await page.getByLabel("Callback URL").fill(receiver.url);
    await page.getByRole("button", { name: "Send test event" }).click();
    await page.getByText(/Your server answered HTTP 200/).waitFor();
    expect(receiver.received.length).toBe(before + 1);
    await expectAccessible(page, "the callbacks page");
    await saveScreenshot(page, "studio-callbacks");
    await page.context().close();
  });
});

// Last in the file: the refund stays on the intent (its funds are then reserved).
describe("merchant refund", { timeout: 120_000 }, () => {
  it("an owner refunds part of a payment from its detail page; the refund is listed", async () => {
    const page = await openStudio(browser, gw.url, {
      client: owner,
      path: `/orgs/${shop.orgId}/payments/${paid.payment_intent_id}`,
    });
    const card = page.locator("section.card", {
      has: page.getByRole("heading", { name: "Merchant refunds" }),
    });
    await card.getByText(`Refundable now: ${paid.crypto_amount} USDT`).waitFor();
    await card.getByRole("button", { name: "Refund" }).click();
    const dialog = page.getByRole("dialog", { name: "Refund this payment" });
    await dialog.getByLabel("Amount").fill("10");
    await saveScreenshot(page, "studio-payment-refund-dialog");
    await dialog.getByRole("button", { name: "Refund" }).click();
    await dialog.getByText(/Refund of 10 USDT to 0x[0-9a-fA-F]{40} accepted/).waitFor();
    await dialog.getByRole("button", { name: "Done" }).click();
    await card.getByText(`Refundable now: ${Number(paid.crypto_amount) - 10} USDT`).waitFor();
    await expect.poll(() => card.getByRole("row").count(), WAIT).toBe(2);
    await saveScreenshot(page, "studio-payment-refunds");
    await expectAccessible(page, "the payment detail with a refund");
    const listed = await fetch(
      `${gw.url}/v1/studio/api/payment/intent/${paid.payment_intent_id}/refunds`,
      { headers: { "x-studio-api-key": shop.apiKey } },
    );
    const body = (await listed.json()) as { data: { items: { amount: string }[] } };
    expect(body.data.items.map((r) => r.amount)).toEqual(["10"]);
  });
});
