// Callbacks passed to page.evaluate run in the browser.
/// <reference lib="dom" />
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser, Page } from "playwright-core";
import {
  type Address,
  createPublicClient,
  createTestClient,
  createWalletClient,
  erc20Abi,
  formatUnits,
  getAddress,
  type Hex,
  keccak256,
  parseEther,
  parseEventLogs,
  parseUnits,
  type TransactionRequest,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { anvil } from "viem/chains";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RegisteredChain } from "../../chain/chain-registry.ts";
import { type LocalChain, startLocalChain } from "../../sandbox/local-chain.ts";
import { launchBrowser, saveScreenshot, seriousAxeViolations } from "../../testing/browser.ts";
import { freePort } from "../../testing/cli-process.ts";
import { endPaymentWindow } from "../../testing/end-payment-window.ts";
import { logoDataUrl } from "../../testing/logo-png.ts";
import {
  type RestartableGateway,
  startRestartableGateway,
} from "../../testing/restartable-gateway.ts";
import type { TestTenant } from "../../testing/test-gateway.ts";
import { createTestLogger } from "../../testing/test-logger.ts";
import { testTransport } from "../../testing/test-transport.ts";

// The hosted checkout in a real browser (Debian's chromium) against the real gateway watching a
// real anvil chain: what a payer sees and does, on a phone-sized screen, from the QR to the end.
// Intents live 30 minutes; a test ends a payment window itself (endPaymentWindow) once the page
// has shown what it checks while the intent is pending, so no deadline races the browser.

const PHONE = { width: 375, height: 740 };
// anvil's unlocked account #3 (from the sandbox mnemonic): gas money but no test USDT.
const EMPTY_ACCOUNT = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";

interface Intent {
  payment_intent_id: string;
  payment_address: Address;
  token_address: Address;
  crypto_amount: string;
}

let chain: LocalChain;
let main: RestartableGateway;
let mainShop: TestTenant;
let browser: Browser;

beforeAll(async () => {
  chain = await startLocalChain({
    port: await freePort(),
    blockTimeSeconds: 0.5,
    log: createTestLogger(),
  });
  const local: RegisteredChain = {
    key: "local",
    evmChainId: chain.evmChainId,
    name: "Sandbox (anvil)",
    tokens: [{ symbol: "USDT", address: chain.tokenAddress, decimals: 6 }],
    rpcUrls: [chain.rpcUrl],
    confirmations: 1,
    pollingIntervalMs: 100,
  };
  [main, browser] = await Promise.all([
    startRestartableGateway({
      seedPassphrase: "checkout-main",
      extraChains: [local],
      settleIntervalMs: 200,
    }),
    launchBrowser(),
  ]);
  mainShop = await main.createTenant({ chain: "local" });
});

afterAll(async () => {
  await browser?.close();
  await main?.close();
  await chain?.stop();
});

async function createIntent(): Promise<Intent> {
  const res = await fetch(`${main.url}/v1/studio/api/payment/intent`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-STUDIO-API-KEY": mainShop.apiKey },
    body: JSON.stringify({
      fiat_amount: "300.0",
      fiat_currency: "TWD",
      order_data: { order_id: "secret-order-42" },
    }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: Intent }).data;
}

/** The sandbox payer sends `amount` USDT to the intent's deposit address. */
async function pay(intent: Intent, amount: string): Promise<Hex> {
  const wallet = createWalletClient({
    account: privateKeyToAccount(chain.payerPrivateKey),
    chain: anvil,
    transport: testTransport(chain.rpcUrl),
  });
  return wallet.writeContract({
    address: intent.token_address,
    abi: erc20Abi,
    functionName: "transfer",
    args: [intent.payment_address, parseUnits(amount, 6)],
  });
}

const publicClient = () =>
  createPublicClient({ chain: anvil, transport: testTransport(chain.rpcUrl) });

/** The sandbox token held by `address`. */
function tokenBalance(address: Address): Promise<bigint> {
  return publicClient().readContract({
    address: chain.tokenAddress,
    abi: erc20Abi,
    functionName: "balanceOf",
    args: [address],
  });
}

