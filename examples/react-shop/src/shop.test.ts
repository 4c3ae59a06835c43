import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "@stablegate/gateway/src/platform/config.ts";
import { createLogger } from "@stablegate/gateway/src/platform/logger.ts";
import { type Sandbox, startSandbox } from "@stablegate/gateway/src/sandbox/sandbox.ts";
import { paySandboxIntent } from "@stablegate/gateway/src/sandbox/sandbox-pay.ts";
import { launchBrowser, saveScreenshot } from "@stablegate/gateway/src/testing/browser.ts";
import { freePort } from "@stablegate/gateway/src/testing/cli-process.ts";
import {
  createScratchDatabase,
  type ScratchDatabase,
} from "@stablegate/gateway/src/testing/scratch-postgres.ts";
import type { Browser, Frame, Page } from "playwright-core";
import { build, type PreviewServer, preview } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The example shop as a customer meets it: the sandbox (anvil, test USDT, gateway) in this
// process, the shop built with its own vite config and served by `vite preview`, and a real
// chromium that clicks the guide's buttons, sees the hosted checkout inside the modal and
// watches the payment succeed without a reload.

const SHOP_DIR = fileURLToPath(new URL("..", import.meta.url));
const WEB_BUILD = fileURLToPath(
  new URL("../../../packages/web/scripts/build.mjs", import.meta.url),
);
const INTENT = "/v1/studio/api/payment/intent";
const AXE_PATH = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
// 100 TWD at the sandbox rate (32.5 TWD per USD, 1 USDT per USD).
const DUE = "3.08";

// @stablegate/react supports React 18 and 19: the shop is built and served with each
// (REACT_VERSION, vite.config.ts), and every test below runs against both builds.
const REACT_VERSIONS = ["19", "18"] as const;
type ReactVersion = (typeof REACT_VERSIONS)[number];

let dataDir: string;
let database: ScratchDatabase;
let sandbox: Sandbox;
const servers: PreviewServer[] = [];
const shopUrls = {} as Record<ReactVersion, string>;
let browser: Browser;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "sg-shop-"));
  database = await createScratchDatabase();
  const [port, anvilPort] = [await freePort(), await freePort()];
  const config = loadConfig(
    {},
    {
      DATA_DIR: dataDir,
      PORT: port,
      HOST: "127.0.0.1",
      ANVIL_PORT: anvilPort,
      DATABASE_URL: database.url,
      LOG_LEVEL: "silent",
    },
  );
  const { ensureCheckoutBuilt } = (await import(WEB_BUILD)) as {
    ensureCheckoutBuilt(o: { quiet: boolean }): Promise<boolean>;
  };
  [sandbox] = await Promise.all([
    startSandbox(config, createLogger({ level: "silent", pretty: false })),
    ensureCheckoutBuilt({ quiet: true }),
  ]);
  // The environment wins over data/sandbox.json and any .env file a developer keeps here.
  process.env.VITE_STABLEGATE_CLIENT_ID = sandbox.file.client_id;
  process.env.VITE_STABLEGATE_BASE_URL = sandbox.file.api_base_url;
  const inline = {
    root: SHOP_DIR,
    configFile: join(SHOP_DIR, "vite.config.ts"),
    logLevel: "warn" as const,
  };
  for (const react of REACT_VERSIONS) {
    const outDir = join(dataDir, `shop-dist-react-${react}`);
    // Read by vite.config.ts when the config loads, i.e. in build().
    process.env.REACT_VERSION = react;
    await build({ ...inline, build: { outDir, emptyOutDir: true } });
    // Port 0: the system's free port, taken at once (a port picked before the builds could be
    // taken by another process meanwhile, as the PostgreSQL suite beside this one did once).
    const server = await preview({
      ...inline,
      build: { outDir },
      preview: { host: "127.0.0.1", port: 0, strictPort: true },
    });
    servers.push(server);
    const address = server.httpServer.address();
    if (address === null || typeof address === "string") throw new Error("the shop is not on TCP");
    shopUrls[react] = `http://127.0.0.1:${address.port}`;
  }
  delete process.env.REACT_VERSION;

  // What a developer does once: allow the shop's origin for the sandbox client.
  await sandbox.gateway.services.tenancy.setAllowedOrigins(sandbox.file.client_id, [
    sandbox.file.origin,
    ...Object.values(shopUrls),
  ]);
  browser = await launchBrowser();
}, 360_000);

