import { getAddress } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  chainOn,
  followed,
  history,
  openShop,
  passDeadlineOnChain,
  pay,
  type Shop,
  swept,
  transfersTo,
  waitUntilUnixSeconds,
} from "../../testing/lifecycle-shop.ts";
import { type ManualChain, startManualChain } from "../../testing/manual-chain.ts";
import {
  type RestartableGateway,
  startRestartableGateway,
} from "../../testing/restartable-gateway.ts";

// Deadlines end to end, as in payment-lifecycle.test.ts: an anvil chain mined by hand, the real
// gateway with its watchers and deadline sweeps, and the merchant's view.

const SHORT_TTL_SECONDS = 4;

let a: ManualChain;
let short: RestartableGateway; // intents live SHORT_TTL_SECONDS

beforeAll(async () => {
  a = await startManualChain();
  short = await startRestartableGateway({
    seedPassphrase: "short",
    extraChains: [chainOn(a, "short", {}), chainOn(a, "short3", { confirmations: 3 })],
    env: {
      PAYMENT_TTL_SECONDS: String(SHORT_TTL_SECONDS),
      CONFIRMATION_GRACE_SECONDS: "60",
    },
    settleIntervalMs: 100,
  });
});

afterAll(async () => {
  await short?.close();
  await a?.stop();
});

describe("deadlines", () => {
  let shop: Shop;
  beforeAll(async () => {
    shop = await openShop(short, "short");
  });

  it("an underpayment becomes insufficient_not_refunded once the deadline passes", async () => {
    const intent = await shop.create("10");
    expect(intent.payment_deadline - Date.now() / 1000).toBeLessThanOrEqual(SHORT_TTL_SECONDS);
    const tx = await pay(a, intent.payment_address, "3");
    const partial = await shop.waitFor(
      intent,
      (d) => d.received_amount !== null,
      "the underpayment to be received",
    );
    expect(partial.status).toBe("pending");

    await passDeadlineOnChain(a, intent);
    const done = await shop.waitFor(intent, (d) => d.status !== "pending", "the deadline");
    expect(done).toMatchObject({
      status: "insufficient_not_refunded",
      received_amount: "3",
      payment_tx_hash: null,
      // Where a refund would go.
      payer_address: getAddress(a.chain.payerAddress),
      late_amount: null,
    });
    expect(tx.timestamp).toBeLessThanOrEqual(intent.payment_deadline);
    expect((await history(short, intent)).at(-1)).toEqual({
      from_status: "pending",
      to_status: "insufficient_not_refunded",
      cause: "deadline",
    });
  });

  it("an unpaid intent expires once the deadline passes", async () => {
    const intent = await shop.create("10");
    await passDeadlineOnChain(a, intent);
    const done = await shop.waitFor(intent, (d) => d.status !== "pending", "the deadline");
    expect(done).toMatchObject({
      status: "expired",
      received_amount: null,
      payment_tx_hash: null,
      payer_address: null,
      late_amount: null,
    });
    expect(await history(short, intent)).toEqual([
      { from_status: null, to_status: "pending", cause: expect.any(String) },
      { from_status: "pending", to_status: "expired", cause: "deadline" },
    ]);
  });

  it("waits for the chain, not the wall clock: a payment in the deadline's own second counts", async () => {
    const intent = await shop.create("10");
    // The wall clock passes the deadline while the chain has not produced a later block yet:
    // the sweeps must leave the intent alone, since an on-time block may still come.
    await waitUntilUnixSeconds(intent.payment_deadline + 1);
    await swept(short);
    expect((await shop.get(intent.payment_intent_id)).status).toBe("pending");
    await a.publicClient.request({
      method: "evm_setNextBlockTimestamp" as never,
      params: [intent.payment_deadline] as never,
    });
    const tx = await pay(a, intent.payment_address, "10");
    expect(tx.timestamp).toBe(intent.payment_deadline);
    const done = await shop.waitFor(intent, (d) => d.status !== "pending", "the payment");
    expect(done).toMatchObject({
      status: "success",
      payment_tx_hash: tx.hash,
      received_amount: "10",
      late_amount: null,
    });
  });

  it("a payment mined after the deadline is recorded as late and does not revive the intent", async () => {
    const intent = await shop.create("10");
    await passDeadlineOnChain(a, intent);
    await shop.waitFor(intent, (d) => d.status === "expired", "expiry");
    // A block in a later second than the deadline: unambiguously late.
    const tx = await pay(a, intent.payment_address, "10");
    expect(tx.timestamp).toBeGreaterThan(intent.payment_deadline);

    const done = await shop.waitFor(intent, (d) => d.late_amount !== null, "the late payment");
    expect(done).toMatchObject({
      status: "expired",
      late_amount: "10",
      received_amount: null,
      payment_tx_hash: null,
      excess_amount: null,
    });
    expect((await history(short, intent)).map((h) => h.to_status)).toEqual(["pending", "expired"]);
  });

  it("a payment mined before the deadline and confirmed after it succeeds", async () => {
    const confirming = await openShop(short, "short3");
    const intent = await confirming.create("10");
    const tx = await pay(a, intent.payment_address, "10");
    expect(tx.timestamp).toBeLessThanOrEqual(intent.payment_deadline);
    // A block after the deadline, so the sweeps take the intent up (they wait for chain time),
    // with the payment one confirmation short: only the grace period keeps it pending.
    await passDeadlineOnChain(a, intent);
    await followed(short, "short3", a);
    expect((await transfersTo(short, intent)).map((t) => t.state)).toEqual(["seen"]);
    await swept(short);
    expect(await confirming.get(intent.payment_intent_id)).toMatchObject({
      status: "pending",
      received_amount: null,
    });

    await a.mine();
    const done = await confirming.waitFor(intent, (d) => d.status !== "pending", "confirmation");
    expect(done).toMatchObject({
      status: "success",
      payment_tx_hash: tx.hash,
      payment_tx_timestamp: tx.timestamp,
      received_amount: "10",
      late_amount: null,
    });
  });
});

describe("restarts", () => {
  it("a payment mined before the deadline while the gateway was down succeeds after a restart", async () => {
    const shop = await openShop(short, "short");
    const intent = await shop.create("10");
    await short.stop();
    try {
      const tx = await pay(a, intent.payment_address, "10");
      expect(tx.timestamp).toBeLessThanOrEqual(intent.payment_deadline);
      await waitUntilUnixSeconds(intent.payment_deadline + 1);
      await short.start();

      const done = await shop.waitFor(
        intent,
        (d) => d.received_amount !== null || d.late_amount !== null,
        "the payment to be credited",
      );
      expect(done).toMatchObject({
        status: "success",
        payment_tx_hash: tx.hash,
        received_amount: "10",
        late_amount: null,
      });
    } finally {
      if (!short.running) await short.start();
    }
  });
});