/**
 * Gas money for one deposit address. The gateway's gas wallet stays empty all through this file:
 * funded, it would pay for every deposit address's transfers at once (the paid intents'
 * collections, and a refund before its test has seen it pending), so a test that wants the
 * treasury to send its refund gives gas to that intent's deposit address alone.
 */
async function giveGas(address: Address): Promise<void> {
  await createTestClient({
    mode: "anvil",
    chain: anvil,
    transport: testTransport(chain.rpcUrl),
  }).setBalance({ address, value: parseEther("1") });
}

/**
 * A refund the treasury sent: a real transaction whose one Transfer moves `amount` USDT from the
 * intent's deposit address back to the payer, whose balance is `payerBefore` plus that amount.
 */
async function expectRefundedOnChain(
  refundTx: Hex,
  intent: Intent,
  amount: string,
  payerBefore: bigint,
): Promise<void> {
  const receipt = await publicClient().getTransactionReceipt({ hash: refundTx });
  expect(receipt.status).toBe("success");
  expect(
    parseEventLogs({ abi: erc20Abi, logs: receipt.logs, eventName: "Transfer" }).map((l) => [
      l.args.from,
      l.args.to,
      l.args.value,
    ]),
  ).toEqual([
    [getAddress(intent.payment_address), getAddress(chain.payerAddress), parseUnits(amount, 6)],
  ]);
  expect(await tokenBalance(chain.payerAddress)).toBe(payerBefore + parseUnits(amount, 6));
}

