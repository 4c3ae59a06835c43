import { mnemonicToSeedSync } from "@scure/bip39";
import { sql } from "kysely";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Gateway, startGateway } from "../../gateway.ts";
import { loadConfig } from "../../platform/config.ts";
import { createDatabase, type DatabaseHandle } from "../../platform/database/create-database.ts";
import { type LocalChain, startLocalChain } from "../../sandbox/local-chain.ts";
import { freePort } from "../../testing/cli-process.ts";
import { chainOn } from "../../testing/lifecycle-shop.ts";
import { createTestDatabase } from "../../testing/test-database.ts";
import { createTestTenant, TEST_MNEMONIC } from "../../testing/test-gateway.ts";
import { createTestLogger } from "../../testing/test-logger.ts";
import { SETTLER_MAX_SLEEP_MS } from "./deadline-wakeup.ts";

// The deadline settler sleeps until the earliest pending deadline (at most a minute) instead of
// looking every few seconds. Two gateways on one database (on PostgreSQL each with its own pool
// and listening connection, as two processes; on PGlite sharing the one handle): the first holds
// the settler's lease and sleeps with nothing pending; an intent created through the second, due
// in seconds, must still be settled when its deadline passes, not when the first next looks.

const TTL_SECONDS = 3;

let chain: LocalChain;
let database: DatabaseHandle;
let secondDatabase: DatabaseHandle | undefined;
let leader: Gateway;
let other: Gateway;

const start = (db: DatabaseHandle) =>
  startGateway({
    config: loadConfig(
      { PAYMENT_TTL_SECONDS: String(TTL_SECONDS) },
      { PORT: 0, HOST: "127.0.0.1", LOG_LEVEL: "silent" },
    ),
    log: createTestLogger(),
    seed: mnemonicToSeedSync(TEST_MNEMONIC),
    database: db,
    extraChains: [chainOn({ chain }, "local", { pollingIntervalMs: 50 })],
  });

beforeAll(async () => {
  chain = await startLocalChain({
    port: await freePort(),
    blockTimeSeconds: 0.5,
    log: createTestLogger(),
  });
  database = await createTestDatabase();
  leader = await start(database);
});

afterAll(async () => {
  await other?.stop();
  await secondDatabase?.close();
  await leader?.stop();
  await database?.close();
  await chain?.stop();
});

it("settles an intent created on another gateway when its deadline passes, though the settler was asleep", async () => {
  // The leader's settler has looked (nothing pending) and holds the lease before the other starts.
  await expect
    .poll(() => leader.services.leases.held().map((l) => l.name), { timeout: 30_000 })
    .toContain("deadline-settler");
  if (database.kind === "postgres" && process.env.DATABASE_URL) {
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(
      database.db,
    );
    secondDatabase = await createDatabase({
      url: process.env.DATABASE_URL,
      schema: rows[0]?.schema as string,
    });
  }
  other = await start(secondDatabase ?? database);
  const tenant = await createTestTenant(other.services.tenancy, { chain: "local" });
  const res = await fetch(`${other.url}/v1/studio/api/payment/intent`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-STUDIO-API-KEY": tenant.apiKey },
    body: JSON.stringify({ fiat_amount: "2", fiat_currency: "USD" }),
  });
  const { data } = (await res.json()) as {
    data: { payment_intent_id: string; payment_deadline: number };
  };
  const status = async () => {
    const r = await fetch(`${leader.url}/v1/studio/api/payment/intent/${data.payment_intent_id}`, {
      headers: { "X-STUDIO-API-KEY": tenant.apiKey },
    });
    return ((await r.json()) as { data: { status: string } }).data.status;
  };
  await expect.poll(status, { timeout: 2 * SETTLER_MAX_SLEEP_MS }).toBe("expired");
  expect(leader.services.leases.held().map((l) => l.name)).toContain("deadline-settler");
  const row = await database.db
    .selectFrom("payment_intent_status_history")
    .select(["created_at", "cause"])
    .where("payment_intent_id", "=", data.payment_intent_id)
    .where("to_status", "=", "expired")
    .executeTakeFirstOrThrow();
  expect(row.cause).toBe("deadline");
  // On time: the first block past the deadline (0.5 s blocks, whole-second timestamps) wakes the
  // settler. Without the wake-up it would have looked again up to a minute after its last look.
  const lateMs = new Date(row.created_at).getTime() - data.payment_deadline * 1000;
  expect(lateMs).toBeGreaterThan(0);
  expect(lateMs).toBeLessThan(SETTLER_MAX_SLEEP_MS / 4);
});
