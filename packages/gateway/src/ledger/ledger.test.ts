import { sql } from "kysely";
import { type Address, createTestClient, createWalletClient, erc20Abi, parseEther } from "viem";
import { anvil } from "viem/chains";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createTestLogger } from "../testing/test-logger.ts";
import { testTransport } from "../testing/test-transport.ts";
import {
  CHAIN_KEY,
  startTreasuryFixture,
  type TreasuryFixture,
  units,
  WAIT,
} from "../treasury/treasury-fixture.ts";
import { backfillLedger } from "./backfill.ts";

// The ledger as an auditor meets it: after real payments, refunds, a collection with a fee and a
// payout on anvil, every controlled address's balance on chain equals the ledger's, and each
// way of breaking it (a posting outside a money event, a transfer sent by hand) is named.

let f: TreasuryFixture;
const treasury = "0x2222222222222222222222222222222222222222" as Address;
const payee = "0x3333333333333333333333333333333333333333" as Address;

beforeAll(async () => {
  f = await startTreasuryFixture();
}, 180_000);
afterAll(async () => {
  await f?.stop();
});

const reconcile = () => f.gw.services.reconciler.reconcile({ attempts: 20, waitMs: 500 });

async function entriesOf(intentId: string) {
  return f.gw.database.db
    .selectFrom("ledger_entries")
    .select(["kind", "ref"])
    .where("payment_intent_id", "=", intentId)
    .orderBy("id")
    .execute();
}