/** A page on its own loopback origin (the browser refuses public pages framing loopback ones). */
async function serveHtml(html: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" }).end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://localhost:${port}/`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A phone-sized tab whose browser prefers `locale`. */
async function openPhonePage(locale = "en-US"): Promise<Page> {
  // bypassCSP: the page's policy forbids inline scripts, which is how axe-core is injected.
  const context = await browser.newContext({ viewport: PHONE, locale, bypassCSP: true });
  const page = await context.newPage();
  // Locators wait for what the page shows; two test files and their browsers share 2 cores.
  page.setDefaultTimeout(60_000);
  return page;
}

const eip681 = (intent: Intent) =>
  `ethereum:${intent.token_address}@${chain.evmChainId}/transfer?address=${intent.payment_address}&uint256=${parseUnits(intent.crypto_amount, 6)}`;

/** axe-core in the page: no serious or critical violation of WCAG 2.1 A/AA or best practice. */
async function expectAccessible(page: Page, screen: string): Promise<void> {
  expect(await seriousAxeViolations(page), `axe on the ${screen} screen`).toEqual([]);
}

/** The page has no horizontal scrollbar: nothing is cut off on a 375 px wide phone. */
async function expectFitsPhone(page: Page): Promise<void> {
  const widths = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  expect(widths.scroll).toBeLessThanOrEqual(widths.client);
}

describe("a payment from start to end", () => {
  it("shows amount, address, QR and countdown, then the paid screen without a reload", async () => {
    const intent = await createIntent();
    const page = await openPhonePage();
    await page
      .context()
      .grantPermissions(["clipboard-read", "clipboard-write"], { origin: main.url });
    let navigations = 0;
    page.on("framenavigated", (frame) => {
      if (frame === page.mainFrame()) navigations += 1;
    });
    await page.goto(`${main.url}/pay/${intent.payment_intent_id}`);

    await expect
      .poll(() => page.locator("h1").textContent())
      .toBe(`Pay ${intent.crypto_amount} USDT`);
    const body = await page.locator("main").innerText();
    expect(body).toContain("for 300.0 TWD");
    expect(body).toContain("Sandbox (anvil)");
    expect(body).toContain(intent.payment_address);
    expect(body).not.toContain("secret-order-42");
    expect(await page.getByRole("timer").textContent()).toMatch(/^(29|30):\d\d$/);
    const qr = page.getByRole("img", { name: /QR code/ });
    expect(await qr.getAttribute("src")).toMatch(/^data:image\/png;base64,/);
    expect(await qr.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(100);
    expect(
      await page.getByRole("link", { name: "Open in a wallet app" }).getAttribute("href"),
    ).toBe(eip681(intent));
    await expectFitsPhone(page);
    await saveScreenshot(page, "checkout-pending");

    // Keyboard: Tab reaches the copy buttons, the focus ring shows, Enter copies.
    let focused = "";
    for (let i = 0; i < 10 && !focused.includes("Deposit address"); i++) {
      await page.keyboard.press("Tab");
      focused = await page.evaluate(() => document.activeElement?.textContent ?? "");
    }
    expect(focused).toBe("Copy Deposit address");
    const outline = await page.evaluate(() => {
      const style = getComputedStyle(document.activeElement as Element);
      return { style: style.outlineStyle, width: style.outlineWidth };
    });
    expect(outline).toEqual({ style: "solid", width: "3px" });
    await page.keyboard.press("Enter");
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(intent.payment_address);
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.textContent))
      .toBe("Copied Deposit address");
    await expectAccessible(page, "pending");

    const hash = await pay(intent, intent.crypto_amount);
    const paid = page.getByRole("heading", { name: "Payment received" });
    await paid.waitFor({ timeout: 60_000 });
    expect(await page.locator("main").innerText()).toContain(hash);
    // The sandbox chain has no block explorer: no dead link.
    expect(await page.getByRole("link", { name: /explorer/ }).count()).toBe(0);
    expect(await page.getByRole("status").first().textContent()).toBe("Payment received");
    expect(navigations).toBe(1);
    await saveScreenshot(page, "checkout-paid");
    await expectAccessible(page, "paid");
    await page.context().close();
  });

  it("pays with an injected browser wallet: switches chain, explains failures, then succeeds", async () => {
    const intent = await createIntent();
    const page = await openPhonePage();
    const calls: string[] = [];
    // The wallet's JSON-RPC goes to anvil; the wallet itself, as a person would drive it, is
    // scripted below.
    await page.exposeFunction("walletCall", (method: string) => calls.push(method));
    // The payer's transfer is signed when the page asks and its hash answered, as a wallet
    // does, but broadcast only once the test has seen the page's "sent" state: mined at once,
    // it could confirm and replace that state before the test looked.
    const payer = createWalletClient({
      account: privateKeyToAccount(chain.payerPrivateKey),
      chain: anvil,
      transport: testTransport(chain.rpcUrl),
    });
    let held: Hex | undefined;
    await page.exposeFunction("anvilRpc", async (method: string, params: unknown[]) => {
      if (method === "eth_sendTransaction") {
        const { to, data, value } = (params as [TransactionRequest])[0];
        const request = await payer.prepareTransactionRequest({
          ...(to ? { to } : {}),
          ...(data ? { data } : {}),
          ...(value === undefined ? {} : { value: BigInt(value) }),
        });
        held = await payer.signTransaction(request);
        return { result: keccak256(held) };
      }
      const res = await fetch(chain.rpcUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
      });
      return res.json();
    });
    await page.addInitScript((empty) => {
      const w = window as unknown as Record<string, unknown>;
      const state = { chainId: "0x1", known: new Set(["0x1"]), account: empty, rejectNext: false };
      w.walletState = state;
      const fail = (code: number, message: string) => Object.assign(new Error(message), { code });
      w.ethereum = {
        async request({ method, params }: { method: string; params?: unknown[] }) {
          await (w.walletCall as (m: string) => Promise<void>)(method);
          if (method === "eth_requestAccounts" || method === "eth_accounts") return [state.account];
          if (method === "eth_chainId") return state.chainId;
          if (method === "wallet_switchEthereumChain") {
            const id = (params as [{ chainId: string }])[0].chainId;
            if (!state.known.has(id)) throw fail(4902, "Unrecognized chain ID");
            state.chainId = id;
            return null;
          }
          if (method === "wallet_addEthereumChain") {
            state.known.add((params as [{ chainId: string }])[0].chainId);
            return null;
          }
          if (method === "eth_sendTransaction" && state.rejectNext) {
            state.rejectNext = false;
            throw fail(4001, "User rejected the request.");
          }
          const rpc = w.anvilRpc as (m: string, p: unknown[]) => Promise<Record<string, unknown>>;
          const reply = await rpc(method, params ?? []);
          if (reply.error) throw Object.assign(new Error("rpc error"), reply.error);
          return reply.result;
        },
        on() {},
        removeListener() {},
      };
    }, EMPTY_ACCOUNT);
    await page.goto(`${main.url}/pay/${intent.payment_intent_id}`);
    const button = page.getByRole("button", { name: "Pay with browser wallet" });
    const alert = page.getByRole("alert");

    // 1. An account without USDT: the shortfall is explained before anything is signed.
    await button.click();
    await alert.waitFor();
    expect(await alert.textContent()).toBe(
      `Your wallet holds 0 USDT, less than the ${intent.crypto_amount} USDT due. Top it up or use another account.`,
    );
    // The wallet was on Ethereum and did not know the sandbox chain: added, then switched.
    expect(calls.filter((m) => m.startsWith("wallet_"))).toEqual([
      "wallet_switchEthereumChain",
      "wallet_addEthereumChain",
      "wallet_switchEthereumChain",
    ]);
    await saveScreenshot(page, "checkout-wallet-error");

    // 2. The payer's account, but the person rejects the transfer in the wallet.
    await page.evaluate((payer) => {
      const s = (window as unknown as { walletState: { account: string; rejectNext: boolean } })
        .walletState;
      s.account = payer;
      s.rejectNext = true;
    }, chain.payerAddress);
    await button.click();
    await expect
      .poll(() => alert.textContent())
      .toBe("You cancelled the request in your wallet. Nothing was sent.");

    // 3. Approved: the transfer is sent and the page follows it to the paid screen.
    await button.click();
    await page.getByText("Transfer sent. Waiting for the network to confirm it…").waitFor();
    expect(held).toBeDefined();
    await payer.sendRawTransaction({ serializedTransaction: held as Hex });
    await page.getByRole("heading", { name: "Payment received" }).waitFor({ timeout: 60_000 });
    expect(calls.filter((m) => m === "eth_sendTransaction")).toHaveLength(2); // rejected, sent
    const status = (await (
      await fetch(`${main.url}/v1/checkout/payment/${intent.payment_intent_id}`)
    ).json()) as { data: { status: string; payment_tx_hash: string } };
    expect(status.data.status).toBe("success");
    expect(await page.locator("main").innerText()).toContain(status.data.payment_tx_hash);
    await saveScreenshot(page, "checkout-wallet-paid");
    await page.context().close();
  });
});

