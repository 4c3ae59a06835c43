import type { Browser, Page } from "playwright-core";
import {
  type Address,
  createPublicClient,
  createWalletClient,
  defineChain,
  erc20Abi,
  type Hex,
  parseUnits,
} from "viem";
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
import { testTransport } from "../../testing/test-transport.ts";

// The payer's choice of chain and token on the hosted checkout, in a real browser against the
// real gateway watching a real anvil with two test tokens (USDT and USDC, as in the sandbox),
// and a second anvil (another chain id) with USDC: the payer picks USDC and pays it, on the same
// chain or on the other one; a payer who switched and then paid the asset shown before is not
// lost.

const PHONE = { width: 375, height: 740 };
const OTHER_EVM_CHAIN_ID = 31_338;

interface Intent {
  payment_intent_id: string;
  payment_address: Address;
  token_address: Address;
  crypto_amount: string;
  symbol: string;
}

let chain: LocalChain;
let usdc: Address;
/** Another chain, as a second network would be: its own anvil and chain id, USDC only. */
let other: LocalChain;
let main: RestartableGateway;
let shop: TestTenant;
let browser: Browser;

beforeAll(async () => {
  [chain, other] = await Promise.all([
    startLocalChain({
      port: await freePort(),
      blockTimeSeconds: 0.5,
      usdc: true,
      log: createTestLogger(),
    }),
    startLocalChain({
      port: await freePort(),
      blockTimeSeconds: 0.5,
      evmChainId: OTHER_EVM_CHAIN_ID,
      usdc: true,
      log: createTestLogger(),
    }),
  ]);
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
  const second: RegisteredChain = {
    key: "local2",
    evmChainId: other.evmChainId,
    name: "Sandbox B (anvil)",
    tokens: [{ symbol: "USDC", address: other.usdcAddress as Address, decimals: 6 }],
    rpcUrls: [other.rpcUrl],
    confirmations: 1,
    pollingIntervalMs: 100,
  };
  [main, browser] = await Promise.all([
    startRestartableGateway({
      seedPassphrase: "asset-picker",
      extraChains: [local, second],
      settleIntervalMs: 200,
    }),
    launchBrowser(),
  ]);
  shop = await shopAccepting(["local", "USDT"], ["local", "USDC"]);
});

afterAll(async () => {
  await browser?.close();
  await main?.close();
  await other?.stop();
  await chain?.stop();
});

/** An organisation paying on the first chain by default, accepting these (chain, token) pairs. */
async function shopAccepting(...assets: Array<[chain: string, symbol: string]>) {
  const tenant = await main.createTenant({ chain: "local" });
  await main.services.orgSettings.update(
    tenant.orgId,
    { accepted_assets: assets.map(([chain_id, symbol]) => ({ chain_id, symbol })) },
    { kind: "cli" },
  );
  return tenant;
}

async function createIntent(fiat: string, tenant = shop): Promise<Intent> {
  const res = await fetch(`${main.url}/v1/studio/api/payment/intent`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-STUDIO-API-KEY": tenant.apiKey },
    body: JSON.stringify({ fiat_amount: fiat, fiat_currency: "TWD" }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: Intent }).data;
}

/** The sandbox payer sends `amount` of `token` to the intent's deposit address, on `on`. */
async function pay(to: Address, token: Address, amount: string, on = chain): Promise<Hex> {
  const wallet = createWalletClient({
    account: privateKeyToAccount(on.payerPrivateKey),
    chain: defineChain({ ...anvil, id: on.evmChainId }),
    transport: testTransport(on.rpcUrl),
  });
  return wallet.writeContract({
    address: token,
    abi: erc20Abi,
    functionName: "transfer",
    args: [to, parseUnits(amount, 6)],
  });
}

/**
 * The payer sends 9.23 USDC of `token` on `on`; the page shows it paid with that transaction.
 * Returns the merchant's read of the intent.
 */