afterAll(async () => {
  delete process.env.VITE_STABLEGATE_CLIENT_ID;
  delete process.env.VITE_STABLEGATE_BASE_URL;
  delete process.env.REACT_VERSION;
  await browser?.close();
  for (const server of servers) await server.close();
  await sandbox?.stop();
  await database?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

function checkoutFrame(page: Page): Promise<Frame> {
  return expect
    .poll(() => page.frames().find((f) => f.url().includes("/pay/")), { timeout: 60_000 })
    .toBeDefined()
    .then(() => page.frames().find((f) => f.url().includes("/pay/")) as Frame);
}

async function intentIdOf(page: Page): Promise<string> {
  const src = await page.getByRole("dialog").locator("iframe").getAttribute("src");
  const id = src?.match(/\/pay\/([^?]+)\?/)?.[1];
  if (!id) throw new Error(`no payment intent id in the frame's src ${src}`);
  return decodeURIComponent(id);
}

/** axe-core on the shop's page (the modal included): no serious or critical violation. */
async function seriousA11yViolations(page: Page) {
  await page.addScriptTag({ path: AXE_PATH });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(): Promise<{ violations: unknown[] }> } }).axe;
    const result = await axe.run();
    return (
      result.violations as { id: string; impact: string; nodes: { target: unknown }[] }[]
    ).map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => n.target) }));
  });
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}

async function apiIntent(id: string) {
  const res = await fetch(`${sandbox.file.api_base_url}${INTENT}/${id}`, {
    headers: { "X-STUDIO-API-KEY": sandbox.file.api_key },
  });
  return ((await res.json()) as { data: Record<string, unknown> }).data;
}