describe("end screens after the deadline", () => {
  it("expired: nothing paid; embedded in an iframe it tells the parent page", async () => {
    const intent = await createIntent();
    const page = await openPhonePage("zh-TW"); // ?lang=en below wins over the browser's language
    // A merchant's page on another origin, embedding the checkout as the React SDK's modal does.
    const shopPage = await serveHtml(
      `<!doctype html><title>Shop</title><script>window.received=[];addEventListener("message",e=>received.push(e.data))</script><iframe title="Checkout" style="width:100%;height:700px;border:0" src="${main.url}/pay/${intent.payment_intent_id}?embed=1&lang=en"></iframe>`,
    );
    await page.goto(shopPage.url);
    const frame = page.frameLocator("iframe");
    await frame.getByRole("heading", { name: /^Pay / }).waitFor();
    expect(await frame.locator(".brand").count()).toBe(0); // no page chrome when embedded

    await endPaymentWindow(main.database, intent.payment_intent_id);
    await frame.getByRole("heading", { name: "Payment expired" }).waitFor({ timeout: 60_000 });
    expect(await frame.locator("main").innerText()).toContain("Do not send funds to this address");
    const messages = await page.evaluate(
      () => (window as unknown as { received: unknown[] }).received,
    );
    expect(messages).toEqual([
      {
        type: "stablegate:status",
        payment_intent_id: intent.payment_intent_id,
        status: "pending",
        payment_tx_hash: null,
      },
      {
        type: "stablegate:status",
        payment_intent_id: intent.payment_intent_id,
        status: "expired",
        payment_tx_hash: null,
      },
    ]);
    await saveScreenshot(page, "checkout-expired-embedded");
    await page.context().close();
    await shopPage.close();
  });

  // The refund waits up to 120 s for the treasury's backoff after the gas arrives: more than
  // the default 120 s per test.
  it("underpaid, in Traditional Chinese, with live updates by polling: refund pending, then refunded", {
    timeout: 300_000,
  }, async () => {
    const intent = await createIntent();
    const page = await openPhonePage("zh-TW"); // no ?lang: the browser's language decides
    // No event stream (a proxy that drops it): the page must fall back to polling.
    await page.route("**/events", (route) => route.abort());
    await page.goto(`${main.url}/pay/${intent.payment_intent_id}`);
    await page.getByRole("heading", { name: `支付 ${intent.crypto_amount} USDT` }).waitFor();
    expect(await page.evaluate(() => document.documentElement.lang)).toBe("zh-TW");
    expect(await page.getByRole("button", { name: "使用瀏覽器錢包付款" }).count()).toBe(0);
    expect(await page.locator("main").innerText()).toContain("未偵測到瀏覽器錢包");

    await pay(intent, "1");
    await page
      .getByText(`目前已收到 1 / ${intent.crypto_amount} USDT`)
      .waitFor({ timeout: 60_000 });
    await endPaymentWindow(main.database, intent.payment_intent_id);
    await page.getByRole("heading", { name: "付款金額不足" }).waitFor({ timeout: 60_000 });
    const text = await page.locator("main").innerText();
    expect(text).toContain(`截止前收到 1 USDT，應付 ${intent.crypto_amount} USDT。`);
    expect(text).toContain("已收款項的退款處理中。");
    await saveScreenshot(page, "checkout-underpaid-zh-TW");
    await expectAccessible(page, "underpaid");

    // The switcher changes the language in place.
    await page.getByRole("button", { name: "English" }).click();
    await page.getByRole("heading", { name: "Payment incomplete" }).waitFor();
    expect(page.url()).toContain("lang=en");
    await page.getByRole("button", { name: "繁體中文" }).click();

    // Still pending: this gateway's gas wallet holds nothing, so the treasury cannot send the
    // refund. Gas for this deposit address alone: the treasury sends the 1 USDT back on its own
    // (its retries back off while it cannot, hence the longer bound), and the page, polling,
    // turns to refunded without a reload.
    await page.getByRole("heading", { name: "付款金額不足" }).waitFor();
    expect(await page.locator("main").innerText()).toContain("已收款項的退款處理中。");
    const payerBefore = await tokenBalance(chain.payerAddress);
    await giveGas(intent.payment_address);
    await page.getByText("已退款 1 USDT。").waitFor({ timeout: 120_000 });
    const refunded = await main.database.db
      .selectFrom("payment_intents")
      .select(["status", "refund_tx_hash"])
      .where("id", "=", intent.payment_intent_id)
      .executeTakeFirstOrThrow();
    expect(refunded.status).toBe("insufficient_refunded");
    const refundTx = refunded.refund_tx_hash as Hex;
    expect(await page.locator("main").innerText()).toContain(refundTx);
    expect(await page.locator("main").innerText()).not.toContain("已收款項的退款處理中。");
    await expectRefundedOnChain(refundTx, intent, "1", payerBefore);
    await saveScreenshot(page, "checkout-refunded-zh-TW");
    await page.context().close();
  });
});

