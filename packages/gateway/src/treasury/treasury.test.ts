import { mnemonicToSeedSync } from "@scure/bip39";
import { createTestClient, getAddress, type Hex, parseEther } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { anvil } from "viem/chains";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createWallets } from "../chain/wallets.ts";
import {
  type RestartableGateway,
  startRestartableGateway,
} from "../testing/restartable-gateway.ts";
import { TEST_MNEMONIC } from "../testing/test-gateway.ts";
import { testTransport } from "../testing/test-transport.ts";
import {
  CHAIN_KEY,
  type Intent,
  startTreasuryFixture,
  type TreasuryFixture,
  TTL_SECONDS,
  units,
  WAIT,
} from "./treasury-fixture.ts";

// Refunds, collections and gas top-ups end to end, as a merchant and a payer can check them
// (treasury-fixture.ts).

let f: TreasuryFixture;
beforeAll(async () => {
  f = await startTreasuryFixture();
});
afterAll(() => f?.stop());

describe("refunds", () => {
  it("an underpayment goes back to its payer; the intent becomes insufficient_refunded with a callback", async () => {
    const shop = await f.openShop();
    const intent = await shop.create("10");
    const before = await f.tokenBalance(f.chain.payerAddress);
    await f.pay(intent.payment_address, "3");
    await f.pay(intent.payment_address, "1");
    expect(await f.tokenBalance(f.chain.payerAddress)).toBe(before - units("4"));

    const done = await shop.waitFor(intent, (d) => d.status === "insufficient_refunded", "refund");
    expect(done).toMatchObject({ received_amount: "4", refund_amount: "4" });
    // Both payments came back in full, on chain, from the deposit address; the gas was ours.
    expect(await f.tokenBalance(f.chain.payerAddress)).toBe(before);
    expect(await f.tokenBalance(intent.payment_address)).toBe(0n);
    const sent = await f.sentFrom(intent.payment_address);
    expect(sent.map((s) => [s.to, s.value])).toEqual([
      [getAddress(f.chain.payerAddress), units("3")],
      [getAddress(f.chain.payerAddress), units("1")],
    ]);
    // refund_tx_hash is the last refund.
    expect(done.refund_tx_hash).toBe(sent[1]?.tx);
    expect(await f.transferOf(done.refund_tx_hash as Hex)).toEqual([
      { from: intent.payment_address, to: getAddress(f.chain.payerAddress), value: units("1") },
    ]);

    expect((await f.history(intent)).map((h) => h.to_status)).toEqual([
      "pending",
      "insufficient_not_refunded",
      "insufficient_refunded",
    ]);
    const callback = await vi.waitFor(() => {
      const found = f.receiver.received.find(
        (r) =>
          r.body.payment_intent_id === intent.payment_intent_id &&
          r.body.status === "insufficient_refunded",
      );
      if (found) return found;
      throw new Error(`no insufficient_refunded callback among ${f.receiver.received.length}`);
    }, WAIT);
    expect(callback.body).toMatchObject({
      refund_amount: "4",
      refund_tx_hash: done.refund_tx_hash,
    });

    // Each refund was paid for by a top-up from the gas wallet, and both costs are recorded.
    const paid = await f.topups(intent.payment_address);
    expect(paid).toHaveLength(2);
    for (const t of paid) {
      expect(BigInt(t.amount)).toBeGreaterThan(0n);
      expect(BigInt(t.topup_cost ?? 0)).toBeGreaterThan(0n);
      expect(BigInt(t.transfer_cost ?? 0)).toBeGreaterThan(0n);
      expect(t.funded_chain_tx_id).not.toBeNull();
    }
  });

  it("a payment in the second token (USDC) is refunded in USDC", async () => {
    const shop = await f.openShop();
    await f.gw.services.orgSettings.update(
      shop.tenant.orgId,
      { accepted_assets: [{ chain_id: CHAIN_KEY, symbol: "USDC" }] },
      { kind: "cli" },
    );
    const res = await fetch(`${f.gw.url}/v1/studio/api/payment/intent`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-STUDIO-API-KEY": shop.tenant.apiKey },
      body: JSON.stringify({ fiat_amount: "10", fiat_currency: "USD", symbol: "USDC" }),
    });
    const intent = ((await res.json()) as { data: Intent }).data;
    expect(intent).toMatchObject({ symbol: "USDC", token_address: f.usdc });
    const usdcBefore = await f.tokenBalance(f.chain.payerAddress, f.usdc);
    await f.pay(intent.payment_address, "1", f.usdc);
    // Short (or, on a slow machine, after the 5 s deadline): refunded either way.
    const done = await shop.waitFor(
      intent,
      (d) => d.refund_amount === "1" || d.late_refund_amount === "1",
      "the USDC refund",
    );
    const refund = (done.refund_tx_hash ?? done.late_refund_tx_hash) as Hex;
    expect(await f.transferOf(refund)).toEqual([
      { from: intent.payment_address, to: getAddress(f.chain.payerAddress), value: units("1") },
    ]);
    const receipt = await f.publicClient.getTransactionReceipt({ hash: refund });
    expect(getAddress(receipt.logs[0]?.address as Hex)).toBe(f.usdc);
    expect(await f.tokenBalance(f.chain.payerAddress, f.usdc)).toBe(usdcBefore);
    expect(await f.tokenBalance(intent.payment_address, f.usdc)).toBe(0n);
  });

  it("a payment after the deadline is refunded and shown as late_refund_amount; the status stays", async () => {
    const shop = await f.openShop();
    const intent = await shop.create("10");
    await shop.waitFor(intent, (d) => d.status === "expired", "expiry");
    const before = await f.tokenBalance(f.chain.payerAddress);
    await f.pay(intent.payment_address, "2");

    const done = await shop.waitFor(intent, (d) => d.late_refund_amount !== null, "late refund");
    expect(done).toMatchObject({
      status: "expired",
      late_amount: "2",
      late_refund_amount: "2",
      refund_amount: null,
    });
    expect(await f.tokenBalance(f.chain.payerAddress)).toBe(before);
    expect(await f.transferOf(done.late_refund_tx_hash as Hex)).toEqual([
      { from: intent.payment_address, to: getAddress(f.chain.payerAddress), value: units("2") },
    ]);
    const rows = await f.history(intent);
    expect(rows.at(-1)).toMatchObject({ from_status: "expired", to_status: "expired" });
    expect(rows.at(-1)?.cause).toContain(`late payment refunded: 2 USDT`);
  });

  it("a restart after the refund was submitted sends nothing twice", async () => {
    const shop = await f.openShop();
    const intent = await shop.create("10");
    await f.pay(intent.payment_address, "1.5");
    const before = await f.tokenBalance(f.chain.payerAddress);
    await expect
      .poll(
        async () => {
          const row = await f.gw.database.db
            .selectFrom("refunds")
            .select("chain_tx_id")
            .where("payment_intent_id", "=", intent.payment_intent_id)
            .executeTakeFirst();
          return row?.chain_tx_id ?? null;
        },
        { ...WAIT, message: "the refund to be submitted" },
      )
      .not.toBeNull();
    await f.gw.stop();
    // The chain moves on while the gateway is down.
    const down = await f.publicClient.getBlockNumber({ cacheTime: 0 });
    await expect
      .poll(() => f.publicClient.getBlockNumber({ cacheTime: 0 }), WAIT)
      .toBeGreaterThanOrEqual(down + 3n);
    await f.gw.start();

    const done = await shop.waitFor(intent, (d) => d.status === "insufficient_refunded", "refund");
    expect(done.refund_amount).toBe("1.5");
    expect(await f.tokenBalance(f.chain.payerAddress)).toBe(before + units("1.5"));
    expect(await f.sentFrom(intent.payment_address)).toHaveLength(1);
    const txs = await f.gw.database.db
      .selectFrom("chain_txs")
      .select(["purpose", "idempotency_key"])
      .where("sender", "=", intent.payment_address)
      .execute();
    expect(txs.map((t) => t.purpose)).toEqual(["refund"]);
    expect(await f.topups(intent.payment_address)).toHaveLength(1);
  });
});

