import { setTimeout } from "node:timers/promises";
import { type Address, erc20Abi, getAddress, type Hex, parseUnits } from "viem";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { RegisteredChain } from "../../chain/chain-registry.ts";
import { freePort } from "../../testing/cli-process.ts";
import { type ManualChain, startManualChain } from "../../testing/manual-chain.ts";
import {
  type RestartableGateway,
  startRestartableGateway,
} from "../../testing/restartable-gateway.ts";
import type { TestTenant } from "../../testing/test-gateway.ts";

// The payment lifecycle end to end: real anvil chains mined by hand (so each test decides exactly
// which blocks exist), the real gateway with its chain watchers, and only the merchant's view
// (the HTTP API) plus the audit tables a person would inspect.

interface Intent {
  payment_intent_id: string;
  payment_chain_id: string;
  payment_address: Address;
  token_address: Address;
  crypto_amount: string;
  payment_deadline: number;
  status: string;
  payment_tx_hash: string | null;
  received_amount: string | null;
  payer_address: string | null;
  payment_tx_timestamp: number | null;
  excess_amount: string | null;
  late_amount: string | null;
}

interface Mined {
  hash: Hex;
  blockNumber: bigint;
  blockHash: Hex;
  /** Unix seconds. */
  timestamp: number;
}

const POLL_MS = 50;
const SHORT_TTL_SECONDS = 4;

let a: ManualChain; // watched by both gateways under several chain keys; never reorganised
let b: ManualChain; // only for confirmation counts and reorgs
let main: RestartableGateway; // intents live 30 minutes
let short: RestartableGateway; // intents live SHORT_TTL_SECONDS

function chainOn(m: ManualChain, key: string, extra: Partial<RegisteredChain>): RegisteredChain {
  return {
    key,
    evmChainId: m.chain.evmChainId,
    name: `Anvil (${key})`,
    tokens: [{ symbol: "USDT", address: m.chain.tokenAddress, decimals: 6 }],
    rpcUrls: [m.chain.rpcUrl],
    confirmations: 1,
    pollingIntervalMs: POLL_MS,
    ...extra,
  };
}

beforeAll(async () => {
  [a, b] = await Promise.all([startManualChain(), startManualChain()]);
  // A port nothing listens on: the first RPC URL of the "flaky" chain refuses every connection.
  const closed = `http://127.0.0.1:${await freePort()}`;
  [main, short] = await Promise.all([
    startRestartableGateway({
      seedPassphrase: "main",
      extraChains: [
        chainOn(a, "local", {}),
        chainOn(a, "local2", { confirmations: 2 }),
        chainOn(a, "flaky", { rpcUrls: [closed, a.chain.rpcUrl] }),
        chainOn(b, "deep", { confirmations: 3 }),
      ],
      settleIntervalMs: 100,
    }),
    startRestartableGateway({
      seedPassphrase: "short",
      extraChains: [chainOn(a, "short", {}), chainOn(a, "short3", { confirmations: 3 })],
      env: {
        PAYMENT_TTL_SECONDS: String(SHORT_TTL_SECONDS),
        CONFIRMATION_GRACE_SECONDS: "60",
      },
      settleIntervalMs: 100,
    }),
  ]);
});

afterAll(async () => {
  await Promise.allSettled([main?.close(), short?.close()]);
  await Promise.allSettled([a?.stop(), b?.stop()]);
});

const units = (amount: string) => parseUnits(amount, 6);

const WAIT = { timeout: 15_000, interval: POLL_MS };

/** A merchant on one gateway whose organisation is paid on `chainKey`. */
interface Shop {
  chainKey: string;
  create(fiatUsd?: string): Promise<Intent>;
  get(id: string): Promise<Intent>;
  waitFor(intent: Intent, ok: (d: Intent) => boolean, what: string): Promise<Intent>;
}

async function openShop(gw: RestartableGateway, chainKey: string): Promise<Shop> {
  const tenant: TestTenant = await gw.createTenant({ chain: chainKey });
  const headers = { "Content-Type": "application/json", "X-STUDIO-API-KEY": tenant.apiKey };
  const read = async (id: string) => {
    const res = await fetch(`${gw.url}/v1/studio/api/payment/intent/${id}`, { headers });
    return { status: res.status, body: (await res.json()) as { code: number; data?: Intent } };
  };
  return {
    chainKey,
    async create(fiatUsd = "10") {
      const res = await fetch(`${gw.url}/v1/studio/api/payment/intent`, {
        method: "POST",
        headers,
        body: JSON.stringify({ fiat_amount: fiatUsd, fiat_currency: "USD" }),
      });
      const body = (await res.json()) as { code: number; data: Intent };
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(body.data).toMatchObject({ status: "pending", payment_chain_id: chainKey });
      return body.data;
    },
    async get(id) {
      const r = await read(id);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body.data as Intent;
    },
    waitFor(intent, ok, what) {
      return vi.waitFor(async () => {
        const r = await read(intent.payment_intent_id);
        const d = r.body.data;
        if (d && ok(d)) return d;
        throw new Error(
          `intent ${intent.payment_intent_id} on ${chainKey}: waiting for ${what}; last seen: ${JSON.stringify(r.body)}`,
        );
      }, WAIT);
    },
  };
}

