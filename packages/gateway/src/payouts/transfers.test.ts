import {
  type Address,
  createTestClient,
  encodeFunctionData,
  erc20Abi,
  formatEther,
  getAddress,
  type Hex,
  http,
  parseEther,
  parseUnits,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { anvil } from "viem/chains";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RegisteredChain } from "../chain/chain-registry.ts";
import { type ManualChain, startManualChain } from "../testing/manual-chain.ts";
import { startTestGateway, type TestGateway, type TestTenant } from "../testing/test-gateway.ts";
import type { TransferView, TransferResult as WireTransferResult } from "./transfer-schemas.ts";

// The transfer (withdrawal) API end to end: a real anvil chain mined by hand (a transfer stays in
// flight until the test mines), the real gateway with its transaction manager, and only what a
// merchant sees (HTTP) plus the chain itself.

const CHAIN = "local";
const TRANSFER = "/v1/studio/api/asset_pro/transfer";

interface Envelope<T = Record<string, unknown>> {
  status: number;
  code: number;
  message?: string;
  data: T & Record<string, unknown>;
}
// The wire shapes the API documents; a transfer's hash is a hex string.
type TransferResult = WireTransferResult & { tx_hash: Hex };
type Transfer = TransferView;

let chain: ManualChain;
let gateway: TestGateway;
let token: Address;
let testClient: ReturnType<typeof createTestClient>;

beforeAll(async () => {
  chain = await startManualChain();
  token = chain.chain.tokenAddress;
  testClient = createTestClient({
    mode: "anvil",
    chain: anvil,
    transport: http(chain.chain.rpcUrl),
  });
  const local: RegisteredChain = {
    key: CHAIN,
    evmChainId: chain.chain.evmChainId,
    name: "Anvil",
    tokens: [{ symbol: "USDT", address: token, decimals: 6 }],
    rpcUrls: [chain.chain.rpcUrl],
    confirmations: 1,
    pollingIntervalMs: 50,
  };
  gateway = await startTestGateway({ extraChains: [local] });
});

afterAll(async () => {
  await gateway?.close();
  await chain?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const units = (amount: string) => parseUnits(amount, 6);
/** A fresh recipient address per call. */
const recipient = (): Address => privateKeyToAccount(`0x${randomHex(32)}`).address;
function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) =>
    b.toString(16).padStart(2, "0"),
  ).join("");
}

