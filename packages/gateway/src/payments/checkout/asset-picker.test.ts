import type { Browser, Page } from "playwright-core";
import { type Address, createWalletClient, erc20Abi, type Hex, http, parseUnits } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { anvil } from "viem/chains";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RegisteredChain } from "../../chain/chain-registry.ts";
import { type LocalChain, startLocalChain } from "../../sandbox/local-chain.ts";
import { launchBrowser, saveScreenshot, seriousAxeViolations } from "../../testing/browser.ts";
import { freePort } from "../../testing/cli-process.ts";
import {
  type RestartableGateway,
  startRestartableGateway,
} from "../../testing/restartable-gateway.ts";
import type { TestTenant } from "../../testing/test-gateway.ts";
import { createTestLogger } from "../../testing/test-logger.ts";

// The payer's choice of chain and token on the hosted checkout, in a real browser against the
// real gateway watching a real anvil with two test tokens (USDT and USDC, as in the sandbox):
// the payer picks USDC and pays it; a payer who switched and then paid the asset shown before is
// not lost.

const PHONE = { width: 375, height: 740 };

interface Intent {
  payment_intent_id: string;
  payment_address: Address;
  token_address: Address;
  crypto_amount: string;
  symbol: string;
}

let chain: LocalChain;
let usdc: Address;
let main: RestartableGateway;
let shop: TestTenant;
let browser: Browser;

beforeAll(async () => {
  chain = await startLocalChain({
    port: await freePort(),
    blockTimeSeconds: 0.5,
    usdc: true,
    log: createTestLogger(),
  });
  usdc = chain.usdcAddress as Address;
  const local: RegisteredChain = {
    key: "local",
    evmChainId: chain.evmChainId,
    name: "Sandbox (anvil)",
    tokens: [
      { symbol: "USDT", address: chain.tokenAddress, decimals: 6 },
      { symbol: "USDC", address: usdc, decimals: 6 },
    ],
    rpcUrls: [chain.rpcUrl],
    confirmations: 1,
    pollingIntervalMs: 100,
  };
  [main, browser] = await Promise.all([
    startRestartableGateway({
      seedPassphrase: "asset-picker",
      extraChains: [local],
      settleIntervalMs: 200,
    }),
    launchBrowser(),
  ]);
  shop = await main.createTenant({ chain: "local" });
  await main.services.orgSettings.update(
    shop.orgId,
    {
      accepted_assets: [
        { chain_id: "local", symbol: "USDT" },
        { chain_id: "local", symbol: "USDC" },
      ],
    },
    { kind: "cli" },
  );
});

afterAll(async () => {
  await browser?.close();
  await main?.close();
  await chain?.stop();
});

async function createIntent(fiat: string): Promise<Intent> {
  const res = await fetch(`${main.url}/v1/studio/api/payment/intent`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-STUDIO-API-KEY": shop.apiKey },
    body: JSON.stringify({ fiat_amount: fiat, fiat_currency: "TWD" }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: Intent }).data;
}

/** The sandbox payer sends `amount` of `token` to the intent's deposit address. */
async function pay(to: Address, token: Address, amount: string): Promise<Hex> {
  const wallet = createWalletClient({
    account: privateKeyToAccount(chain.payerPrivateKey),
    chain: anvil,
    transport: http(chain.rpcUrl),
  });
  return wallet.writeContract({
    address: token,
    abi: erc20Abi,
    functionName: "transfer",
    args: [to, parseUnits(amount, 6)],
  });
}

async function openPhonePage(locale = "en-US"): Promise<Page> {
  const context = await browser.newContext({ viewport: PHONE, locale, bypassCSP: true });
  const page = await context.newPage();
  page.setDefaultTimeout(60_000);
  return page;
}

