import { pino } from "pino";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  chainOn,
  followed,
  history,
  openShop,
  passDeadlineOnChain,
  pay,
  type Shop,
  transfersTo,
  WAIT,
} from "../../testing/lifecycle-shop.ts";
import { type ManualChain, startManualChain } from "../../testing/manual-chain.ts";
import {
  type RestartableGateway,
  startRestartableGateway,
} from "../../testing/restartable-gateway.ts";

// The operator's report: with 3 confirmations, a reorg of 5 blocks after a payment counted left
// the intent `success`, stopped the chain's watcher for good, and a new payment stayed pending,
// with only warnings in the log. Real anvil (anvil_reorg), the real gateway, its real database.

let m: ManualChain;
let gw: RestartableGateway;
let shop: Shop;
const lines: Array<Record<string, unknown> & { level: number; msg: string }> = [];

beforeAll(async () => {
  m = await startManualChain();
  // Empty blocks, so the reorg below stays clear of the blocks that deployed and minted the token.
  await m.mine(10);
  gw = await startRestartableGateway({
    seedPassphrase: "deep-reorg",
    extraChains: [chainOn(m, "deep", { confirmations: 3 })],
    settleIntervalMs: 100,
    // Deadlines short enough for an insufficient payment to be decided within the test.
    env: { DEEP_REORG_RESCAN_BLOCKS: "8", PAYMENT_TTL_SECONDS: "20" },
    log: pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) }),
  });
  shop = await openShop(gw, "deep");
});

afterAll(async () => {
  await gw?.close();
  await m?.stop();
});

it("a counted payment a deep reorg removes is flagged, recorded and logged at error; the watcher goes on and credits a new payment", async () => {
  const intent = await shop.create("10");
  const paid = await pay(m, intent.payment_address, "10");
  await m.mine(2);
  await shop.waitFor(intent, (d) => d.status === "success", "success");
  await followed(gw, "deep", m);

  // Five blocks replaced: the payment's block and the two above it, all final, are gone.
  await m.reorg(5);
  await m.mine();
  await followed(gw, "deep", m);

  const db = gw.database.db;
  await expect
    .poll(
      async () =>
        (
          await db
            .selectFrom("payment_intents")
            .select(["reversed_at", "reversal_reason", "status"])
            .where("id", "=", intent.payment_intent_id)
            .executeTakeFirstOrThrow()
        ).reversed_at,
      { ...WAIT, message: "the intent to be flagged reversed" },
    )
    .not.toBeNull();
  const flagged = await db
    .selectFrom("payment_intents")
    .select(["status", "reversal_reason", "received_amount", "payment_tx_hash"])
    .where("id", "=", intent.payment_intent_id)
    .executeTakeFirstOrThrow();
  // The status and what was called back stay as decided; the flag says it no longer holds.
  expect(flagged).toMatchObject({
    status: "success",
    received_amount: "10000000",
    payment_tx_hash: paid.hash,
    reversal_reason: expect.stringContaining(paid.hash),
  });
  expect((await shop.get(intent.payment_intent_id)).status).toBe("success");
  expect((await transfersTo(gw, intent)).map((t) => [t.tx_hash, t.state])).toEqual([
    [paid.hash, "orphaned"],
  ]);

  const events = await db
    .selectFrom("gateway_events")
    .selectAll()
    .where("payment_intent_id", "=", intent.payment_intent_id)
    .execute();
  expect(events).toEqual([
    expect.objectContaining({
      type: "payment.reversed",
      chain_id: "deep",
      data: expect.objectContaining({
        status: "success",
        transfers: [
          expect.objectContaining({
            tx_hash: paid.hash,
            block_number: String(paid.blockNumber),
            block_hash: paid.blockHash,
          }),
        ],
      }),
    }),
  ]);

  const reorgs = await db
    .selectFrom("gateway_events")
    .select(["type", "chain_id", "data"])
    .where("type", "=", "chain.deep_reorg")
    .execute();
  expect(reorgs).toEqual([
    {
      type: "chain.deep_reorg",
      chain_id: "deep",
      data: expect.objectContaining({
        common_ancestor: String(paid.blockNumber - 8n),
        orphaned_transfers: 1,
        reversed_intents: [intent.payment_intent_id],
      }),
    },
  ]);

  const errorLine = lines.find(
    (l) => l.level === 50 && l.payment_intent_id === intent.payment_intent_id,
  );
  expect(errorLine).toMatchObject({
    chain: "deep",
    msg: expect.stringMatching(/^payment reversed/),
    transfers: [
      expect.objectContaining({ tx_hash: paid.hash, block_number: String(paid.blockNumber) }),
    ],
  });
  // No stored block was still canonical: the watcher read again from 8 blocks below the lost one.
  expect(lines.find((l) => l.level === 50 && /reorg deeper/.test(l.msg))).toMatchObject({
    lostBlock: Number(paid.blockNumber),
    commonAncestor: Number(paid.blockNumber) - 8,
  });

  // Nothing is collected from a deposit address whose payment no longer exists.
  await expect
    .poll(
      () =>
        db
          .selectFrom("collections")
          .select(["state", "chain_tx_id"])
          .where("payment_intent_id", "=", intent.payment_intent_id)
          .execute(),
      WAIT,
    )
    .toEqual([{ state: "failed", chain_tx_id: null }]);

  const status = gw.watchers?.status().find((s) => s.chain === "deep");
  expect(status).toMatchObject({ deepReorgs: 1, reversals: 1, stalledSinceMs: null });

  // The watcher goes on: a genuine new payment succeeds.
  const next = await shop.create("5");
  const again = await pay(m, next.payment_address, "5");
  await m.mine(2);
  const done = await shop.waitFor(next, (d) => d.status === "success", "the new payment");
  expect(done).toMatchObject({ payment_tx_hash: again.hash, received_amount: "5" });
  expect((await history(gw, intent)).map((h) => h.to_status)).toEqual(["pending", "success"]);
});

it("an insufficient payment a deep reorg removes: the refund not sent yet is stopped, not sent", async () => {
  const intent = await shop.create("10");
  const part = await pay(m, intent.payment_address, "4");
  await m.mine(2);
  await passDeadlineOnChain(m, intent);
  await shop.waitFor(intent, (d) => d.status === "insufficient_not_refunded", "insufficient");
  const db = gw.database.db;
  const refunds = () =>
    db
      .selectFrom("refunds")
      .select(["state", "chain_tx_id", "error"])
      .where("payment_intent_id", "=", intent.payment_intent_id)
      .execute();
  // This gateway's gas wallet holds no coin on the chain: the refund waits for its gas top-up.
  await expect
    .poll(refunds, WAIT)
    .toEqual([expect.objectContaining({ state: "pending", chain_tx_id: null })]);
  await followed(gw, "deep", m);

  // Everything from the payment's block up is replaced.
  await m.reorg(Number((await m.head()) - part.blockNumber + 1n));
  await m.mine();
  await expect
    .poll(refunds, WAIT)
    .toEqual([
      { state: "failed", chain_tx_id: null, error: expect.stringMatching(/^stopped, not sent: /) },
    ]);
  const event = await db
    .selectFrom("gateway_events")
    .select(["type", "data"])
    .where("payment_intent_id", "=", intent.payment_intent_id)
    .executeTakeFirstOrThrow();
  expect(event).toMatchObject({
    type: "payment.reversed",
    data: {
      status: "insufficient_not_refunded",
      stopped: [expect.stringContaining(`refund of ${part.hash}`)],
    },
  });
  expect((await shop.get(intent.payment_intent_id)).status).toBe("insufficient_not_refunded");
});