async function call<T = Record<string, unknown>>(
  method: string,
  path: string,
  options: { apiKey?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Envelope<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.apiKey !== undefined) headers["X-STUDIO-API-KEY"] = options.apiKey;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(`${gateway.url}${path}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  return { status: res.status, ...((await res.json()) as Omit<Envelope<T>, "status">) };
}

const transfer = (
  tenant: TestTenant,
  body: Record<string, unknown>,
  options: { idempotencyKey?: string; apiKey?: string } = {},
) =>
  call<TransferResult>("POST", TRANSFER, {
    apiKey: options.apiKey ?? tenant.apiKey,
    body,
    ...(options.idempotencyKey === undefined
      ? {}
      : { headers: { "Idempotency-Key": options.idempotencyKey } }),
  });

const body = (amount: string, to: Address = recipient()) => ({
  chain_id: CHAIN,
  contract_address: token,
  amount,
  wallet_address: to,
});

const tokenBalance = (address: Address) =>
  chain.publicClient.readContract({
    address: token,
    abi: erc20Abi,
    functionName: "balanceOf",
    args: [address],
  });

/** An organisation whose hot wallet holds `usdt` test USDT and `eth` ETH. */
async function fundedTenant(usdt: string, eth = "1"): Promise<TestTenant & { hot: Address }> {
  const tenant = await gateway.createTenant({ chain: CHAIN });
  const wallet = await call<{ address: Address }>("GET", "/v1/studio/api/asset_pro/wallet", {
    apiKey: tenant.apiKey,
  });
  expect(wallet.code).toBe(0);
  const hot = wallet.data.address;
  if (usdt !== "0") await chain.transfer({ to: hot, value: units(usdt) });
  await testClient.setBalance({ address: hot, value: parseEther(eth) });
  await chain.mine();
  expect(await tokenBalance(hot)).toBe(units(usdt));
  return { ...tenant, hot };
}

async function getTransfer(tenant: TestTenant, id: string) {
  return call<Transfer>("GET", `${TRANSFER}/${id}`, { apiKey: tenant.apiKey });
}

/** Mines until every listed transfer is confirmed (the tx manager follows receipts every 50 ms). */
async function mineUntilConfirmed(tenant: TestTenant, ids: string[], timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await chain.mine();
    await sleep(100);
    const views = await Promise.all(ids.map((id) => getTransfer(tenant, id)));
    if (views.every((v) => v.data.status === "confirmed")) return views.map((v) => v.data);
    if (Date.now() > deadline) {
      throw new Error(
        `not confirmed in time: ${JSON.stringify(views.map((v) => [v.data.id, v.data.status, v.data.error]))}`,
      );
    }
  }
}

describe("POST /v1/studio/api/asset_pro/transfer", () => {
  it("sends the tokens from the hot wallet; the status goes from submitted to confirmed", async () => {
    const shop = await fundedTenant("100");
    const to = recipient();
    const before = Math.floor(Date.now() / 1000);
    const res = await transfer(shop, body("12.5", to));
    expect(res.status).toBe(200);
    expect(res.code).toBe(0);
    expect(Object.keys(res.data).sort()).toEqual(["id", "transfer_time", "tx_hash"]);
    expect(res.data.id).toMatch(new RegExp(`^${shop.orgId}-\\d{10}-1$`));
    expect(res.data.id).toBe(`${shop.orgId}-${res.data.transfer_time}-1`);
    expect(res.data.tx_hash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(res.data.transfer_time).toBeGreaterThanOrEqual(before);

    const pending = await getTransfer(shop, res.data.id);
    expect(pending.data).toMatchObject({
      id: res.data.id,
      status: "submitted",
      tx_hash: res.data.tx_hash,
      amount: "12.5",
      symbol: "USDT",
      chain_id: CHAIN,
      wallet_address: to,
      from_address: shop.hot,
      contract_address: token,
      nonce: 0,
      block_number: null,
    });
    expect(await tokenBalance(to)).toBe(0n); // not mined yet

    const [confirmed] = await mineUntilConfirmed(shop, [res.data.id]);
    expect(confirmed).toMatchObject({
      status: "confirmed",
      tx_hash: res.data.tx_hash,
      error: null,
    });
    expect(confirmed?.block_number).toBeGreaterThan(0);
    expect(BigInt(confirmed?.gas_used ?? "0")).toBeGreaterThan(21_000n);
    const receipt = await chain.publicClient.getTransactionReceipt({ hash: res.data.tx_hash });
    expect(receipt.status).toBe("success");
    expect(Number(receipt.blockNumber)).toBe(confirmed?.block_number);
    expect(getAddress(receipt.from)).toBe(shop.hot);
    expect(await tokenBalance(to)).toBe(units("12.5"));
    expect(await tokenBalance(shop.hot)).toBe(units("87.5"));

    // A second one takes the next sequence; the list shows both, newest first.
    const second = await transfer(shop, body("1"));
    expect(second.data.id).toMatch(new RegExp(`^${shop.orgId}-\\d{10}-2$`));
    const list = await call<{ items: Transfer[]; total_count: number }>(
      "GET",
      "/v1/studio/api/asset_pro/transfers?page_number=1&page_size=10",
      { apiKey: shop.apiKey },
    );
    expect(list.data.total_count).toBe(2);
    expect(list.data.items.map((t) => [t.id, t.status])).toEqual([
      [second.data.id, "submitted"],
      [res.data.id, "confirmed"],
    ]);
    await mineUntilConfirmed(shop, [second.data.id]);
  });

  it("refuses with 4015 and the exact shortfall, counting transfers still in flight", async () => {
    const shop = await fundedTenant("100");
    expect((await transfer(shop, body("30"))).code).toBe(0); // in flight: not mined
    const refused = await transfer(shop, body("80.25"));
    expect(refused.status).toBe(400);
    expect(refused).toMatchObject({
      code: 4015,
      message: "Balance not enough",
      data: { insufficient_amount: "10.25" },
    });
    // Exactly what is left goes through.
    expect((await transfer(shop, body("70"))).code).toBe(0);
    const none = await transfer(shop, body("0.000001"));
    expect(none.data).toEqual({ insufficient_amount: "0.000001" });
  });

  it("lets only one of two concurrent transfers spend the same balance", async () => {
    const shop = await fundedTenant("100");
    const results = await Promise.all([transfer(shop, body("60")), transfer(shop, body("60"))]);
    expect(results.map((r) => r.code).sort()).toEqual([0, 4015]);
    expect(results.find((r) => r.code === 4015)?.data).toEqual({ insufficient_amount: "20" });
  });

  it("refuses with 4017 and the exact gas shortfall, counting the gas of transfers in flight", async () => {
    const shop = await fundedTenant("100", "0");
    const to = recipient();
    // The most a transfer can cost in gas, as the transaction manager would sign it now (no block
    // is mined in between, so the gateway's own estimate is the same).
    const maxGasCost = async (amount: string) => {
      const data = encodeFunctionData({
        abi: erc20Abi,
        functionName: "transfer",
        args: [to, units(amount)],
      });
      const estimate = await gateway.services.txManager.estimate({
        chainKey: CHAIN,
        from: shop.hot,
        to: token,
        data,
      });
      return estimate.maxCost;
    };
    const cost = await maxGasCost("1");
    expect(cost).toBeGreaterThan(0n);
    const refused = await transfer(shop, body("1", to));
    expect(refused.status).toBe(400);
    expect(refused.code).toBe(4017);
    expect(refused.message).toContain(shop.hot);
    expect(refused.data).toEqual({
      insufficient_amount: formatEther(cost),
      hot_wallet_address: shop.hot,
    });

    // Exactly that much is enough, and the refusal left nothing reserved (sequence 1).
    await testClient.setBalance({ address: shop.hot, value: cost });
    const first = await transfer(shop, body("1", to));
    expect(first.code).toBe(0);
    expect(first.data.id).toMatch(/-1$/);

    // Not mined: the next transfer must also leave the first one's gas (as signed) unspent.
    const signed = await chain.publicClient.getTransaction({ hash: first.data.tx_hash });
    const inFlightGas = signed.gas * (signed.maxFeePerGas ?? signed.gasPrice ?? 0n);
    expect(inFlightGas).toBeGreaterThan(0n);
    const nextCost = await maxGasCost("2");
    const second = await transfer(shop, body("2", to));
    expect([second.status, second.code]).toEqual([400, 4017]);
    expect(second.data).toEqual({
      insufficient_amount: formatEther(inFlightGas + nextCost - cost),
      hot_wallet_address: shop.hot,
    });
    await mineUntilConfirmed(shop, [first.data.id]);
  });

  it("returns the first transfer for a retried Idempotency-Key and refuses it with another body", async () => {
    const shop = await fundedTenant("50");
    const to = recipient();
    const first = await transfer(shop, body("5", to), { idempotencyKey: "withdrawal-1" });
    expect(first.code).toBe(0);
    // The same transfer written differently (trailing zero, lower-case address) is the same body.
    const again = await transfer(
      shop,
      { ...body("5.0", getAddress(to).toLowerCase() as Address) },
      { idempotencyKey: "withdrawal-1" },
    );
    expect(again).toEqual(first);
    const concurrent = await Promise.all(
      [1, 2, 3].map(() => transfer(shop, body("5", to), { idempotencyKey: "withdrawal-1" })),
    );
    for (const r of concurrent) expect(r.data).toEqual(first.data);

    const other = await transfer(shop, body("6", to), { idempotencyKey: "withdrawal-1" });
    expect(other.status).toBe(409);
    expect(other.code).toBe(4018);
    expect(other.message).toContain("withdrawal-1");

    await mineUntilConfirmed(shop, [first.data.id]);
    // One on-chain transaction: the hot wallet used one nonce and the recipient got 5 once.
    expect(await chain.publicClient.getTransactionCount({ address: shop.hot })).toBe(1);
    expect(await tokenBalance(to)).toBe(units("5"));
    const list = await call<{ total_count: number }>("GET", "/v1/studio/api/asset_pro/transfers", {
      apiKey: shop.apiKey,
    });
    expect(list.data.total_count).toBe(1);

    // Another key is another transfer.
    const next = await transfer(shop, body("5", to), { idempotencyKey: "withdrawal-2" });
    expect(next.data.id).not.toBe(first.data.id);
  });

  it("enforces the organisation's per-transfer maximum and daily cap", async () => {
    const shop = await fundedTenant("100");
    await gateway.services.transferLimits.setOrgLimits(shop.orgId, { maxTransfer: "10" });
    const tooBig = await transfer(shop, body("10.000001"));
    expect(tooBig.status).toBe(403);
    expect(tooBig.code).toBe(4019);
    expect(tooBig.message).toContain("organisation's per-transfer maximum of 10");
    expect((await transfer(shop, body("10"))).code).toBe(0);

    await gateway.services.transferLimits.setOrgLimits(shop.orgId, { dailyCap: "25" });
    expect((await transfer(shop, body("10"))).code).toBe(0); // 20 of 25 sent today
    const refused = await transfer(shop, body("5.5"));
    expect(refused.status).toBe(403);
    expect(refused.code).toBe(4020);
    expect(refused.message).toContain("organisation's daily outflow cap of 25");
    expect(refused.data).toMatchObject({
      sent_today: "20",
      remaining_today: "5",
      daily_transfer_cap: "25",
    });
    expect((await transfer(shop, body("5"))).code).toBe(0);
    // Lifting the limits lets the next one through.
    await gateway.services.transferLimits.setOrgLimits(shop.orgId, {
      maxTransfer: null,
      dailyCap: null,
    });
    expect((await transfer(shop, body("11"))).code).toBe(0);
  });

  it("enforces an API key's own per-transfer maximum and daily cap, across the organisation's keys", async () => {
    const shop = await fundedTenant("100");
    const limited = await gateway.services.tenancy.createApiKey({ orgId: shop.orgId, name: "ops" });
    await gateway.services.transferLimits.setKeyLimits(limited.id, {
      maxTransfer: "3",
      dailyCap: "5",
    });
    const opts = { apiKey: limited.secret };

    const tooBig = await transfer(shop, body("3.5"), opts);
    expect(tooBig.status).toBe(403);
    expect(tooBig.code).toBe(4021);
    expect(tooBig.message).toContain("API key's per-transfer maximum of 3");
    expect((await transfer(shop, body("3"), opts)).code).toBe(0);
    const overCap = await transfer(shop, body("2.5"), opts);
    expect(overCap.code).toBe(4022);
    expect(overCap.message).toContain("API key's daily outflow cap of 5");
    // The organisation's other key is not bound by this key's limits.
    expect((await transfer(shop, body("20"))).code).toBe(0);
    expect((await transfer(shop, body("2"), opts)).code).toBe(0);
  });

  it("validates the request, naming the field", async () => {
    const shop = await fundedTenant("10");
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ ...body("1"), chain_id: "nope" }, "chain_id", /unknown chain "nope"/],
      [{ ...body("1"), chain_id: "arb" }, "chain_id", /no RPC URL/],
      [
        { ...body("1"), contract_address: recipient() },
        "contract_address",
        /not a registered token/,
      ],
      [{ ...body("1"), contract_address: "0x123" }, "contract_address", /address/],
      [body("0"), "amount", /greater than 0/],
      [body("-1"), "amount", /decimal/],
      [body("1e3"), "amount", /decimal/],
      [body("1.0000001"), "amount", /more than 6 decimal places/],
      [{ ...body("1"), amount: 1 }, "amount", /must be a string/],
      [{ ...body("1"), wallet_address: "0xnothex" }, "wallet_address", /address/],
      [
        { ...body("1"), wallet_address: "0x3fE5aC82B997255b8226abb6aEfd91f405fe2e8E" },
        "wallet_address",
        /checksum/,
      ],
      [
        { ...body("1"), wallet_address: "0x0000000000000000000000000000000000000000" },
        "wallet_address",
        /zero address/,
      ],
      [{ ...body("1"), wallet_address: token }, "wallet_address", /token contract itself/],
      [
        { chain_id: CHAIN, contract_address: token, wallet_address: recipient() },
        "amount",
        /is required/,
      ],
    ];
    for (const [request, field, message] of cases) {
      const res = await transfer(shop, request);
      expect({ request, status: res.status, code: res.code }).toEqual({
        request,
        status: 400,
        code: 4000,
      });
      expect(res.message).toMatch(new RegExp(`^${field}: `));
      expect(res.message).toMatch(message);
      expect(res.data.field).toBe(field);
    }
    const badKey = await transfer(shop, body("1"), { idempotencyKey: "has space" });
    expect(badKey.code).toBe(4000);
    expect(badKey.data.field).toBe("Idempotency-Key");

    // X-STUDIO-API-KEY alone: no key, a bad key, or a browser's client id are refused.
    expect((await call("POST", TRANSFER, { body: body("1") })).code).toBe(4002);
    expect((await call("POST", TRANSFER, { apiKey: "sg_live_nope", body: body("1") })).code).toBe(
      4002,
    );
    const browser = await call("POST", TRANSFER, {
      body: body("1"),
      headers: { "X-Client-ID": shop.clientId, Origin: shop.origin },
    });
    expect([browser.status, browser.code]).toEqual([401, 4002]);
    // Nothing was sent.
    expect(
      await chain.publicClient.getTransactionCount({ address: shop.hot, blockTag: "pending" }),
    ).toBe(0);
  });

  it("sends 50 concurrent transfers with consecutive nonces, all confirmed, balances adding up", async () => {
    const shop = await fundedTenant("2000", "10");
    const requests = Array.from({ length: 50 }, (_, i) => ({
      to: recipient(),
      amount: `${i + 1}.${String(i).padStart(2, "0")}`,
    }));
    const results = await Promise.all(requests.map((r) => transfer(shop, body(r.amount, r.to))));
    expect(results.map((r) => r.code)).toEqual(requests.map(() => 0));
    const ids = results.map((r) => r.data.id);
    expect(new Set(ids).size).toBe(50);
    expect(new Set(results.map((r) => r.data.tx_hash)).size).toBe(50);
    expect(ids.map((id) => Number(id.split("-")[2])).sort((x, y) => x - y)).toEqual(
      requests.map((_, i) => i + 1),
    );

    const confirmed = await mineUntilConfirmed(shop, ids, 60_000);
    expect(confirmed.map((t) => t.nonce).sort((x, y) => (x ?? 0) - (y ?? 0))).toEqual(
      requests.map((_, i) => i),
    );
    expect(await chain.publicClient.getTransactionCount({ address: shop.hot })).toBe(50);
    const total = requests.reduce((sum, r) => sum + units(r.amount), 0n);
    for (const r of requests) expect(await tokenBalance(r.to)).toBe(units(r.amount));
    expect(await tokenBalance(shop.hot)).toBe(units("2000") - total);
  }, 90_000);
});

describe("transfer reads", () => {
  it("keeps organisations apart and answers 4023 for an unknown id", async () => {
    const a = await fundedTenant("10");
    const b = await gateway.createTenant({ chain: CHAIN });
    const sent = await transfer(a, body("1"));
    expect((await getTransfer(a, sent.data.id)).code).toBe(0);
    const other = await getTransfer(b, sent.data.id);
    expect([other.status, other.code]).toEqual([404, 4023]);
    const unknown = await getTransfer(a, "1-1627380000-999");
    expect(unknown.code).toBe(4023);
    // Not an id's shape, down to a NUL byte the database would refuse: unknown, not a 500.
    for (const odd of ["%00", "1-1-1%00", "x".repeat(500)]) {
      expect((await getTransfer(a, odd)).code, odd).toBe(4023);
    }
    const list = await call<{ total_count: number }>("GET", "/v1/studio/api/asset_pro/transfers", {
      apiKey: b.apiKey,
    });
    expect(list.data.total_count).toBe(0);
    const badPage = await call("GET", "/v1/studio/api/asset_pro/transfers?page_size=500", {
      apiKey: a.apiKey,
    });
    expect(badPage.code).toBe(4000);
  });

  it("shows the hot wallet's address and balances, with what is in flight", async () => {
    const shop = await fundedTenant("10", "2");
    await transfer(shop, body("2.5"));
    const wallet = await call<{
      address: string;
      chains: {
        chain_id: string;
        native_balance: string;
        tokens: { symbol: string; balance: string; in_flight: string }[];
      }[];
    }>("GET", "/v1/studio/api/asset_pro/wallet", { apiKey: shop.apiKey });
    expect(wallet.data.address).toBe(shop.hot);
    expect(wallet.data.chains).toEqual([
      {
        chain_id: CHAIN,
        native_balance: "2",
        tokens: [
          {
            symbol: "USDT",
            contract_address: token,
            decimals: 6,
            balance: "10",
            in_flight: "2.5",
          },
        ],
        error: null,
      },
    ]);
  });

  it("documents every transfer endpoint in the OpenAPI document", async () => {
    const doc = (await (await fetch(`${gateway.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    expect(Object.keys(doc.paths["/v1/studio/api/asset_pro/transfer"] ?? {})).toEqual(["post"]);
    expect(doc.paths["/v1/studio/api/asset_pro/transfer/{id}"]?.get).toBeDefined();
    expect(doc.paths["/v1/studio/api/asset_pro/transfers"]?.get).toBeDefined();
    expect(doc.paths["/v1/studio/api/asset_pro/wallet"]?.get).toBeDefined();
  });
});