// ---- the branded checkout: merchant, order, every transfer, late payments, the way back ----

const DESKTOP = { width: 1280, height: 800 };
const RETURN_URL = "https://shop.example/orders/1042";
const DESCRIPTION = "Oolong tea, 150 g × 2\nTea cup, celadon × 1";

let brandedShop: TestTenant;

async function openPage(viewport: { width: number; height: number }, locale: string) {
  const context = await browser.newContext({ viewport, locale, bypassCSP: true });
  const page = await context.newPage();
  page.setDefaultTimeout(60_000);
  return page;
}

async function createBrandedIntent(): Promise<Intent> {
  const res = await fetch(`${main.url}/v1/studio/api/payment/intent`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-STUDIO-API-KEY": brandedShop.apiKey },
    body: JSON.stringify({
      fiat_amount: "300.0",
      fiat_currency: "TWD",
      description: DESCRIPTION,
      return_url: RETURN_URL,
    }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: Intent }).data;
}

/** The element's box lies within the viewport: seen without scrolling. */
async function expectInView(page: Page, selector: string) {
  const box = await page.locator(selector).first().boundingBox();
  const viewport = page.viewportSize();
  expect(box, selector).not.toBeNull();
  expect(box?.y).toBeGreaterThanOrEqual(0);
  expect((box?.y ?? 0) + (box?.height ?? 0)).toBeLessThanOrEqual(viewport?.height ?? 0);
}