describe("collection into the treasury", () => {
  it("a success is collected: the treasury gets aggregated_amount, the fee address the fee", async () => {
    const treasury = privateKeyToAccount(generatePrivateKey()).address;
    const shop = await f.openShop({ treasury, feeBps: 100 });
    const feeAddress = f.wallets.feeWallet().address;
    const feeBefore = await f.tokenBalance(feeAddress);
    const intent = await shop.create("2.53");
    await f.pay(intent.payment_address, "2.53");
    await shop.waitFor(intent, (d) => d.status === "success", "success");

    const done = await shop.waitFor(intent, (d) => d.aggregated_amount !== null, "collection");
    expect(done).toMatchObject({ received_amount: "2.53", aggregated_amount: "2.5" });
    expect(await f.tokenBalance(treasury)).toBe(units("2.5"));
    expect((await f.tokenBalance(feeAddress)) - feeBefore).toBe(units("0.03"));
    expect(await f.tokenBalance(intent.payment_address)).toBe(0n);
    expect(await f.transferOf(done.aggregation_tx_hash as Hex)).toEqual([
      { from: intent.payment_address, to: treasury, value: units("2.5") },
    ]);
    const costs = await f.topups(intent.payment_address);
    expect(costs).toHaveLength(2);
    expect(costs.every((t) => t.topup_cost !== null && t.transfer_cost !== null)).toBe(true);
  });

  it("an organisation without a treasury is skipped, and collected once it sets one", async () => {
    const shop = await f.openShop();
    const intent = await shop.create("3");
    await f.pay(intent.payment_address, "3");
    await shop.waitFor(intent, (d) => d.status === "success", "success");
    const waiting = await vi.waitFor(async () => {
      const row = await f.gw.database.db
        .selectFrom("collections")
        .select(["state", "error"])
        .where("payment_intent_id", "=", intent.payment_intent_id)
        .executeTakeFirst();
      expect(row?.state, "the collection to wait for a treasury").toBe("waiting_treasury");
      return row;
    }, WAIT);
    expect(waiting?.error).toContain(`org set-treasury ${shop.tenant.orgId}`);
    expect((await shop.get(intent.payment_intent_id)).aggregated_amount).toBeNull();

    const treasury = privateKeyToAccount(generatePrivateKey()).address;
    await f.gw.services.treasurySettings.setTreasury(shop.tenant.orgId, treasury.toLowerCase());
    const done = await shop.waitFor(intent, (d) => d.aggregated_amount !== null, "collection");
    expect(done.aggregated_amount).toBe("3");
    expect(await f.tokenBalance(treasury)).toBe(units("3"));
  });
});

