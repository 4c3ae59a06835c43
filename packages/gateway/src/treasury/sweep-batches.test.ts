import { depositSweeperAbi } from "@stablegate/contracts";
import {
  type Address,
  createTestClient,
  createWalletClient,
  erc20Abi,
  getAddress,
  type Hex,
  parseEther,
  parseEventLogs,
} from "viem";
import { anvil } from "viem/chains";
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from "vitest";
import { testTransport } from "../testing/test-transport.ts";
import {
  CHAIN_KEY,
  type Intent,
  startTreasuryFixture,
  type TreasuryFixture,
  units,
  WAIT,
} from "./treasury-fixture.ts";

// The EIP-7702 strategy end to end (sweep-deposit-accounts.ts): refunds and collections leave
// their deposit addresses in batches, one sweepMany transaction from the gas wallet each, and no
// deposit address ever holds native coin. The top-up strategy keeps treasury.test.ts.

const BATCH = 50;
let f: TreasuryFixture;
beforeAll(async () => {
  f = await startTreasuryFixture({
    gasStrategy: "eip7702",
    env: {
      // Long enough to create and pay 50 intents before their deadlines.
      PAYMENT_TTL_SECONDS: "10",
      SWEEP_BATCH_SIZE: String(BATCH),
      // The tests that need several sweeps in one batch pause the batcher until all of them
      // wait, so a short wait only keeps a single sweep from idling (this file's time).
      SWEEP_MAX_WAIT_MS: "1000",
    },
  });
});
afterAll(() => f?.stop());

/** The one hash that moved an intent's money out, whichever kind of move it was. */
const movedBy = (d: Intent) =>
  (d.aggregation_tx_hash ?? d.refund_tx_hash ?? d.late_refund_tx_hash) as Hex | null;

async function sweepResults(hash: Hex) {
  const receipt = await f.publicClient.getTransactionReceipt({ hash });
  expect(receipt.status).toBe("success");
  return parseEventLogs({ abi: depositSweeperAbi, logs: receipt.logs, eventName: "SweepResult" });
}

/** Resolves once every one of these deposit addresses has a sweep waiting for the batcher. */
async function waitForOpenSweeps(addresses: Address[]) {
  await vi.waitFor(async () => {
    const open = await f.gw.database.db
      .selectFrom("sweeps")
      .select("deposit_address")
      .where("state", "=", "open")
      .where("deposit_address", "in", addresses)
      .execute();
    if (open.length < addresses.length) throw new Error(`${open.length} sweeps open`);
  }, WAIT);
}

/**
 * Stops the batcher until resume() is called, and resumes it when the test ends however it ends:
 * a failed test must not leave the tests after it waiting for a batcher that never runs.
 */
async function pauseBatcher(): Promise<() => void> {
  await f.gw.services.sweeps.stop();
  let resumed = false;
  const resume = () => {
    if (resumed) return;
    resumed = true;
    f.gw.services.sweeps.start([CHAIN_KEY]);
  };
  onTestFinished(resume);
  return resume;
}

/** The payer pays each (address, amount) without waiting in between; resolves once all are mined. */
async function payAll(payments: Array<[Address, string]>) {
  const hashes: Hex[] = [];
  for (const [to, amount] of payments) {
    hashes.push(
      await f.payerWallet.writeContract({
        address: f.chain.tokenAddress,
        abi: erc20Abi,
        functionName: "transfer",
        args: [to, units(amount)],
      }),
    );
  }
  for (const hash of hashes) {
    const receipt = await f.publicClient.waitForTransactionReceipt({ hash });
    expect(receipt.status).toBe("success");
  }
}