describe("the branded checkout", () => {
  beforeAll(async () => {
    brandedShop = await main.createTenant({ chain: "local" });
    await main.services.orgSettings.update(
      brandedShop.orgId,
      {
        name: "Lin's Tea Co.",
        branding: {
          display_name: "Lin's Tea House",
          logo_url: logoDataUrl(),
          accent_color: "#0f766e",
        },
      },
      { kind: "cli" },
    );
  });

  it("shows the merchant's logo, name, colour and the order, in English and Traditional Chinese, on a phone and a desktop", async () => {
    const intent = await createBrandedIntent();
    for (const [locale, viewport, name] of [
      ["en-US", PHONE, "phone"],
      ["en-US", DESKTOP, "desktop"],
      ["zh-TW", PHONE, "phone"],
      ["zh-TW", DESKTOP, "desktop"],
    ] as const) {
      const page = await openPage(viewport, locale);
      await page.goto(`${main.url}/pay/${intent.payment_intent_id}`);
      const zh = locale === "zh-TW";
      await page
        .getByRole("heading", { name: `${zh ? "支付" : "Pay"} ${intent.crypto_amount} USDT` })
        .waitFor();
      await expect.poll(() => page.title()).toBe(`Lin's Tea House · ${zh ? "結帳" : "Checkout"}`);
      const header = page.locator("header.merchant");
      expect(await header.innerText()).toBe("Lin's Tea House");
      // The logo from the gateway itself, loaded (the page's CSP allows no other host).
      const logo = header.locator("img");
      expect(await logo.getAttribute("src")).toMatch(/^\/v1\/checkout\/logos\/[0-9a-f]{64}$/);
      await expect.poll(() => logo.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(96);
      // The order summary, with its line break kept.
      const summary = page.getByRole("region", { name: zh ? "訂單摘要" : "Order summary" });
      expect(await summary.locator(".description").innerText()).toBe(DESCRIPTION);
      expect(await summary.innerText()).toContain("300.0 TWD");
      // The accent colour on the spinner and the copy buttons' text.
      expect(
        await page
          .locator(".copy")
          .first()
          .evaluate((b) => getComputedStyle(b).color),
      ).toBe("rgb(15, 118, 110)");
      // The status (waiting line and countdown) without scrolling...
      await expectInView(page, ".status-bar");
      if (name === "phone") {
        await expectFitsPhone(page);
        // ...and still in view once the payer has scrolled down to the deposit address.
        await page.locator(".field").last().scrollIntoViewIfNeeded();
        await page.evaluate(() => window.scrollBy(0, 200));
        await expectInView(page, ".status-bar");
        await page.evaluate(() => window.scrollTo(0, 0));
      } else {
        // Desktop: the order on the left of the payment.
        const [s, card] = [await summary.boundingBox(), await page.locator("main").boundingBox()];
        expect((s?.x ?? 0) + (s?.width ?? 0)).toBeLessThanOrEqual(card?.x ?? 0);
      }
      await expectAccessible(page, `branded ${locale} ${name}`);
      await saveScreenshot(page, `checkout-branded-${zh ? "zh-TW" : "en"}-${name}`);
      await page.context().close();
    }
  });

  it("lists every transaction of a payment in two parts, then Done goes back to the shop", async () => {
    const intent = await createBrandedIntent();
    const page = await openPage(PHONE, "en-US");
    await page.goto(`${main.url}/pay/${intent.payment_intent_id}`);
    await page.getByRole("heading", { name: /^Pay / }).waitFor();
    const total = parseUnits(intent.crypto_amount, 6);
    const first = total / 2n;
    const firstHash = await pay(intent, formatUnits(first, 6));
    await page
      .getByText(`Received ${formatUnits(first, 6)} of ${intent.crypto_amount} USDT`)
      .waitFor({
        timeout: 60_000,
      });
    const list = page.getByRole("region", { name: "Transactions" });
    await expect.poll(() => list.getByRole("listitem").count()).toBe(1);
    expect(await list.innerText()).toContain(firstHash);
    await expectInView(page, ".notice");
    await saveScreenshot(page, "checkout-partial");

    const secondHash = await pay(intent, formatUnits(total - first, 6));
    await page.getByRole("heading", { name: "Payment received" }).waitFor({ timeout: 60_000 });
    await expect.poll(() => list.getByRole("listitem").count()).toBe(2);
    const items = await list.getByRole("listitem").allInnerTexts();
    expect(items[0]).toContain(firstHash);
    expect(items[0]).toContain(`${formatUnits(first, 6)} USDT`);
    expect(items[1]).toContain(secondHash);
    expect(items[1]).toContain(`${formatUnits(total - first, 6)} USDT`);
    const done = page.getByRole("link", { name: "Done" });
    expect(await done.getAttribute("href")).toBe(RETURN_URL);
    // Framed by a shop (the React modal), it leaves the frame, not just the checkout.
    expect(await done.getAttribute("target")).toBe("_top");
    await expectFitsPhone(page);
    await expectAccessible(page, "paid in two parts");
    await saveScreenshot(page, "checkout-paid-two-parts");
    await page.context().close();
  });

  // As the underpaid test: the refund's wait is longer than the default test timeout.
  it("a payment sent after the deadline shows as late, then refunded, live", {
    timeout: 300_000,
  }, async () => {
    const intent = await createBrandedIntent();
    const page = await openPage(PHONE, "en-US");
    await page.goto(`${main.url}/pay/${intent.payment_intent_id}`);
    await page.getByRole("heading", { name: /^Pay / }).waitFor();
    await endPaymentWindow(main.database, intent.payment_intent_id);
    await page.getByRole("heading", { name: "Payment expired" }).waitFor({ timeout: 60_000 });
    expect(await page.getByRole("link", { name: "Back to shop" }).getAttribute("href")).toBe(
      RETURN_URL,
    );
    // A minute past the deadline, so the next block is late whatever the clocks' rounding.
    await main.database.db
      .updateTable("payment_intents")
      .set({ payment_deadline: new Date(Date.now() - 60_000) })
      .where("id", "=", intent.payment_intent_id)
      .execute();

    // The payer pays anyway, too late: the page says so without a reload.
    const hash = await pay(intent, intent.crypto_amount);
    await page
      .getByRole("heading", { name: "Your payment arrived too late" })
      .waitFor({ timeout: 60_000 });
    const main_ = page.locator("main");
    expect(await main_.innerText()).toContain(
      `${intent.crypto_amount} USDT arrived after the time to pay had ended`,
    );
    expect(await main_.innerText()).not.toContain("no payment arrived");
    const list = page.getByRole("region", { name: "Transactions" });
    expect(await list.innerText()).toContain(hash);
    expect(await list.innerText()).toContain("after the deadline");
    // This gateway's gas wallet holds nothing, so the treasury cannot send the refund yet.
    const late = page.locator(".late");
    expect(await late.getAttribute("data-late-state")).toBe("refunding");
    expect(await late.innerText()).toContain("It is being refunded to the address it came from");
    await expectAccessible(page, "late, refunding");
    await saveScreenshot(page, "checkout-late-refunding");

    // Gas for this deposit address alone (giveGas): the treasury sends the refund on chain on
    // its own, and the page follows it to the end.
    const payerBefore = await tokenBalance(chain.payerAddress);
    await giveGas(intent.payment_address);
    await page
      .getByText(`Refunded ${intent.crypto_amount} USDT to the address it came from.`)
      .waitFor({ timeout: 120_000 });
    const refundTx = (
      await main.database.db
        .selectFrom("payment_intents")
        .select("late_refund_tx_hash")
        .where("id", "=", intent.payment_intent_id)
        .executeTakeFirstOrThrow()
    ).late_refund_tx_hash as Hex;
    expect(await main_.innerText()).toContain(refundTx);
    // A real transaction: the late amount back to the payer, from the deposit address.
    await expectRefundedOnChain(refundTx, intent, intent.crypto_amount, payerBefore);
    expect(await page.getByRole("link", { name: "Back to shop" }).getAttribute("href")).toBe(
      RETURN_URL,
    );
    await expectFitsPhone(page);
    await expectAccessible(page, "late, refunded");
    await saveScreenshot(page, "checkout-late-refunded");
    await page.context().close();
  });
});