describe("an operator who has not funded the gas wallet", () => {
  let empty: RestartableGateway;
  const emptyWallets = createWallets(mnemonicToSeedSync(TEST_MNEMONIC, "treasury-empty"));
  beforeAll(async () => {
    empty = await startRestartableGateway({
      seedPassphrase: "treasury-empty",
      extraChains: [f.local],
      env: { PAYMENT_TTL_SECONDS: String(TTL_SECONDS), TREASURY_INTERVAL_MS: "100" },
      settleIntervalMs: 100,
    });
  });
  afterAll(() => empty?.close());

  it("gets a readable reason, nothing is sent, and the refund goes out once it is funded", async () => {
    const tenant = await empty.createTenant({ chain: CHAIN_KEY });
    const headers = { "Content-Type": "application/json", "X-STUDIO-API-KEY": tenant.apiKey };
    const res = await fetch(`${empty.url}/v1/studio/api/payment/intent`, {
      method: "POST",
      headers,
      body: JSON.stringify({ fiat_amount: "10", fiat_currency: "USD" }),
    });
    const intent = ((await res.json()) as { data: Intent }).data;
    await f.pay(intent.payment_address, "1");
    const reason = await vi.waitFor(async () => {
      const row = await empty.database.db
        .selectFrom("treasury_work")
        .select("last_error")
        .where("payment_intent_id", "=", intent.payment_intent_id)
        .executeTakeFirst();
      if (row?.last_error) return row.last_error;
      throw new Error(`the treasury has not reported the empty gas wallet: ${JSON.stringify(row)}`);
    }, WAIT);
    expect(reason).toContain(`gas wallet ${emptyWallets.gasWallet().address} holds 0 native coin`);
    expect(reason).toContain("fund the gas wallet");
    expect(await empty.database.db.selectFrom("chain_txs").select("id").execute()).toEqual([]);

    await createTestClient({
      mode: "anvil",
      chain: anvil,
      transport: testTransport(f.chain.rpcUrl),
    }).setBalance({ address: emptyWallets.gasWallet().address, value: parseEther("1") });
    await expect
      .poll(
        async () => {
          const r = await fetch(
            `${empty.url}/v1/studio/api/payment/intent/${intent.payment_intent_id}`,
            { headers },
          );
          return ((await r.json()) as { data: Intent }).data.status;
        },
        { ...WAIT, message: "the refund after funding" },
      )
      .toBe("insufficient_refunded");
    expect(await f.sentFrom(intent.payment_address)).toHaveLength(1);
  });
});
