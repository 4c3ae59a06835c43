import { erc20Abi, getAddress } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../testing/cli-process.ts";
import {
  chainOn,
  followed,
  history,
  included,
  mineIncluding,
  openShop,
  pay,
  type Shop,
  transfersTo,
  units,
} from "../../testing/lifecycle-shop.ts";
import { type ManualChain, startManualChain } from "../../testing/manual-chain.ts";
import {
  type RestartableGateway,
  startRestartableGateway,
} from "../../testing/restartable-gateway.ts";

// The payment lifecycle end to end: real anvil chains mined by hand (so each test decides exactly
// which blocks exist), the real gateway with its chain watchers, and only the merchant's view
// (the HTTP API) plus the audit tables a person would inspect. Deadlines have a file of their
// own, payment-deadlines.test.ts.

let a: ManualChain; // watched under several chain keys; never reorganised
let b: ManualChain; // only for confirmation counts and reorgs
let main: RestartableGateway; // intents live 30 minutes

beforeAll(async () => {
  [a, b] = await Promise.all([startManualChain(), startManualChain()]);
  // A port nothing listens on: the first RPC URL of the "flaky" chain refuses every connection.
  const closed = `http://127.0.0.1:${await freePort()}`;
  main = await startRestartableGateway({
    seedPassphrase: "main",
    extraChains: [
      chainOn(a, "local", {}),
      chainOn(a, "local2", { confirmations: 2 }),
      chainOn(a, "flaky", { rpcUrls: [closed, a.chain.rpcUrl] }),
      chainOn(b, "deep", { confirmations: 3 }),
    ],
    settleIntervalMs: 100,
  });
});

afterAll(async () => {
  await main?.close();
  await Promise.allSettled([a?.stop(), b?.stop()]);
});

describe("payments on a chain with one confirmation", () => {
  let shop: Shop;
  beforeAll(async () => {
    shop = await openShop(main, "local");
  });

  it("an exact payment succeeds with the paying transaction, payer, block time and amount", async () => {
    const intent = await shop.create("10");
    expect(intent).toMatchObject({ crypto_amount: "10", token_address: a.chain.tokenAddress });
    const tx = await pay(a, intent.payment_address, "10");

    const done = await shop.waitFor(intent, (d) => d.status === "success", "success");
    expect(done).toMatchObject({
      payment_tx_hash: tx.hash,
      payer_address: getAddress(a.chain.payerAddress),
      payment_tx_timestamp: tx.timestamp,
      received_amount: "10",
      excess_amount: null,
      late_amount: null,
    });
    expect(await history(main, intent)).toEqual([
      { from_status: null, to_status: "pending", cause: expect.any(String) },
      {
        from_status: "pending",
        to_status: "success",
        cause: expect.stringMatching(/^chain:local:/),
      },
    ]);
    expect(await transfersTo(main, intent)).toEqual([
      {
        tx_hash: tx.hash,
        log_index: expect.any(Number),
        amount: units("10"),
        block_number: tx.blockNumber,
        block_hash: tx.blockHash,
        state: "confirmed",
      },
    ]);
  });

  it("two partial payments that add up succeed; the second one completes it", async () => {
    const intent = await shop.create("10");
    const first = await pay(a, intent.payment_address, "4");
    const partial = await shop.waitFor(
      intent,
      (d) => d.received_amount !== null,
      "the first part to be received",
    );
    expect(partial).toMatchObject({
      status: "pending",
      received_amount: "4",
      payment_tx_hash: null,
    });

    const second = await pay(a, intent.payment_address, "6");
    const done = await shop.waitFor(intent, (d) => d.status === "success", "success");
    expect(done).toMatchObject({
      received_amount: "10",
      payment_tx_hash: second.hash,
      payment_tx_timestamp: second.timestamp,
      payer_address: getAddress(a.chain.payerAddress),
      excess_amount: null,
    });
    expect((await transfersTo(main, intent)).map((t) => [t.tx_hash, t.amount, t.state])).toEqual([
      [first.hash, units("4"), "confirmed"],
      [second.hash, units("6"), "confirmed"],
    ]);
  });

  it("an overpayment succeeds and shows the excess", async () => {
    const intent = await shop.create("10");
    const tx = await pay(a, intent.payment_address, "12.5");
    const done = await shop.waitFor(intent, (d) => d.status === "success", "success");
    expect(done).toMatchObject({
      payment_tx_hash: tx.hash,
      received_amount: "12.5",
      excess_amount: "2.5",
      late_amount: null,
    });
  });

  it("two transfers to the deposit address in one transaction both count", async () => {
    const intent = await shop.create("10");
    const hash = await a.multiTransfer(a.chain.tokenAddress, [
      { to: intent.payment_address, value: units("3") },
      { to: intent.payment_address, value: units("7") },
    ]);
    const tx = await mineIncluding(a, hash);

    const done = await shop.waitFor(intent, (d) => d.status === "success", "success");
    expect(done).toMatchObject({ received_amount: "10", payment_tx_hash: tx.hash });
    const rows = await transfersTo(main, intent);
    expect(rows.map((t) => [t.tx_hash, t.amount, t.state])).toEqual([
      [tx.hash, units("3"), "confirmed"],
      [tx.hash, units("7"), "confirmed"],
    ]);
    expect(new Set(rows.map((t) => t.log_index)).size).toBe(2);
  });

  it("a transfer of an unregistered token to a deposit address is ignored", async () => {
    const intent = await shop.create("10");
    const lookAlike = await a.deployLookAlikeToken();
    const hash = await a.transfer({
      token: lookAlike,
      to: intent.payment_address,
      value: units("10"),
    });
    await mineIncluding(a, hash);
    // The look-alike really arrived: a watcher that counted any Transfer log would credit it.
    const balance = await a.publicClient.readContract({
      address: lookAlike,
      abi: erc20Abi,
      functionName: "balanceOf",
      args: [intent.payment_address],
    });
    expect(balance).toBe(units("10"));

    await followed(main, "local", a);
    expect(await shop.get(intent.payment_intent_id)).toMatchObject({
      status: "pending",
      received_amount: null,
      payment_tx_hash: null,
      payer_address: null,
    });
    expect(await transfersTo(main, intent)).toEqual([]);
  });
});

