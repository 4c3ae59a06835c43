import { type Address, encodeFunctionData, erc20Abi, formatEther, getAddress } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CHAIN,
  recipient,
  startTransferFixture,
  TRANSFER,
  type Transfer,
  type TransferFixture,
  units,
} from "./transfer-fixture.ts";

// Sending: the balance, gas, idempotency and limit checks, and many transfers at once.

let f: TransferFixture;
beforeAll(async () => {
  f = await startTransferFixture();
});
afterAll(() => f?.stop());

describe("POST /v1/studio/api/asset_pro/transfer", () => {
  it("sends the tokens from the hot wallet; the status goes from submitted to confirmed", async () => {
    const shop = await f.fundedTenant("100");
    const to = recipient();
    const before = Math.floor(Date.now() / 1000);
    const res = await f.transfer(shop, f.body("12.5", to));
    expect(res.status).toBe(200);
    expect(res.code).toBe(0);
    expect(Object.keys(res.data).sort()).toEqual(["id", "transfer_time", "tx_hash"]);
    expect(res.data.id).toMatch(new RegExp(`^${shop.orgId}-\\d{10}-1$`));
    expect(res.data.id).toBe(`${shop.orgId}-${res.data.transfer_time}-1`);
    expect(res.data.tx_hash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(res.data.transfer_time).toBeGreaterThanOrEqual(before);

    const pending = await f.getTransfer(shop, res.data.id);
    expect(pending.data).toMatchObject({
      id: res.data.id,
      status: "submitted",
      tx_hash: res.data.tx_hash,
      amount: "12.5",
      symbol: "USDT",
      chain_id: CHAIN,
      wallet_address: to,
      from_address: shop.hot,
      contract_address: f.token,
      nonce: 0,
      block_number: null,
    });
    expect(await f.tokenBalance(to)).toBe(0n); // not mined yet

    const [confirmed] = await f.mineUntilConfirmed(shop, [res.data.id]);
    expect(confirmed).toMatchObject({
      status: "confirmed",
      tx_hash: res.data.tx_hash,
      error: null,
    });
    expect(confirmed?.block_number).toBeGreaterThan(0);
    expect(BigInt(confirmed?.gas_used ?? "0")).toBeGreaterThan(21_000n);
    const receipt = await f.chain.publicClient.getTransactionReceipt({ hash: res.data.tx_hash });
    expect(receipt.status).toBe("success");
    expect(Number(receipt.blockNumber)).toBe(confirmed?.block_number);
    expect(getAddress(receipt.from)).toBe(shop.hot);
    expect(await f.tokenBalance(to)).toBe(units("12.5"));
    expect(await f.tokenBalance(shop.hot)).toBe(units("87.5"));

    // A second one takes the next sequence; the list shows both, newest first.
    const second = await f.transfer(shop, f.body("1"));
    expect(second.data.id).toMatch(new RegExp(`^${shop.orgId}-\\d{10}-2$`));
    const list = await f.call<{ items: Transfer[]; total_count: number }>(
      "GET",
      "/v1/studio/api/asset_pro/transfers?page_number=1&page_size=10",
      { apiKey: shop.apiKey },
    );
    expect(list.data.total_count).toBe(2);
    expect(list.data.items.map((t) => [t.id, t.status])).toEqual([
      [second.data.id, "submitted"],
      [res.data.id, "confirmed"],
    ]);
    await f.mineUntilConfirmed(shop, [second.data.id]);
  });

  it("refuses with 4015 and the exact shortfall, counting transfers still in flight", async () => {
    const shop = await f.fundedTenant("100");
    expect((await f.transfer(shop, f.body("30"))).code).toBe(0); // in flight: not mined
    const refused = await f.transfer(shop, f.body("80.25"));
    expect(refused.status).toBe(400);
    expect(refused).toMatchObject({
      code: 4015,
      message: "Balance not enough",
      data: { insufficient_amount: "10.25" },
    });
    // Exactly what is left goes through.
    expect((await f.transfer(shop, f.body("70"))).code).toBe(0);
    const none = await f.transfer(shop, f.body("0.000001"));
    expect(none.data).toEqual({ insufficient_amount: "0.000001" });
  });

  it("lets only one of two concurrent transfers spend the same balance", async () => {
    const shop = await f.fundedTenant("100");
    const results = await Promise.all([
      f.transfer(shop, f.body("60")),
      f.transfer(shop, f.body("60")),
    ]);
    expect(results.map((r) => r.code).sort()).toEqual([0, 4015]);
    expect(results.find((r) => r.code === 4015)?.data).toEqual({ insufficient_amount: "20" });
  });

  it("refuses with 4017 and the exact gas shortfall, counting the gas of transfers in flight", async () => {
    const shop = await f.fundedTenant("100", "0");
    const to = recipient();
    // The most a transfer can cost in gas, as the transaction manager would sign it now (no block
    // is mined in between, so the gateway's own estimate is the same).
    const maxGasCost = async (amount: string) => {
      const data = encodeFunctionData({
        abi: erc20Abi,
        functionName: "transfer",
        args: [to, units(amount)],
      });
      const estimate = await f.gateway.services.txManager.estimate({
        chainKey: CHAIN,
        from: shop.hot,
        to: f.token,
        data,
      });
      return estimate.maxCost;
    };
    const cost = await maxGasCost("1");
    expect(cost).toBeGreaterThan(0n);
    const refused = await f.transfer(shop, f.body("1", to));
    expect(refused.status).toBe(400);
    expect(refused.code).toBe(4017);
    expect(refused.message).toContain(shop.hot);
    expect(refused.data).toEqual({
      insufficient_amount: formatEther(cost),
      hot_wallet_address: shop.hot,
    });

    // Exactly that much is enough, and the refusal left nothing reserved (sequence 1).
    await f.testClient.setBalance({ address: shop.hot, value: cost });
    const first = await f.transfer(shop, f.body("1", to));
    expect(first.code).toBe(0);
    expect(first.data.id).toMatch(/-1$/);

    // Not mined: the next transfer must also leave the first one's gas (as signed) unspent.
    const signed = await f.chain.publicClient.getTransaction({ hash: first.data.tx_hash });
    const inFlightGas = signed.gas * (signed.maxFeePerGas ?? signed.gasPrice ?? 0n);
    expect(inFlightGas).toBeGreaterThan(0n);
    const nextCost = await maxGasCost("2");
    const second = await f.transfer(shop, f.body("2", to));
    expect([second.status, second.code]).toEqual([400, 4017]);
    expect(second.data).toEqual({
      insufficient_amount: formatEther(inFlightGas + nextCost - cost),
      hot_wallet_address: shop.hot,
    });
    await f.mineUntilConfirmed(shop, [first.data.id]);
  });

  it("returns the first transfer for a retried Idempotency-Key and refuses it with another body", async () => {
    const shop = await f.fundedTenant("50");
    const to = recipient();
    const first = await f.transfer(shop, f.body("5", to), { idempotencyKey: "withdrawal-1" });
    expect(first.code).toBe(0);
    // The same transfer written differently (trailing zero, lower-case address) is the same body.
    const again = await f.transfer(
      shop,
      { ...f.body("5.0", getAddress(to).toLowerCase() as Address) },
      { idempotencyKey: "withdrawal-1" },
    );
    expect(again).toEqual(first);
    const concurrent = await Promise.all(
      [1, 2, 3].map(() => f.transfer(shop, f.body("5", to), { idempotencyKey: "withdrawal-1" })),
    );
    for (const r of concurrent) expect(r.data).toEqual(first.data);

    const other = await f.transfer(shop, f.body("6", to), { idempotencyKey: "withdrawal-1" });
    expect(other.status).toBe(409);
    expect(other.code).toBe(4018);
    expect(other.message).toContain("withdrawal-1");

    await f.mineUntilConfirmed(shop, [first.data.id]);
    // One on-chain transaction: the hot wallet used one nonce and the recipient got 5 once.
    expect(await f.chain.publicClient.getTransactionCount({ address: shop.hot })).toBe(1);
    expect(await f.tokenBalance(to)).toBe(units("5"));
    const list = await f.call<{ total_count: number }>(
      "GET",
      "/v1/studio/api/asset_pro/transfers",
      {
        apiKey: shop.apiKey,
      },
    );
    expect(list.data.total_count).toBe(1);

    // Another key is another transfer.
    const next = await f.transfer(shop, f.body("5", to), { idempotencyKey: "withdrawal-2" });
    expect(next.data.id).not.toBe(first.data.id);
  });

  it("enforces the organisation's per-transfer maximum and daily cap", async () => {
    const shop = await f.fundedTenant("100");
    await f.gateway.services.transferLimits.setOrgLimits(shop.orgId, { maxTransfer: "10" });
    const tooBig = await f.transfer(shop, f.body("10.000001"));
    expect(tooBig.status).toBe(403);
    expect(tooBig.code).toBe(4019);
    expect(tooBig.message).toContain("organisation's per-transfer maximum of 10");
    expect((await f.transfer(shop, f.body("10"))).code).toBe(0);

    await f.gateway.services.transferLimits.setOrgLimits(shop.orgId, { dailyCap: "25" });
    expect((await f.transfer(shop, f.body("10"))).code).toBe(0); // 20 of 25 sent today
    const refused = await f.transfer(shop, f.body("5.5"));
    expect(refused.status).toBe(403);
    expect(refused.code).toBe(4020);
    expect(refused.message).toContain("organisation's daily outflow cap of 25");
    expect(refused.data).toMatchObject({
      sent_today: "20",
      remaining_today: "5",
      daily_transfer_cap: "25",
    });
    expect((await f.transfer(shop, f.body("5"))).code).toBe(0);
    // Lifting the limits lets the next one through.
    await f.gateway.services.transferLimits.setOrgLimits(shop.orgId, {
      maxTransfer: null,
      dailyCap: null,
    });
    expect((await f.transfer(shop, f.body("11"))).code).toBe(0);
  });

  it("enforces an API key's own per-transfer maximum and daily cap, across the organisation's keys", async () => {
    const shop = await f.fundedTenant("100");
    const limited = await f.gateway.services.tenancy.createApiKey({
      orgId: shop.orgId,
      name: "ops",
      limits: { maxTransfer: "3", dailyCap: "5" },
    });
    const opts = { apiKey: limited.secret };

    const tooBig = await f.transfer(shop, f.body("3.5"), opts);
    expect(tooBig.status).toBe(403);
    expect(tooBig.code).toBe(4021);
    expect(tooBig.message).toContain("API key's per-transfer maximum of 3");
    expect((await f.transfer(shop, f.body("3"), opts)).code).toBe(0);
    const overCap = await f.transfer(shop, f.body("2.5"), opts);
    expect(overCap.code).toBe(4022);
    expect(overCap.message).toContain("API key's daily outflow cap of 5");
    // The organisation's other key is not bound by this key's limits.
    expect((await f.transfer(shop, f.body("20"))).code).toBe(0);
    expect((await f.transfer(shop, f.body("2"), opts)).code).toBe(0);
  });

  it("validates the request, naming the field", async () => {
    const shop = await f.fundedTenant("10");
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ ...f.body("1"), chain_id: "nope" }, "chain_id", /unknown chain "nope"/],
      [{ ...f.body("1"), chain_id: "arb" }, "chain_id", /no RPC URL/],
      [
        { ...f.body("1"), contract_address: recipient() },
        "contract_address",
        /not a registered token/,
      ],
      [{ ...f.body("1"), contract_address: "0x123" }, "contract_address", /address/],
      [f.body("0"), "amount", /greater than 0/],
      [f.body("-1"), "amount", /decimal/],
      [f.body("1e3"), "amount", /decimal/],
      [f.body("1.0000001"), "amount", /more than 6 decimal places/],
      [{ ...f.body("1"), amount: 1 }, "amount", /must be a string/],
      [{ ...f.body("1"), wallet_address: "0xnothex" }, "wallet_address", /address/],
      [
        { ...f.body("1"), wallet_address: "0x3fE5aC82B997255b8226abb6aEfd91f405fe2e8E" },
        "wallet_address",
        /checksum/,
      ],
      [
        { ...f.body("1"), wallet_address: "0x0000000000000000000000000000000000000000" },
        "wallet_address",
        /zero address/,
      ],
      [{ ...f.body("1"), wallet_address: f.token }, "wallet_address", /token contract itself/],
      [
        { chain_id: CHAIN, contract_address: f.token, wallet_address: recipient() },
        "amount",
        /is required/,
      ],
    ];
    for (const [request, field, message] of cases) {
      const res = await f.transfer(shop, request);
      expect({ request, status: res.status, code: res.code }).toEqual({
        request,
        status: 400,
        code: 4000,
      });
      expect(res.message).toMatch(new RegExp(`^${field}: `));
      expect(res.message).toMatch(message);
      expect(res.data.field).toBe(field);
    }
    const badKey = await f.transfer(shop, f.body("1"), { idempotencyKey: "has space" });
    expect(badKey.code).toBe(4000);
    expect(badKey.data.field).toBe("Idempotency-Key");

    // X-STUDIO-API-KEY alone: no key, a bad key, or a browser's client id are refused.
    expect((await f.call("POST", TRANSFER, { body: f.body("1") })).code).toBe(4002);
    expect(
      (await f.call("POST", TRANSFER, { apiKey: "sg_live_nope", body: f.body("1") })).code,
    ).toBe(4002);
    const browser = await f.call("POST", TRANSFER, {
      body: f.body("1"),
      headers: { "X-Client-ID": shop.clientId, Origin: shop.origin },
    });
    expect([browser.status, browser.code]).toEqual([401, 4002]);
    // Nothing was sent.
    expect(
      await f.chain.publicClient.getTransactionCount({ address: shop.hot, blockTag: "pending" }),
    ).toBe(0);
  });

  it("sends 50 concurrent transfers with consecutive nonces, all confirmed, balances adding up", async () => {
    const shop = await f.fundedTenant("2000", "10");
    const requests = Array.from({ length: 50 }, (_, i) => ({
      to: recipient(),
      amount: `${i + 1}.${String(i).padStart(2, "0")}`,
    }));
    const results = await Promise.all(
      requests.map((r) => f.transfer(shop, f.body(r.amount, r.to))),
    );
    expect(results.map((r) => r.code)).toEqual(requests.map(() => 0));
    const ids = results.map((r) => r.data.id);
    expect(new Set(ids).size).toBe(50);
    expect(new Set(results.map((r) => r.data.tx_hash)).size).toBe(50);
    expect(ids.map((id) => Number(id.split("-")[2])).sort((x, y) => x - y)).toEqual(
      requests.map((_, i) => i + 1),
    );

    const confirmed = await f.mineUntilConfirmed(shop, ids, 120_000);
    expect(confirmed.map((t) => t.nonce).sort((x, y) => (x ?? 0) - (y ?? 0))).toEqual(
      requests.map((_, i) => i),
    );
    expect(await f.chain.publicClient.getTransactionCount({ address: shop.hot })).toBe(50);
    const total = requests.reduce((sum, r) => sum + units(r.amount), 0n);
    for (const r of requests) expect(await f.tokenBalance(r.to)).toBe(units(r.amount));
    expect(await f.tokenBalance(shop.hot)).toBe(units("2000") - total);
  }, 240_000);
});
