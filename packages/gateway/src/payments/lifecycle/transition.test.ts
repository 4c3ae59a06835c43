import { mnemonicToSeedSync } from "@scure/bip39";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServices } from "../../gateway.ts";
import type { Caller } from "../../organizations/tenancy-service.ts";
import { loadConfig } from "../../platform/config.ts";
import type { DatabaseHandle } from "../../platform/database/create-database.ts";
import { createTestDatabase } from "../../testing/test-database.ts";
import { createTestTenant, TEST_MNEMONIC } from "../../testing/test-gateway.ts";
import { createTestLogger } from "../../testing/test-logger.ts";
import type { PaymentStatus } from "./decide.ts";
import { type TransitionParameters, transition } from "./transition.ts";

// transition() against a real database, with no worker running, so the outbox rows it writes stay
// where a worker would find them.

let database: DatabaseHandle;
let services: ReturnType<typeof createServices>;
let caller: Caller;

beforeAll(async () => {
  database = await createTestDatabase();
  services = createServices({
    config: loadConfig({}, { LOG_LEVEL: "silent" }),
    database,
    seed: mnemonicToSeedSync(TEST_MNEMONIC),
    log: createTestLogger(),
    // The callback URL's host "resolves" to a public address: no DNS in this test.
    resolve: async () => [{ address: "93.184.216.34", family: 4 }],
  });
  const tenant = await createTestTenant(services.tenancy);
  caller = await services.tenancy.authenticate({
    apiKey: tenant.apiKey,
    clientId: undefined,
    origin: undefined,
  });
});

afterAll(async () => {
  await database?.close();
});

let clock = Date.parse("2030-01-01T00:00:00Z");
/** A distinct instant per change, so each row can be traced to the change that wrote it. */
function tick(): Date {
  clock += 1000;
  return new Date(clock);
}

async function newIntent(): Promise<string> {
  const view = await services.intents.create(caller, {
    fiat_amount: "10",
    fiat_currency: "USD",
    callback_url: "https://merchant.example/callback",
  });
  return view.payment_intent_id;
}

/** Runs transition() as its callers do: in a transaction, on the row it has locked. */
function change(id: string, c: Omit<TransitionParameters, "intent">) {
  return database.db.transaction().execute(async (trx) => {
    const intent = await trx
      .selectFrom("payment_intents")
      .selectAll()
      .where("id", "=", id)
      .forUpdate()
      .executeTakeFirstOrThrow();
    return transition(trx, { ...c, intent });
  });
}

/** What a person or a worker finds about an intent after a change. */
async function trail(id: string) {
  const db = database.db;
  const [intent, history, callbacks, work] = await Promise.all([
    db.selectFrom("payment_intents").selectAll().where("id", "=", id).executeTakeFirstOrThrow(),
    db
      .selectFrom("payment_intent_status_history")
      .select(["from_status", "to_status", "cause", "created_at"])
      .where("payment_intent_id", "=", id)
      .orderBy("id")
      .execute(),
    db
      .selectFrom("callback_events")
      .select(["status", "body", "created_at"])
      .where("payment_intent_id", "=", id)
      .orderBy("created_at")
      .execute(),
    db.selectFrom("treasury_work").selectAll().where("payment_intent_id", "=", id).execute(),
  ]);
  return { intent, history, callbacks, work };
}

async function clearTreasuryWork(id: string) {
  await database.db.deleteFrom("treasury_work").where("payment_intent_id", "=", id).execute();
}