describe("the payer's choice of token on the checkout", () => {
  it("offers USDT and USDC, re-quotes in USDC when picked, and succeeds when USDC is paid", async () => {
    const intent = await createIntent("300.0");
    expect(intent.symbol).toBe("USDT");
    const page = await openPhonePage();
    await page.goto(`${main.url}/pay/${intent.payment_intent_id}`);

    const picker = page.getByRole("group", { name: "Pay with" });
    await picker.waitFor();
    const usdt = picker.getByRole("radio", { name: /USDT on Sandbox \(anvil\)/ });
    const usdcOption = picker.getByRole("radio", { name: /USDC on Sandbox \(anvil\)/ });
    expect(await usdt.isChecked()).toBe(true);
    expect(await usdcOption.isChecked()).toBe(false);
    expect(await picker.innerText()).toContain("9.23 USDC");
    expect(await seriousAxeViolations(page)).toEqual([]);
    await saveScreenshot(page, "checkout-asset-picker");

    await usdcOption.check();
    await expect.poll(() => page.locator("h1").textContent()).toBe("Pay 9.23 USDC");
    expect(await usdcOption.isChecked()).toBe(true);
    const body = await page.locator("main").innerText();
    // The same deposit address: it is derived from the intent, not from the chain or token.
    expect(body).toContain(intent.payment_address);
    expect(
      await page.getByRole("link", { name: "Open in a wallet app" }).getAttribute("href"),
    ).toContain(`ethereum:${usdc}@${chain.evmChainId}/transfer`);
    await saveScreenshot(page, "checkout-asset-picked-usdc");

    const hash = await pay(intent.payment_address, usdc, "9.23");
    await page.getByRole("heading", { name: "Payment received" }).waitFor({ timeout: 60_000 });
    const paid = await page.locator("main").innerText();
    expect(paid).toContain(hash);
    expect(paid).toContain("9.23 USDC");
    const merchant = await fetch(
      `${main.url}/v1/studio/api/payment/intent/${intent.payment_intent_id}`,
      { headers: { "X-STUDIO-API-KEY": shop.apiKey } },
    );
    expect(((await merchant.json()) as { data: unknown }).data).toMatchObject({
      status: "success",
      symbol: "USDC",
      token_address: usdc,
      received_amount: "9.23",
    });
    await page.context().close();
  });

  it("shows the picker in Traditional Chinese", async () => {
    const intent = await createIntent("100");
    const page = await openPhonePage("zh-TW");
    await page.goto(`${main.url}/pay/${intent.payment_intent_id}`);
    const picker = page.getByRole("group", { name: "付款方式" });
    await picker.waitFor();
    expect(await picker.innerText()).toContain("Sandbox (anvil) 上的 USDC");
    await saveScreenshot(page, "checkout-asset-picker-zh-tw");
    await page.context().close();
  });

  it("counts a payment in the asset shown before the payer switched (same address)", async () => {
    const intent = await createIntent("65");
    const page = await openPhonePage();
    await page.goto(`${main.url}/pay/${intent.payment_intent_id}`);
    await page.getByRole("radio", { name: /USDC on/ }).check();
    await expect.poll(() => page.locator("h1").textContent()).toBe("Pay 2 USDC");

    // The payer's wallet still had the USDT request from the first screen.
    const hash = await pay(intent.payment_address, chain.tokenAddress, intent.crypto_amount);
    await page.getByRole("heading", { name: "Payment received" }).waitFor({ timeout: 60_000 });
    expect(await page.locator("main").innerText()).toContain(hash);
    const history = await main.database.db
      .selectFrom("payment_intent_status_history")
      .select(["from_status", "to_status", "cause"])
      .where("payment_intent_id", "=", intent.payment_intent_id)
      .orderBy("id")
      .execute();
    expect(history.map((h) => h.cause)).toEqual([
      expect.any(String),
      "payer chose local/USDC (was local/USDT)",
      expect.stringMatching(
        /^chain: paid in local\/USDT, shown before the payer chose local\/USDC; switched back/,
      ),
      expect.any(String),
    ]);
    expect(history.at(-1)?.to_status).toBe("success");
    const row = await main.database.db
      .selectFrom("payment_intents")
      .select(["symbol", "token_address", "received_amount"])
      .where("id", "=", intent.payment_intent_id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ symbol: "USDT", token_address: chain.tokenAddress });
    await page.context().close();
  });
});
