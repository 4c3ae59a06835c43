import { mnemonicToSeedSync } from "@scure/bip39";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createServices } from "../gateway.ts";
import { loadConfig } from "../platform/config.ts";
import type { DatabaseHandle } from "../platform/database/create-database.ts";
import { createTestDatabase } from "../testing/test-database.ts";
import { createTestTenant, TEST_MNEMONIC } from "../testing/test-gateway.ts";
import { createTestLogger } from "../testing/test-logger.ts";
import { createTreasuryWorkQueue } from "./work-queue.ts";

// The treasury queue's claim, as two processes sharing it see it: a claim the pass keeps renewing
// stays its own however long the pass takes, and a claim nobody renews (its process was killed)
// comes back once its short lease has run out.

const LEASE_MS = 2000;
let database: DatabaseHandle;
let services: ReturnType<typeof createServices>;

beforeAll(async () => {
  database = await createTestDatabase();
  services = createServices({
    config: loadConfig({}, { LOG_LEVEL: "silent" }),
    database,
    seed: mnemonicToSeedSync(TEST_MNEMONIC),
    log: createTestLogger(),
    resolve: async () => [{ address: "93.184.216.34", family: 4 }],
  });
});
afterAll(async () => {
  await database?.close();
});

const queue = () =>
  createTreasuryWorkQueue({
    db: database.db,
    now: () => new Date(),
    log: createTestLogger(),
    batchSize: 10,
    intervalMs: 100,
    leaseMs: LEASE_MS,
  });

async function queuedIntent(): Promise<string> {
  const tenant = await createTestTenant(services.tenancy);
  const caller = await services.tenancy.authenticate({
    apiKey: tenant.apiKey,
    clientId: undefined,
    origin: undefined,
  });
  const view = await services.intents.create(caller, {
    fiat_amount: "10",
    fiat_currency: "USD",
    callback_url: "https://merchant.example/callback",
  });
  const at = new Date();
  await database.db
    .insertInto("treasury_work")
    .values({ payment_intent_id: view.payment_intent_id, next_attempt_at: at, enqueued_at: at })
    .execute();
  return view.payment_intent_id;
}

const lockedUntil = async (id: string) =>
  (
    await database.db
      .selectFrom("treasury_work")
      .select("locked_until")
      .where("payment_intent_id", "=", id)
      .executeTakeFirstOrThrow()
  ).locked_until;

it("a claim held by a working pass is renewed, and nobody else takes the job meanwhile", async () => {
  const id = await queuedIntent();
  const [a, b] = [queue(), queue()];
  const jobs = await a.claim();
  expect(jobs.map((j) => j.id)).toEqual([id]);
  const first = +new Date((await lockedUntil(id)) as Date);
  await a.hold(jobs, async (finished) => {
    // Past the first lease's end, renewed by the pass: the other process finds nothing.
    await expect
      .poll(async () => +new Date((await lockedUntil(id)) as Date), { interval: 50 })
      .toBeGreaterThan(first + LEASE_MS);
    expect(await b.claim()).toEqual([]);
    finished(jobs[0] as (typeof jobs)[0]);
  });
  await database.db.deleteFrom("treasury_work").where("payment_intent_id", "=", id).execute();
});

it("a claim nobody renews (its process was killed) comes back after the lease", async () => {
  const id = await queuedIntent();
  const [a, b] = [queue(), queue()];
  expect((await a.claim()).map((j) => j.id)).toEqual([id]);
  // a is gone without a word: b gets the job once the lease has run out, not before.
  const until = +new Date((await lockedUntil(id)) as Date);
  await expect.poll(async () => (await b.claim()).map((j) => j.id), { interval: 50 }).toEqual([id]);
  expect(Date.now()).toBeGreaterThanOrEqual(until);
  await database.db.deleteFrom("treasury_work").where("payment_intent_id", "=", id).execute();
});