async function payAndSeeSuccess(
  page: Page,
  intent: Intent,
  tenant: TestTenant,
  token: Address,
  on = chain,
): Promise<unknown> {
  const hash = await pay(intent.payment_address, token, "9.23", on);
  await page.getByRole("heading", { name: "Payment received" }).waitFor({ timeout: 60_000 });
  const paid = await page.locator("main").innerText();
  expect(paid).toContain(hash);
  expect(paid).toContain("9.23 USDC");
  const merchant = await fetch(
    `${main.url}/v1/studio/api/payment/intent/${intent.payment_intent_id}`,
    { headers: { "X-STUDIO-API-KEY": tenant.apiKey } },
  );
  return ((await merchant.json()) as { data: unknown }).data;
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

    expect(await payAndSeeSuccess(page, intent, shop, usdc)).toMatchObject({
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

describe("the payer's choice of another chain on the checkout", () => {
  it("re-quotes on the other chain when picked, and succeeds when paid there", async () => {
    // A shop accepting USDT on the first chain (its default) and USDC on the second.
    const twoChains = await shopAccepting(["local", "USDT"], ["local2", "USDC"]);
    const intent = await createIntent("300.0", twoChains);
    expect(intent.symbol).toBe("USDT");
    const page = await openPhonePage();
    await page.goto(`${main.url}/pay/${intent.payment_intent_id}`);

    const picker = page.getByRole("group", { name: "Pay with" });
    await picker.waitFor();
    const first = picker.getByRole("radio", { name: /USDT on Sandbox \(anvil\)/ });
    const second = picker.getByRole("radio", { name: /USDC on Sandbox B \(anvil\)/ });
    expect(await first.isChecked()).toBe(true);
    expect(await second.isChecked()).toBe(false);

    await second.check();
    await expect.poll(() => page.locator("h1").textContent()).toBe("Pay 9.23 USDC");
    expect(await second.isChecked()).toBe(true);
    // The same deposit address, now asked for on the other chain.
    const asked = await page.locator("main").innerText();
    expect(asked).toContain(intent.payment_address);
    expect(asked).toContain("Send exactly 9.23 USDC on Sandbox B (anvil) to this address");
    const otherUsdc = other.usdcAddress as Address;
    expect(
      await page.getByRole("link", { name: "Open in a wallet app" }).getAttribute("href"),
    ).toContain(`ethereum:${otherUsdc}@${OTHER_EVM_CHAIN_ID}/transfer`);
    expect(await seriousAxeViolations(page)).toEqual([]);
    await saveScreenshot(page, "checkout-asset-picked-other-chain");

    // Paid on the second chain only: the gateway's watcher of that chain finds it.
    expect(await payAndSeeSuccess(page, intent, twoChains, otherUsdc, other)).toMatchObject({
      status: "success",
      payment_chain_id: "local2",
      symbol: "USDC",
      token_address: otherUsdc,
      received_amount: "9.23",
    });
    // The money is on the second chain, and nothing moved on the first.
    const held = (on: LocalChain, token: Address) =>
      createPublicClient({ transport: testTransport(on.rpcUrl) }).readContract({
        address: token,
        abi: erc20Abi,
        functionName: "balanceOf",
        args: [intent.payment_address],
      });
    expect(await held(other, otherUsdc)).toBe(parseUnits("9.23", 6));
    expect(await held(chain, chain.tokenAddress)).toBe(0n);
    expect(await held(chain, usdc)).toBe(0n);
    const history = await main.database.db
      .selectFrom("payment_intent_status_history")
      .select(["to_status", "cause"])
      .where("payment_intent_id", "=", intent.payment_intent_id)
      .orderBy("id")
      .execute();
    expect(history.map((h) => h.cause)).toContain("payer chose local2/USDC (was local/USDT)");
    expect(history.at(-1)?.to_status).toBe("success");
    await page.context().close();
  });
});