describe.each(REACT_VERSIONS)("examples/react-shop on React %s", (react) => {
  // React 19's screenshots keep their names; React 18's get a suffix.
  const shot = (name: string) => (react === "19" ? name : `${name}-react18`);
  let shopUrl: string;
  beforeAll(() => {
    shopUrl = shopUrls[react];
  });

  it(`runs on React ${react}`, async () => {
    const page = await browser.newPage();
    await page.goto(shopUrl);
    await page.getByRole("button", { name: "Pay Now" }).waitFor();
    const version = await page.evaluate(() => document.documentElement.dataset.reactVersion);
    expect(version?.split(".")[0]).toBe(react);
    await page.close();
  });

  it("Pay Now: the modal shows the checkout, the sandbox payer pays, the modal reaches success", async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    // The SDK's polling is cut off: the success below can only come from the frame's messages.
    const polls: string[] = [];
    await page.route(`**${INTENT}/*`, (route) => {
      polls.push(route.request().url());
      return route.abort();
    });
    const intentPosts: string[] = [];
    page.on("request", (r) => {
      if (r.method() === "POST" && r.url().endsWith(INTENT)) intentPosts.push(r.url());
    });
    await page.goto(shopUrl);
    const payNow = page.getByRole("button", { name: "Pay Now" });
    await payNow.click();

    const dialog = page.getByRole("dialog");
    await dialog.waitFor();
    expect(await dialog.getAttribute("aria-modal")).toBe("true");
    expect(intentPosts).toHaveLength(1);
    // Focus moves into the dialog, and Tab never leaves it.
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.getAttribute("aria-label")))
      .toBe("Close");

    const frame = await checkoutFrame(page);
    const heading = frame.getByRole("heading", { level: 1 });
    await heading.waitFor();
    expect(await heading.textContent()).toContain(`${DUE} USDT`);
    const qr = frame.locator("img.qr-image");
    await qr.waitFor();
    expect(await qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(
      true,
    );
    expect(await qr.getAttribute("alt")).toContain(DUE);
    await saveScreenshot(page, shot("react-shop-modal-pending"));
    expect(await seriousA11yViolations(page)).toEqual([]);

    for (let i = 0; i < 4; i++) {
      await page.keyboard.press("Shift+Tab");
      const inside = await page.evaluate(
        () => document.querySelector('[role="dialog"]')?.contains(document.activeElement) ?? false,
      );
      expect(inside).toBe(true);
    }

    // Marks this document: after the payment it must still be the same one (no reload).
    await page.evaluate(() => {
      (window as unknown as { shopMarker: number }).shopMarker = 42;
    });
    const id = await intentIdOf(page);
    const paid = await paySandboxIntent({ dataDir, paymentIntentId: id });

    const status = dialog.getByRole("status");
    await expect.poll(() => status.textContent(), { timeout: 60_000 }).toBe("Payment received");
    await frame.getByRole("heading", { name: "Payment received" }).waitFor({ timeout: 60_000 });
    expect(await page.getByTestId("intent-status").textContent()).toBe("success");
    expect(await page.getByTestId("basic-status").textContent()).toBe(
      `Paid ${DUE} USDT. Thank you!`,
    );
    await expect.poll(() => page.locator(".hash").textContent()).toBe(paid.txHash);
    expect(
      await page.evaluate(() => (window as unknown as { shopMarker?: number }).shopMarker),
    ).toBe(42);
    await saveScreenshot(page, shot("react-shop-modal-success"));

    // Escape closes the modal and gives focus back to the button that opened it.
    await page.locator('[role="dialog"] button[aria-label="Close"]').focus();
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    expect(await payNow.evaluate((b) => b === document.activeElement)).toBe(true);
    expect(intentPosts).toHaveLength(1);
    expect(polls.length).toBeGreaterThan(0);
    await page.close();
  });

  it("with the checkout frame blocked, polling alone brings the modal to success", async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.route("**/pay/**", (route) => route.abort());
    await page.goto(shopUrl);
    await page.getByRole("button", { name: "Pay Now" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.waitFor();
    const id = await intentIdOf(page);
    await paySandboxIntent({ dataDir, paymentIntentId: id });
    await expect
      .poll(() => dialog.getByRole("status").textContent(), { timeout: 60_000 })
      .toBe("Payment received");
    // Polling brings the whole intent, not only its status.
    expect(await page.getByTestId("basic-status").textContent()).toBe(
      `Paid ${DUE} USDT. Thank you!`,
    );
    await page.close();
  });

  it("a payer who picks USDC in the modal's checkout pays in USDC, and the shop's hook says so", async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(shopUrl);
    await page.getByRole("button", { name: "Pay Now" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.waitFor();
    const frame = await checkoutFrame(page);
    // The sandbox's organisation accepts its test USDT and USDC: the payer chooses in the frame.
    await frame.getByRole("radio", { name: /USDC on/ }).check();
    await expect.poll(() => frame.locator("h1").textContent()).toBe(`Pay ${DUE} USDC`);
    await saveScreenshot(page, shot("react-shop-modal-usdc-picked"));
    // The merchant's mark lines up with the payment under it, clear of the modal's edge.
    const mark = await frame.locator("header.merchant > *").first().boundingBox();
    const title = await frame.locator("h1").boundingBox();
    expect(mark?.x).toBeCloseTo(title?.x ?? Number.NaN, 0);
    const id = await intentIdOf(page);
    const paid = await paySandboxIntent({ dataDir, paymentIntentId: id });
    expect(paid.symbol).toBe("USDC");
    await expect
      .poll(() => dialog.getByRole("status").textContent(), { timeout: 60_000 })
      .toBe("Payment received");
    // The frame's message carries the status; the hook then reads the intent, in its new token.
    await expect
      .poll(() => page.getByTestId("basic-status").textContent())
      .toBe(`Paid ${DUE} USDC. Thank you!`);
    expect(await apiIntent(id)).toMatchObject({ status: "success", symbol: "USDC" });
    await page.close();
  });

  it("refuses a tip below 0.01 before any request", async () => {
    const page = await browser.newPage();
    const intentPosts: string[] = [];
    page.on("request", (r) => {
      if (r.method() === "POST" && r.url().endsWith(INTENT)) intentPosts.push(r.url());
    });
    await page.goto(shopUrl);
    await page.getByLabel("Amount").fill("0.00");
    await page.getByRole("button", { name: "Tip" }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/at least 0\.01/);
    expect(await page.getByRole("dialog").count()).toBe(0);
    expect(intentPosts).toEqual([]);
    await page.close();
  });

  it("Process Payment on a phone: the modal fills the screen; order data reaches the gateway", async () => {
    const page = await browser.newPage({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
      deviceScaleFactor: 2,
    });
    await page.goto(shopUrl);
    await page.getByRole("button", { name: "Process Payment" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.waitFor();
    const box = await dialog.boundingBox();
    expect(box).toMatchObject({ x: 0, y: 0, width: 390, height: 844 });
    const frame = await checkoutFrame(page);
    await frame.locator("img.qr-image").waitFor();
    await saveScreenshot(page, shot("react-shop-modal-phone"));

    const intent = await apiIntent(await intentIdOf(page));
    expect(intent).toMatchObject({
      status: "pending",
      fiat_amount: "100",
      fiat_currency: "TWD",
      callback_url: "https://your-server.com/payment/callback",
      order_data: {
        orderId: "12345",
        productName: "Product Name",
        customerInfo: { id: "user123", email: "user@example.com" },
      },
      group_key: "product_purchase",
      client_id: sandbox.file.client_id,
    });
    // The page's own styles are untouched by the modal's (inline) ones once it closes.
    await page.getByRole("button", { name: "Close" }).tap();
    await dialog.waitFor({ state: "detached" });
    expect(await page.evaluate(() => document.styleSheets.length)).toBe(1);
    expect(await page.evaluate(() => document.body.style.overflow)).toBe("");
    await page.close();
  });
});