describe("batch sweeps (GAS_STRATEGY eip7702)", () => {
  let collectedWithFee: Intent | undefined;

  // Fifty intents created, paid, settled and swept: minutes on a busy 2-core machine.
  const BIG = { timeout: 180_000, interval: 500 };
  it(`a batch of ${BATCH} collections and refunds goes out in one transaction, gasless for the deposit addresses`, {
    timeout: 420_000,
  }, async () => {
    const treasury = getAddress("0x00000000000000000000000000000000000a11ce");
    const shop = await f.openShop({ treasury, feeBps: 0 });
    // The batcher paused until all fifty wait, so a slow machine's spread of deadlines cannot
    // split them by SWEEP_MAX_WAIT_MS: this is about what one batch does.
    const resumeBatcher = await pauseBatcher();
    const intents: Intent[] = [];
    for (let i = 0; i < BATCH; i++) intents.push(await shop.create("10"));
    // Every other one underpaid (refunded), the rest paid in full (collected).
    await payAll(intents.map((it, i) => [it.payment_address, i % 2 === 0 ? "10" : "3"]));
    const payerBefore = await f.tokenBalance(f.chain.payerAddress);

    await vi.waitFor(async () => {
      const open = await f.gw.database.db
        .selectFrom("sweeps")
        .select("id")
        .where("state", "=", "open")
        .execute();
      if (open.length < BATCH) throw new Error(`${open.length} sweeps open`);
    }, BIG);
    resumeBatcher();
    // One query for all of them: fifty pollers at once would starve the gateway under test.
    await vi.waitFor(async () => {
      const open = await f.gw.database.db
        .selectFrom("payment_intents")
        .select("id")
        .where(
          "id",
          "in",
          intents.map((it) => it.payment_intent_id),
        )
        .where("aggregation_tx_hash", "is", null)
        .where("refund_tx_hash", "is", null)
        .where("late_refund_tx_hash", "is", null)
        .execute();
      if (open.length > 0) throw new Error(`${open.length} intents not swept yet`);
    }, BIG);
    const done: Intent[] = [];
    for (const it of intents) done.push(await shop.get(it.payment_intent_id));
    const hashes = new Set(done.map(movedBy));
    expect(hashes.size, `${[...hashes].join(", ")}`).toBe(1);
    const hash = [...hashes][0] as Hex;
    const tx = await f.publicClient.getTransaction({ hash });
    expect(tx.type).toBe("eip7702");
    expect(getAddress(tx.from)).toBe(f.wallets.gasWallet().address);
    // One authorization per deposit address, none delegated before.
    expect(tx.authorizationList).toHaveLength(BATCH);
    for (const a of tx.authorizationList ?? []) expect(a.chainId).toBe(f.chain.evmChainId);
    const results = await sweepResults(hash);
    expect(results.map((r) => r.args.ok)).toEqual(Array(BATCH).fill(true));

    let refunded = 0n;
    for (const [i, d] of done.entries()) {
      const paid = i % 2 === 0 ? "10" : "3";
      // An underpayment is refunded; a full one collected (or refunded, had it landed late).
      if (d.aggregation_tx_hash) {
        expect(paid).toBe("10");
        expect(d.aggregated_amount).toBe("10");
      } else refunded += units(paid);
      expect(await f.tokenBalance(d.payment_address)).toBe(0n);
      // Nothing to top up, nothing left behind.
      expect(await f.publicClient.getBalance({ address: d.payment_address })).toBe(0n);
    }
    expect(await f.tokenBalance(f.chain.payerAddress)).toBe(payerBefore + refunded);
    expect(refunded).toBeLessThan(units("10") * BigInt(BATCH));

    // One batch transaction, whose gas the gas wallet paid and the ledger holds.
    const batches = await f.gw.database.db
      .selectFrom("chain_txs")
      .select(["tx_hash", "gas_used"])
      .where("purpose", "=", "sweep_batch")
      .execute();
    expect(batches.map((b) => b.tx_hash)).toEqual([hash]);
    const shares = await f.gw.database.db
      .selectFrom("sweeps")
      .select("gas_cost")
      .where("state", "=", "confirmed")
      .execute();
    expect(shares).toHaveLength(BATCH);
    for (const s of shares) expect(BigInt(s.gas_cost ?? 0)).toBeGreaterThan(0n);
    const report = await vi.waitFor(async () => {
      const r = await f.gw.services.reconciler.reconcile({ attempts: 20, waitMs: 500 });
      if (!r.ok)
        throw new Error(JSON.stringify(r, (_k, v) => (typeof v === "bigint" ? String(v) : v), 2));
      return r;
    }, WAIT);
    expect(report.ok).toBe(true);
  });

  it("a collection with a fee goes out as one sweep: the treasury's and the fee's transfers in one call", async () => {
    const treasury = getAddress("0x00000000000000000000000000000000000b0b00");
    const shop = await f.openShop({ treasury, feeBps: 100 });
    const feeAddress = f.wallets.feeWallet().address;
    const intent = await shop.create("2.53");
    await f.pay(intent.payment_address, "2.53");
    const done = await shop.waitFor(intent, (d) => d.aggregated_amount !== null, "collection");
    expect(done.aggregated_amount).toBe("2.5");
    const hash = done.aggregation_tx_hash as Hex;
    // Both legs were asked for at once, so they rode the same batch and the same Sweep.
    const legs = await f.gw.database.db
      .selectFrom("sweeps")
      .select(["idempotency_key", "batch_id", "batch_index", "state"])
      .where("deposit_address", "=", intent.payment_address)
      .orderBy("idempotency_key")
      .execute();
    expect(legs.map((l) => [l.idempotency_key, l.state])).toEqual([
      [`collect-fee:${intent.payment_intent_id}`, "confirmed"],
      [`collect:${intent.payment_intent_id}`, "confirmed"],
    ]);
    expect(new Set(legs.map((l) => `${l.batch_id}/${l.batch_index}`)).size).toBe(1);
    expect((await sweepResults(hash)).map((r) => [r.args.account, r.args.ok])).toEqual([
      [intent.payment_address, true],
    ]);
    expect(await f.transferOf(hash)).toEqual([
      { from: intent.payment_address, to: treasury, value: units("2.5") },
      { from: intent.payment_address, to: feeAddress, value: units("0.03") },
    ]);
    expect(await f.tokenBalance(intent.payment_address)).toBe(0n);
    collectedWithFee = done;
  });

  it("a deposit address paid again after it was swept is swept again without a new authorization", async () => {
    // The fee test's intent: collected whatever the machine's speed (of the batch's fifty, a
    // slow machine may pay every one after its deadline, and all are refunded).
    expect(collectedWithFee, "the fee test collected its intent").toBeDefined();
    const intent = collectedWithFee as Intent;
    await f.pay(intent.payment_address, "2");
    const done = await vi.waitFor(async () => {
      const row = await f.gw.database.db
        .selectFrom("payment_intents")
        .select("late_refund_tx_hash")
        .where("id", "=", intent.payment_intent_id)
        .executeTakeFirstOrThrow();
      if (!row.late_refund_tx_hash) throw new Error("no late refund yet");
      return row.late_refund_tx_hash as Hex;
    }, WAIT);
    const tx = await f.publicClient.getTransaction({ hash: done });
    // Already delegated: a plain EIP-1559 call to the sweeper, no authorization at all.
    expect(tx.type).toBe("eip1559");
    expect((await sweepResults(done)).map((r) => [r.args.account, r.args.ok])).toEqual([
      [intent.payment_address, true],
    ]);
    expect(await f.transferOf(done)).toEqual([
      { from: intent.payment_address, to: getAddress(f.chain.payerAddress), value: units("2") },
    ]);
    expect(await f.publicClient.getBalance({ address: intent.payment_address })).toBe(0n);
  });

  it("one address whose token transfer fails does not sink the others: its refund fails alone", async () => {
    const shop = await f.openShop();
    const intents = [await shop.create("10"), await shop.create("10"), await shop.create("10")];
    // The batcher paused until all three refunds wait, so they share a batch however far apart
    // a slow machine spreads their deadlines.
    const resumeBatcher = await pauseBatcher();
    await payAll(intents.map((it) => [it.payment_address, "4"]));
    // The first deposit address's tokens leave before its refund can: its own key sends them
    // elsewhere (it needs coin for that, which the gateway never gives it).
    const bad = intents[0] as Intent;
    const account = f.wallets.depositAccount(
      Number(
        (
          await f.gw.database.db
            .selectFrom("payment_intents")
            .select("deposit_index")
            .where("id", "=", bad.payment_intent_id)
            .executeTakeFirstOrThrow()
        ).deposit_index,
      ),
    );
    const transport = testTransport(f.chain.rpcUrl);
    await createTestClient({ mode: "anvil", chain: anvil, transport }).setBalance({
      address: account.address,
      value: parseEther("1"),
    });
    const drained = await createWalletClient({ account, chain: anvil, transport }).writeContract({
      address: f.chain.tokenAddress,
      abi: erc20Abi,
      functionName: "transfer",
      args: ["0x000000000000000000000000000000000000dEaD", units("4")],
    });
    await f.publicClient.waitForTransactionReceipt({ hash: drained });
    await waitForOpenSweeps(intents.map((it) => it.payment_address));
    resumeBatcher();

    const good = await Promise.all(
      intents
        .slice(1)
        .map((it) => shop.waitFor(it, (d) => d.status === "insufficient_refunded", "refund")),
    );
    const failed = await vi.waitFor(async () => {
      const row = await f.gw.database.db
        .selectFrom("refunds")
        .leftJoin("chain_txs", "chain_txs.id", "refunds.chain_tx_id")
        .select(["refunds.state", "refunds.error", "chain_txs.tx_hash"])
        .where("payment_intent_id", "=", bad.payment_intent_id)
        .executeTakeFirst();
      if (row?.state !== "failed") throw new Error(`refund ${row?.state}`);
      return row;
    }, WAIT);
    // The same batch: the others went through, this one is failed with the sweeper's reason.
    expect(new Set(good.map((d) => d.refund_tx_hash))).toEqual(new Set([failed.tx_hash]));
    expect(failed.error).toContain("TransferReverted");
    const results = await sweepResults(failed.tx_hash as Hex);
    const byAccount = Object.fromEntries(results.map((r) => [r.args.account, r.args.ok]));
    expect(byAccount).toEqual({
      [bad.payment_address]: false,
      [intents[1]?.payment_address as Address]: true,
      [intents[2]?.payment_address as Address]: true,
    });
    // The intent is left as a failed refund is today: not refunded, for a person to look at.
    expect((await shop.get(bad.payment_intent_id)).status).toBe("insufficient_not_refunded");
    for (const d of good) expect(await f.tokenBalance(d.payment_address)).toBe(0n);
  });
  it("an unfunded gas wallet: a readable reason for each member, nothing sent, the batch goes out once funded", async () => {
    const test = createTestClient({
      mode: "anvil",
      chain: anvil,
      transport: testTransport(f.chain.rpcUrl),
    });
    const gasWallet = f.wallets.gasWallet().address;
    // The sweeper is deployed at start, paid by the gas wallet while it still had coin.
    await vi.waitFor(async () => {
      const code = await f.publicClient.getCode({ address: f.gw.services.sweeps.sweeperAddress() });
      if (!code || code === "0x") throw new Error("sweeper not deployed yet");
    }, WAIT);
    const funded = await f.publicClient.getBalance({ address: gasWallet });
    await test.setBalance({ address: gasWallet, value: 0n });
    const sent = async () =>
      (
        await f.gw.database.db
          .selectFrom("chain_txs")
          .select("id")
          .where("purpose", "=", "sweep_batch")
          .execute()
      ).length;
    const before = await sent();
    const shop = await f.openShop();
    const intent = await shop.create("10");
    await f.pay(intent.payment_address, "1");
    const reason = await vi.waitFor(async () => {
      const row = await f.gw.database.db
        .selectFrom("treasury_work")
        .select("last_error")
        .where("payment_intent_id", "=", intent.payment_intent_id)
        .executeTakeFirst();
      if (row?.last_error) return row.last_error;
      throw new Error(`the treasury has not reported the empty gas wallet: ${JSON.stringify(row)}`);
    }, WAIT);
    expect(reason).toContain(`gas wallet ${gasWallet} holds 0 native coin on local`);
    expect(reason).toContain("fund the gas wallet");
    expect(await sent()).toBe(before);

    await test.setBalance({ address: gasWallet, value: funded });
    const done = await shop.waitFor(
      intent,
      (d) => d.status === "insufficient_refunded",
      "the refund after funding",
    );
    expect(await f.transferOf(done.refund_tx_hash as Hex)).toEqual([
      { from: intent.payment_address, to: getAddress(f.chain.payerAddress), value: units("1") },
    ]);
    expect(await sent()).toBe(before + 1);
  });

  it("a refund queued as a sweep stays one after the chain is switched to top-ups", async () => {
    const shop = await f.openShop();
    const intent = await shop.create("10");
    // The batcher paused: the sweep is written, not sent, when the operator switches strategy.
    await f.gw.services.sweeps.stop();
    await f.pay(intent.payment_address, "1");
    await vi.waitFor(async () => {
      const sweep = await f.gw.database.db
        .selectFrom("sweeps")
        .select("state")
        .where("deposit_address", "=", intent.payment_address)
        .executeTakeFirst();
      if (sweep?.state !== "open") throw new Error(`sweep: ${JSON.stringify(sweep)}`);
    }, WAIT);
    await f.gw.stop();
    f.local.gasStrategy = "topup";
    try {
      await f.gw.start();
      const done = await shop.waitFor(
        intent,
        (d) => d.status === "insufficient_refunded",
        "the refund after the switch",
      );
      const tx = await f.publicClient.getTransaction({ hash: done.refund_tx_hash as Hex });
      expect(getAddress(tx.to as Address)).toBe(f.gw.services.sweeps.sweeperAddress());
      // Sent once, by the sweep: no top-up, no transfer of the deposit address's own.
      expect(await f.sentFrom(intent.payment_address)).toEqual([
        { to: getAddress(f.chain.payerAddress), value: units("1"), tx: done.refund_tx_hash },
      ]);
      expect(await f.topups(intent.payment_address)).toEqual([]);
      expect(await f.publicClient.getBalance({ address: intent.payment_address })).toBe(0n);
    } finally {
      f.local.gasStrategy = "eip7702";
    }
  });
});
