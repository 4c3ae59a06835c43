import { randomBytes } from "node:crypto";
import { mnemonicToSeedSync } from "@scure/bip39";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { createServices } from "../gateway.ts";
import { lockIntent, transition } from "../payments/lifecycle/transition.ts";
import { loadConfig } from "../platform/config.ts";
import { createDatabase, type DatabaseHandle } from "../platform/database/create-database.ts";
import type { Database } from "../platform/database/schema.ts";
import { createTestDatabase, dropSchema } from "../testing/test-database.ts";
import { createTestTenant, TEST_MNEMONIC } from "../testing/test-gateway.ts";
import { createTestLogger } from "../testing/test-logger.ts";
import { SWEEPS_TOPIC } from "./sweep-deposit-accounts.ts";
import { createTreasuryService } from "./treasury-service.ts";

// The treasury loop sleeps while nothing is due. Here its safety-net sleep is an hour, so a job
// handled within the wait below was handled because the loop woke for it: a status change that
// queues work notifies every process (this one, and on PostgreSQL another one), and a job due
// later is looked at when it is due. A sweep batcher sleeps the same way; a sweep opened on any
// process tells its chain's batcher (the gateway nudges it on SWEEPS_TOPIC).

const HOUR = 3_600_000;
const WAIT = { timeout: 30_000, interval: 50 };

let database: DatabaseHandle;
let services: ReturnType<typeof createServices>;

beforeAll(async () => {
  database = await createTestDatabase();
  services = servicesOn(database);
});
afterAll(async () => {
  await database?.close();
});

function servicesOn(handle: DatabaseHandle) {
  return createServices({
    config: loadConfig({}, { LOG_LEVEL: "silent" }),
    database: handle,
    seed: mnemonicToSeedSync(TEST_MNEMONIC),
    log: createTestLogger(),
    resolve: async () => [{ address: "93.184.216.34", family: 4 }],
  });
}

/** A treasury loop as a worker process runs it (listening), asleep once it has found nothing. */
async function sleepingTreasury(handle: DatabaseHandle, s: ReturnType<typeof createServices>) {
  const treasury = createTreasuryService({
    db: handle.db,
    txManager: s.txManager,
    depositAccounts: s.sweeps,
    feeAddress: () => s.wallets.feeWallet().address,
    collectionDelaySeconds: 0,
    quoteDecimals: 2,
    log: createTestLogger(),
    maxSleepMs: HOUR,
  });
  const unlisten = await treasury.listen(handle.notifications);
  treasury.start();
  await vi.waitFor(() => expect(treasury.idlePasses).toBeGreaterThan(0), WAIT);
  return {
    treasury,
    async stop() {
      await unlisten();
      await treasury.stop();
    },
  };
}

async function pendingIntent(s: ReturnType<typeof createServices>): Promise<string> {
  const tenant = await createTestTenant(s.tenancy);
  const caller = await s.tenancy.authenticate({
    apiKey: tenant.apiKey,
    clientId: undefined,
    origin: undefined,
  });
  const view = await s.intents.create(caller, { fiat_amount: "10", fiat_currency: "USD" });
  return view.payment_intent_id;
}

/** The lifecycle's own writer: expiring a pending intent queues treasury work for it. */
async function expire(db: Kysely<Database>, id: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const intent = await lockIntent(trx, id);
    if (!intent) throw new Error(`intent ${id} not found`);
    await transition(trx, { intent, to: "expired", cause: "test", at: new Date() });
  });
}

const queued = async (db: Kysely<Database>, id: string) =>
  (
    await db
      .selectFrom("treasury_work")
      .select("payment_intent_id")
      .where("payment_intent_id", "=", id)
      .execute()
  ).length;

it("work queued while the treasury sleeps is handled without waiting out the sleep", async () => {
  const id = await pendingIntent(services);
  const { treasury, stop } = await sleepingTreasury(database, services);
  try {
    const slept = treasury.idlePasses;
    await expire(database.db, id);
    // The expired intent has nothing to refund: its job is looked at and taken off the queue.
    await vi.waitFor(async () => expect(await queued(database.db, id)).toBe(0), WAIT);
    // ...and the loop went back to sleep.
    await vi.waitFor(() => expect(treasury.idlePasses).toBeGreaterThan(slept), WAIT);
  } finally {
    await stop();
  }
});

it("a job due later (no notification) is looked at when it is due, not after the safety net", async () => {
  const id = await pendingIntent(services);
  const { treasury, stop } = await sleepingTreasury(database, services);
  try {
    const at = new Date();
    await database.db
      .insertInto("treasury_work")
      .values({
        payment_intent_id: id,
        next_attempt_at: new Date(at.getTime() + 1000),
        enqueued_at: at,
      })
      .execute();
    // One look now (as after any nudge) finds it not yet due; the loop sleeps until it is.
    treasury.nudge();
    await vi.waitFor(async () => expect(await queued(database.db, id)).toBe(0), WAIT);
  } finally {
    await stop();
  }
});

it.runIf(process.env.DATABASE_URL)(
  "work queued by another process wakes this process's sleeping treasury (PostgreSQL)",
  async () => {
    const url = process.env.DATABASE_URL as string;
    const schema = `t_wake_${randomBytes(4).toString("hex")}`;
    const here = await createDatabase({ url, schema });
    const there = await createDatabase({ url, schema });
    try {
      const servicesHere = servicesOn(here);
      const id = await pendingIntent(servicesOn(there));
      const { stop } = await sleepingTreasury(here, servicesHere);
      try {
        // The other process decides; this one's treasury (asleep for up to an hour) does the work.
        await expire(there.db, id);
        await vi.waitFor(async () => expect(await queued(here.db, id)).toBe(0), WAIT);
      } finally {
        await stop();
      }
    } finally {
      await there.close();
      await here.close();
      await dropSchema(url, schema);
    }
  },
);

it("a sweep opened on one process is announced to the batchers of every process, with its chain", async () => {
  const url = process.env.DATABASE_URL;
  const schema = `t_wake_${randomBytes(4).toString("hex")}`;
  // On PostgreSQL two connections to one schema, as two processes; PGlite is one process.
  const here = url ? await createDatabase({ url, schema }) : database;
  const there = url ? await createDatabase({ url, schema }) : database;
  const heard: string[] = [];
  const unlisten = await here.notifications.listen(SWEEPS_TOPIC, {
    message: (chainKey) => heard.push(chainKey),
  });
  try {
    const step = await servicesOn(there).sweeps.transfer({
      chainKey: "base",
      depositIndex: 7,
      token: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
      to: "0x000000000000000000000000000000000000dEaD",
      amount: 1n,
      purpose: "refund",
      idempotencyKey: `wake-test:${randomBytes(4).toString("hex")}`,
    });
    expect(step).toMatchObject({ state: "waiting" });
    await vi.waitFor(() => expect(heard).toEqual(["base"]), WAIT);
  } finally {
    await unlisten();
    if (url) {
      await there.close();
      await here.close();
      await dropSchema(url, schema);
    }
  }
});