describe("reorganisations and confirmation counts (3 confirmations)", () => {
  let shop: Shop;
  beforeAll(async () => {
    shop = await openShop(main, "deep");
  });

  it("a payment counts only once three blocks include it", async () => {
    const intent = await shop.create("10");
    const tx = await pay(b, intent.payment_address, "10");
    for (const depth of [1, 2]) {
      await followed(main, "deep", b);
      expect(await shop.get(intent.payment_intent_id), `at depth ${depth}`).toMatchObject({
        status: "pending",
        received_amount: null,
      });
      expect((await transfersTo(main, intent)).map((t) => t.state)).toEqual(["seen"]);
      await b.mine();
    }
    const done = await shop.waitFor(intent, (d) => d.status === "success", "success");
    expect(done).toMatchObject({ payment_tx_hash: tx.hash, received_amount: "10" });
    expect(await b.head()).toBe(tx.blockNumber + 2n);
  });

  it("a payment reorganised away never succeeds and its transfer is kept as orphaned; sent again, it succeeds", async () => {
    const intent = await shop.create("10");
    const signed = await b.signTransfer({ to: intent.payment_address, value: units("10") });
    const dropped = await mineIncluding(b, await b.sendRaw(signed));
    await followed(main, "deep", b);
    expect((await transfersTo(main, intent)).map((t) => t.state)).toEqual(["seen"]);

    // The block that held the payment is replaced by an empty one; then the chain grows past the
    // depth at which the payment would have been confirmed.
    await b.reorg(1);
    await b.mine(3);
    await followed(main, "deep", b);
    expect(await shop.get(intent.payment_intent_id)).toMatchObject({
      status: "pending",
      received_amount: null,
      payment_tx_hash: null,
    });
    expect(await transfersTo(main, intent)).toEqual([
      expect.objectContaining({
        tx_hash: dropped.hash,
        block_hash: dropped.blockHash,
        state: "orphaned",
      }),
    ]);

    // The wallet broadcasts the same signed transaction again.
    const again = await mineIncluding(b, await b.sendRaw(signed));
    expect(again.hash).toBe(dropped.hash);
    await b.mine(2);
    const done = await shop.waitFor(intent, (d) => d.status === "success", "success");
    expect(done).toMatchObject({
      payment_tx_hash: again.hash,
      payment_tx_timestamp: again.timestamp,
      received_amount: "10",
    });
    expect(await transfersTo(main, intent)).toEqual([
      expect.objectContaining({
        tx_hash: again.hash,
        block_number: again.blockNumber,
        block_hash: again.blockHash,
        state: "confirmed",
      }),
    ]);
    expect((await history(main, intent)).map((h) => h.to_status)).toEqual(["pending", "success"]);
  });

  it("a payment the reorg moves into a later block is confirmed by the blocks above its new one", async () => {
    const intent = await shop.create("10");
    const signed = await b.signTransfer({ to: intent.payment_address, value: units("10") });
    const before = await mineIncluding(b, await b.sendRaw(signed));
    await b.mine();
    await followed(main, "deep", b);

    // Both blocks replaced; the payment lands in the second of the new ones.
    await b.reorg(2, [[signed, 1]]);
    const moved = await included(b, before.hash);
    expect(moved.blockNumber).toBe(before.blockNumber + 1n);
    await b.mine();
    await followed(main, "deep", b);
    // Three blocks above the old position, two above the new one: not yet.
    expect(await shop.get(intent.payment_intent_id)).toMatchObject({ status: "pending" });
    expect(await transfersTo(main, intent)).toEqual([
      expect.objectContaining({
        block_number: moved.blockNumber,
        block_hash: moved.blockHash,
        state: "seen",
      }),
    ]);

    await b.mine();
    const done = await shop.waitFor(intent, (d) => d.status === "success", "success");
    expect(done).toMatchObject({
      payment_tx_hash: moved.hash,
      payment_tx_timestamp: moved.timestamp,
      received_amount: "10",
    });
  });
});