/** Mines the next block and describes the block that includes `hash`. */
async function mineIncluding(m: ManualChain, hash: Hex): Promise<Mined> {
  await m.mine();
  return included(m, hash);
}

async function included(m: ManualChain, hash: Hex): Promise<Mined> {
  const receipt = await m.publicClient.getTransactionReceipt({ hash });
  expect(receipt.status).toBe("success");
  const block = await m.publicClient.getBlock({ blockHash: receipt.blockHash });
  return {
    hash,
    blockNumber: block.number,
    blockHash: block.hash,
    timestamp: Number(block.timestamp),
  };
}

/** The sandbox payer sends `amount` USDT to `to` in a block of its own. */
async function pay(m: ManualChain, to: Address, amount: string): Promise<Mined> {
  return mineIncluding(m, await m.transfer({ to, value: units(amount) }));
}

/** Waits until the gateway's watcher for `chainKey` has processed the chain's current head. */
async function followed(gw: RestartableGateway, chainKey: string, m: ManualChain): Promise<void> {
  const head = await m.publicClient.getBlock({ blockTag: "latest" });
  await expect
    .poll(
      async () => {
        const rows = await gw.database.db
          .selectFrom("chain_blocks")
          .select(["number", "hash"])
          .where("chain_id", "=", chainKey)
          .where("hash", "=", head.hash)
          .execute();
        return rows.some((r) => BigInt(r.number) === head.number);
      },
      {
        ...WAIT,
        message: `the ${chainKey} watcher to process block ${head.number} (${head.hash})`,
      },
    )
    .toBe(true);
}

/**
 * Waits until `gw` has completed two deadline sweeps after this call, so at least one of them
 * started after it: what a sweep would do at this moment has been done.
 */
async function swept(gw: RestartableGateway): Promise<void> {
  const { lifecycle } = gw.services;
  const before = lifecycle.sweeps;
  await expect
    .poll(() => lifecycle.sweeps, { ...WAIT, message: "two deadline sweeps" })
    .toBeGreaterThanOrEqual(before + 2);
}

function transfersTo(gw: RestartableGateway, intent: Intent) {
  return gw.database.db
    .selectFrom("transfers")
    .select(["tx_hash", "log_index", "amount", "block_number", "block_hash", "state"])
    .where("payment_intent_id", "=", intent.payment_intent_id)
    .orderBy("block_number")
    .orderBy("log_index")
    .execute()
    .then((rows) =>
      rows.map((r) => ({ ...r, amount: BigInt(r.amount), block_number: BigInt(r.block_number) })),
    );
}

function history(gw: RestartableGateway, intent: Intent) {
  return gw.database.db
    .selectFrom("payment_intent_status_history")
    .select(["from_status", "to_status", "cause"])
    .where("payment_intent_id", "=", intent.payment_intent_id)
    .orderBy("id")
    .execute();
}

/** Waits for the wall clock to reach `seconds` (a deadline passing is the event itself). */
const waitUntilUnixSeconds = (seconds: number) =>
  setTimeout(Math.max(0, seconds * 1000 - Date.now()));

/** Lets the wall clock pass the deadline, then mines a block after it, as a live chain would. */
async function passDeadlineOnChain(intent: Intent): Promise<void> {
  await waitUntilUnixSeconds(intent.payment_deadline + 1);
  // Pinned: evm_setNextBlockTimestamp in another test leaves anvil's clock a little behind.
  const latest = await a.publicClient.getBlock({ blockTag: "latest" });
  if (latest.timestamp <= BigInt(intent.payment_deadline)) {
    await a.publicClient.request({
      method: "evm_setNextBlockTimestamp" as never,
      params: [intent.payment_deadline + 1] as never,
    });
  }
  await a.mine();
}

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

    await passDeadlineOnChain(intent);
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
    await passDeadlineOnChain(intent);
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
    await passDeadlineOnChain(intent);
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
    await passDeadlineOnChain(intent);
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