describe("the ledger", () => {
  it("accounts for a collection with a fee, a refund, a late refund and a payout, and reconciles with the chain", async () => {
    const shop = await f.openShop({ treasury, feeBps: 100 });
    // Paid in full: collected to the treasury, 1 % to the fee wallet.
    const paid = await shop.create("3");
    await f.pay(paid.payment_address, "3");
    // Paid short: refunded.
    const short = await shop.create("5");
    await f.pay(short.payment_address, "1");
    const collected = await shop.waitFor(paid, (d) => d.aggregation_tx_hash !== null, "collection");
    const refunded = await shop.waitFor(
      short,
      (d) => d.status === "insufficient_refunded",
      "the refund",
    );
    // Paid after the deadline: sent back too.
    await f.pay(collected.payment_address, "0.5");
    await shop.waitFor(paid, (d) => d.late_refund_tx_hash !== null, "the late refund");

    // A payout from the organisation's hot wallet, funded by the operator from outside.
    const hot = f.wallets.hotWallet(shop.tenant.orgId).address;
    await f.pay(hot, "4");
    await createTestClient({
      mode: "anvil",
      chain: anvil,
      transport: testTransport(f.chain.rpcUrl),
    }).setBalance({ address: hot, value: parseEther("1") });
    const res = await fetch(`${f.gw.url}/v1/studio/api/asset_pro/transfer`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "X-STUDIO-API-KEY": shop.tenant.apiKey,
        "Idempotency-Key": "ledger-payout-1",
      },
      body: JSON.stringify({
        chain_id: CHAIN_KEY,
        contract_address: f.chain.tokenAddress,
        amount: "1.5",
        wallet_address: payee,
      }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const payout = await vi.waitFor(async () => {
      const entry = await f.gw.database.db
        .selectFrom("ledger_entries")
        .select("block_number")
        .where("kind", "=", "payout")
        .where("org_id", "=", shop.tenant.orgId)
        .executeTakeFirst();
      if (!entry) throw new Error("waiting for the payout's confirmation");
      return entry;
    }, WAIT);

    expect((await entriesOf(paid.payment_intent_id)).map((e) => e.kind)).toEqual(
      expect.arrayContaining(["payment", "gas_topup", "collection", "fee", "refund"]),
    );
    expect((await entriesOf(refunded.payment_intent_id)).map((e) => e.kind)).toEqual(
      expect.arrayContaining(["payment", "gas_topup", "refund"]),
    );

    // Reconciled at the watcher's last confirmed block: once it has passed the payout.
    const report = await vi.waitFor(async () => {
      const r = await reconcile();
      if (BigInt(r.chains[0]?.block ?? 0) < BigInt(payout.block_number))
        throw new Error("waiting for the watcher to pass the payout's block");
      return r;
    }, WAIT);
    expect(report.unbalanced_entries).toEqual([]);
    expect(
      report.accounts.filter((a) => a.compared && a.difference !== "0"),
      JSON.stringify(report, null, 2),
    ).toEqual([]);
    expect(report.ok).toBe(true);
    const byIntent = new Map(report.intents.map((i) => [i.payment_intent_id, i]));
    // 3 + 0.5 late received; 2.97 collected, 0.03 fee, 0.5 refunded, nothing left.
    expect(byIntent.get(paid.payment_intent_id)).toMatchObject({
      received: units("3.5").toString(),
      collected: units("2.97").toString(),
      fee: units("0.03").toString(),
      refunded: units("0.5").toString(),
      held: "0",
      problems: [],
    });
    expect(byIntent.get(short.payment_intent_id)).toMatchObject({
      received: units("1").toString(),
      refunded: units("1").toString(),
      held: "0",
    });
    const hotTokens = report.accounts.find(
      (a) => a.kind === "hot" && a.address === hot.toLowerCase() && a.asset !== "native",
    );
    expect(hotTokens).toMatchObject({ ledger: units("2.5").toString(), difference: "0" });
  });

  it("refuses to change or delete what it wrote", async () => {
    const db = f.gw.database.db;
    await expect(sql`update ledger_postings set amount = amount + 1`.execute(db)).rejects.toThrow(
      /append-only/,
    );
    await expect(sql`delete from ledger_entries`.execute(db)).rejects.toThrow(/append-only/);
  });

  it("names a deposit address that sent tokens the gateway did not send", async () => {
    // No treasury address: the collection waits, and the tokens sit on the deposit address.
    const shop = await f.openShop();
    const intent = await shop.create("2");
    await f.pay(intent.payment_address, "2");
    await shop.waitFor(intent, (d) => d.status === "success", "success");
    const { deposit_index } = await f.gw.database.db
      .selectFrom("payment_intents")
      .select("deposit_index")
      .where("id", "=", intent.payment_intent_id)
      .executeTakeFirstOrThrow();
    const transport = testTransport(f.chain.rpcUrl);
    await createTestClient({ mode: "anvil", chain: anvil, transport }).setBalance({
      address: intent.payment_address,
      value: parseEther("1"),
    });
    // A "refund" sent by hand with the deposit address's key, outside the gateway.
    const key = f.wallets.depositAccount(deposit_index);
    const hash = await createWalletClient({ account: key, chain: anvil, transport }).writeContract({
      address: f.chain.tokenAddress,
      abi: erc20Abi,
      functionName: "transfer",
      args: [payee, units("2")],
    });
    await f.publicClient.waitForTransactionReceipt({ hash });

    const deposit = await vi.waitFor(async () => {
      const report = await f.gw.services.reconciler.reconcile({ attempts: 1 });
      const account = report.accounts.find(
        (a) => a.payment_intent_id === intent.payment_intent_id && a.asset !== "native",
      );
      expect(account?.onchain).toBe("0");
      expect(report.ok).toBe(false);
      return account;
    }, WAIT);
    expect(deposit).toMatchObject({
      kind: "deposit",
      address: intent.payment_address.toLowerCase(),
      ledger: units("2").toString(),
      difference: (-units("2")).toString(),
    });
    expect(deposit?.entries?.map((e) => e.kind)).toEqual(["payment"]);
  });

  it("names a posting written outside a money event", async () => {
    const shop = await f.openShop({ treasury });
    const intent = await shop.create("2");
    await f.pay(intent.payment_address, "2");
    await shop.waitFor(intent, (d) => d.aggregation_tx_hash !== null, "collection");
    // Sent is not yet accounted: wait until the watcher's confirmed block has the collection
    // (the deposit address empty on chain and in the ledger) before writing beside it.
    await vi.waitFor(async () => {
      const report = await f.gw.services.reconciler.reconcile({ attempts: 1 });
      const account = report.accounts.find(
        (a) => a.payment_intent_id === intent.payment_intent_id && a.asset !== "native",
      );
      expect(account).toMatchObject({ ledger: "0", onchain: "0" });
    }, WAIT);
    const db = f.gw.database.db;
    const account = await db
      .selectFrom("ledger_accounts")
      .select("id")
      .where("payment_intent_id", "=", intent.payment_intent_id)
      .where("asset", "!=", "native")
      .executeTakeFirstOrThrow();
    const block = await db
      .selectFrom("ledger_entries")
      .select("block_number")
      .where("payment_intent_id", "=", intent.payment_intent_id)
      .executeTakeFirstOrThrow();
    const entry = await db
      .insertInto("ledger_entries")
      .values({
        ref: "by-hand:1",
        kind: "by_hand",
        chain_id: CHAIN_KEY,
        block_number: block.block_number,
        memo: "written outside any money event",
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    await db
      .insertInto("ledger_postings")
      .values({ entry_id: String(entry.id), account_id: String(account.id), amount: units("1") })
      .execute();

    const report = await f.gw.services.reconciler.reconcile({ attempts: 1 });
    expect(report.ok).toBe(false);
    expect(report.unbalanced_entries).toEqual([
      expect.objectContaining({ ref: "by-hand:1", sum: units("1").toString() }),
    ]);
    const deposit = report.accounts.find(
      (a) => a.payment_intent_id === intent.payment_intent_id && a.asset !== "native",
    );
    expect(deposit).toMatchObject({ ledger: units("1").toString(), onchain: "0" });
    expect(deposit?.entries?.[0]).toMatchObject({ ref: "by-hand:1" });
    expect(
      report.intents.find((i) => i.payment_intent_id === intent.payment_intent_id)?.problems,
    ).toEqual(expect.arrayContaining([expect.stringMatching(/other entries/)]));
  });

  it("writes, once, the entries of payments recorded before the ledger existed", async () => {
    const shop = await f.openShop();
    const intent = await shop.create("1");
    const db = f.gw.database.db;
    const txHash = `0x${"ab".repeat(32)}`;
    const blockHash = `0x${"cd".repeat(32)}`;
    // A payment an older gateway confirmed: a transfers row, no ledger entry.
    await db
      .insertInto("transfers")
      .values({
        chain_id: CHAIN_KEY,
        tx_hash: txHash,
        log_index: 7,
        token_address: f.chain.tokenAddress,
        from_address: payee,
        to_address: intent.payment_address,
        amount: units("1"),
        block_number: 1,
        block_hash: blockHash,
        block_timestamp: new Date(),
        state: "confirmed",
        payment_intent_id: intent.payment_intent_id,
      })
      .execute();
    const ref = `payment:${CHAIN_KEY}:${txHash}:7:${blockHash}`;
    const count = async () =>
      (await db.selectFrom("ledger_entries").select("id").where("ref", "=", ref).execute()).length;
    const run = async () => {
      await db.updateTable("ledger_backfill").set({ done_at: null }).execute();
      await backfillLedger({ db, book: f.gw.services.addressBook, log: createTestLogger() });
    };
    await run();
    expect(await count()).toBe(1);
    expect(
      (await db.selectFrom("ledger_backfill").select("done_at").executeTakeFirstOrThrow()).done_at,
    ).not.toBeNull();
    await run();
    expect(await count()).toBe(1);
  });
});