describe("transition", () => {
  it("a decision writes the status and its columns, the history row at the caller's time, the callback and the treasury work", async () => {
    const id = await newIntent();
    const at = tick();
    const result = await change(id, {
      to: "insufficient_not_refunded",
      set: {
        received_amount: 4_000_000n,
        payer_address: "0x00000000000000000000000000000000000000aa",
      },
      cause: "deadline",
      at,
    });
    expect(result).toMatchObject({ changed: true, statusChanged: true });

    const { intent, history, callbacks, work } = await trail(id);
    expect(intent).toMatchObject({
      status: "insufficient_not_refunded",
      received_amount: "4000000",
      payer_address: "0x00000000000000000000000000000000000000aa",
      updated_at: at,
    });
    expect(history).toEqual([
      {
        from_status: null,
        to_status: "pending",
        cause: expect.stringMatching(/^api_key:/),
        created_at: expect.any(Date),
      },
      {
        from_status: "pending",
        to_status: "insufficient_not_refunded",
        cause: "deadline",
        created_at: at,
      },
    ]);
    expect(callbacks).toHaveLength(1);
    expect(callbacks[0]).toMatchObject({ status: "insufficient_not_refunded", created_at: at });
    expect(JSON.parse(callbacks[0]?.body ?? "{}")).toMatchObject({
      payment_intent_id: id,
      status: "insufficient_not_refunded",
      received_amount: "4",
    });
    expect(work).toEqual([expect.objectContaining({ next_attempt_at: at, enqueued_at: at })]);
  });

  it("a change that changes nothing writes nothing", async () => {
    const id = await newIntent();
    await change(id, { to: "expired", cause: "deadline", at: tick() });
    await clearTreasuryWork(id);
    const before = await trail(id);

    const result = await change(id, {
      to: "expired",
      set: { received_amount: null, late_amount: null },
      cause: "chain:local:block",
      at: tick(),
    });
    expect(result).toMatchObject({ changed: false, statusChanged: false });
    expect(await trail(id)).toEqual(before);
  });

  it("money arriving on a decided intent queues treasury work, without a history row or a callback", async () => {
    const id = await newIntent();
    await change(id, { to: "expired", cause: "deadline", at: tick() });
    await clearTreasuryWork(id);
    const before = await trail(id);

    const at = tick();
    const result = await change(id, {
      to: "expired",
      set: { late_amount: 2_000_000n },
      cause: "chain:local:finalize",
      at,
    });
    expect(result).toMatchObject({ changed: true, statusChanged: false });
    const after = await trail(id);
    expect(after.intent).toMatchObject({ status: "expired", late_amount: "2000000" });
    expect(after.history).toEqual(before.history);
    expect(after.callbacks).toEqual(before.callbacks);
    expect(after.work).toEqual([expect.objectContaining({ enqueued_at: at })]);
  });

  it("the treasury's own bookkeeping gets its history and callback and queues no treasury work", async () => {
    const id = await newIntent();
    await change(id, {
      to: "insufficient_not_refunded",
      set: { received_amount: 1n },
      cause: "deadline",
      at: tick(),
    });
    await clearTreasuryWork(id);

    const at = tick();
    await change(id, {
      to: "insufficient_refunded",
      set: { refund_amount: 1n, refund_tx_hash: "0xabc" },
      cause: "refunded",
      at,
    });
    const { intent, history, callbacks, work } = await trail(id);
    expect(intent).toMatchObject({ status: "insufficient_refunded", refund_amount: "1" });
    expect(history.at(-1)).toEqual({
      from_status: "insufficient_not_refunded",
      to_status: "insufficient_refunded",
      cause: "refunded",
      created_at: at,
    });
    expect(callbacks.map((c) => c.status)).toEqual([
      "insufficient_not_refunded",
      "insufficient_refunded",
    ]);
    expect(work).toEqual([]);
  });

  it("recordUnchanged leaves a history row for an event that keeps the status, without a callback", async () => {
    const id = await newIntent();
    await change(id, { to: "expired", cause: "deadline", at: tick() });
    const at = tick();
    await change(id, {
      to: "expired",
      set: { late_refund_amount: 2n, late_refund_tx_hash: "0xdef" },
      cause: "late payment refunded",
      at,
      recordUnchanged: true,
    });
    const { history, callbacks } = await trail(id);
    expect(history.at(-1)).toEqual({
      from_status: "expired",
      to_status: "expired",
      cause: "late payment refunded",
      created_at: at,
    });
    expect(callbacks.map((c) => c.status)).toEqual(["expired"]);
  });

  it("a transaction that fails after the change leaves none of it behind", async () => {
    const id = await newIntent();
    const before = await trail(id);
    const failing = database.db.transaction().execute(async (trx) => {
      const intent = await trx
        .selectFrom("payment_intents")
        .selectAll()
        .where("id", "=", id)
        .forUpdate()
        .executeTakeFirstOrThrow();
      await transition(trx, {
        intent,
        to: "success" satisfies PaymentStatus,
        cause: "chain",
        at: tick(),
      });
      throw new Error("crash after the decision");
    });
    await expect(failing).rejects.toThrow("crash after the decision");
    expect(await trail(id)).toEqual(before);
  });
});