describe("resilience", () => {
  it("a failing first RPC URL does not stop payments from succeeding", async () => {
    const shop = await openShop(main, "flaky");
    const intent = await shop.create("10");
    const tx = await pay(a, intent.payment_address, "10");
    const done = await shop.waitFor(intent, (d) => d.status === "success", "success");
    expect(done).toMatchObject({ payment_tx_hash: tx.hash, received_amount: "10" });
  });

  it("payments made while the gateway is down are credited after a restart, each once", async () => {
    const shop = await openShop(main, "local2");
    const first = await shop.create("10");
    const second = await shop.create("5");
    // Seen before the stop, one confirmation short.
    const part = await pay(a, first.payment_address, "4");
    await followed(main, "local2", a);
    expect((await transfersTo(main, first)).map((t) => t.state)).toEqual(["seen"]);

    await main.stop();
    try {
      const rest = await pay(a, first.payment_address, "6");
      const whole = await pay(a, second.payment_address, "5");
      // Long enough a gap that the watcher catches up with ranged log queries.
      await a.mine(40);
      await main.start();

      const [doneFirst, doneSecond] = await Promise.all([
        shop.waitFor(first, (d) => d.status === "success", "success"),
        shop.waitFor(second, (d) => d.status === "success", "success"),
      ]);
      expect(doneFirst).toMatchObject({ received_amount: "10", payment_tx_hash: rest.hash });
      expect(doneSecond).toMatchObject({ received_amount: "5", payment_tx_hash: whole.hash });
      expect((await transfersTo(main, first)).map((t) => [t.tx_hash, t.state])).toEqual([
        [part.hash, "confirmed"],
        [rest.hash, "confirmed"],
      ]);
      expect((await transfersTo(main, second)).map((t) => [t.tx_hash, t.state])).toEqual([
        [whole.hash, "confirmed"],
      ]);
      for (const intent of [first, second]) {
        expect((await history(main, intent)).map((h) => h.to_status)).toEqual([
          "pending",
          "success",
        ]);
      }
    } finally {
      if (!main.running) await main.start();
    }
  });
});
