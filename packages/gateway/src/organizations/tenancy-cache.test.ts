import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INTENT, SAMPLE } from "../payments/intent-fixture.ts";
import { createDatabase, type DatabaseHandle } from "../platform/database/create-database.ts";
import { createTestDatabase } from "../testing/test-database.ts";
import { startTestGateway, type TestGateway } from "../testing/test-gateway.ts";

// What every request reads about its caller is cached per process; a change must still be seen:
// at once by the process that made it, and by the others when its notification arrives.

let database: DatabaseHandle;
let gateway: TestGateway;

beforeAll(async () => {
  database = await createTestDatabase();
  gateway = await startTestGateway({ database });
});
afterAll(async () => {
  await gateway?.close();
  await database?.close();
});

async function call(gw: TestGateway, method: string, path: string, apiKey: string, body?: unknown) {
  const res = await fetch(`${gw.url}${path}`, {
    method,
    headers: { "X-STUDIO-API-KEY": apiKey, "Content-Type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as { code: number; data?: any } };
}

const countIntents = async (orgId: number) =>
  Number(
    (
      await database.db
        .selectFrom("payment_intents")
        .select((eb) => eb.fn.countAll().as("n"))
        .where("org_id", "=", orgId)
        .executeTakeFirstOrThrow()
    ).n,
  );

describe("the tenancy cache", () => {
  it("refuses a revoked key on the next request of the process that revoked it", async () => {
    const t = await gateway.createTenant();
    const key = await gateway.services.tenancy.createApiKey({ orgId: t.orgId, name: "temp" });
    // Twice: the second answer comes from the cache.
    for (let i = 0; i < 2; i++) {
      expect((await call(gateway, "POST", INTENT, key.secret, SAMPLE)).status).toBe(200);
    }
    await gateway.services.tenancy.revokeApiKey(key.id);
    const r = await call(gateway, "POST", INTENT, key.secret, SAMPLE);
    expect([r.status, r.body.code]).toEqual([401, 4002]);
  });

  it("uses a changed default chain and token in the next create", async () => {
    const t = await gateway.createTenant();
    for (let i = 0; i < 2; i++) {
      const r = await call(gateway, "POST", INTENT, t.apiKey, SAMPLE);
      expect(r.body.data).toMatchObject({ payment_chain_id: "arb", symbol: "USDT" });
    }
    await gateway.services.tenancy.setDefaultPayment(t.orgId, "arb", "USDC");
    const r = await call(gateway, "POST", INTENT, t.apiKey, SAMPLE);
    expect(r.body.data).toMatchObject({ payment_chain_id: "arb", symbol: "USDC" });
  });

  it("writes an intent and its history row together or not at all", async () => {
    const t = await gateway.createTenant();
    const ok = await call(gateway, "POST", INTENT, t.apiKey, SAMPLE);
    expect(ok.status).toBe(200);
    const before = await countIntents(t.orgId);
    const key = await database.db
      .selectFrom("api_keys")
      .select("id")
      .where("org_id", "=", t.orgId)
      .executeTakeFirstOrThrow();
    // A real failure of the history insert: a constraint this key's new creations break.
    const constraint = `no_history_${key.id}`;
    await sql
      .raw(
        `alter table payment_intent_status_history add constraint ${constraint} check (cause <> 'api_key:${key.id}') not valid`,
      )
      .execute(database.db);
    try {
      const failed = await call(gateway, "POST", INTENT, t.apiKey, SAMPLE);
      expect(failed.status).toBe(500);
    } finally {
      await sql
        .raw(`alter table payment_intent_status_history drop constraint ${constraint}`)
        .execute(database.db);
    }
    expect(await countIntents(t.orgId)).toBe(before);
    const again = await call(gateway, "POST", INTENT, t.apiKey, SAMPLE);
    expect(again.status).toBe(200);
    const history = await database.db
      .selectFrom("payment_intent_status_history")
      .select("to_status")
      .where("payment_intent_id", "=", again.body.data.payment_intent_id)
      .execute();
    expect(history).toEqual([{ to_status: "pending" }]);
  });
});

describe.runIf(process.env.DATABASE_URL)("the tenancy cache across processes", () => {
  let second: TestGateway;
  let secondDatabase: DatabaseHandle;

  beforeAll(async () => {
    // Another gateway with its own pool and listener on the same schema, as a second process is.
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(
      database.db,
    );
    secondDatabase = await createDatabase({
      url: process.env.DATABASE_URL,
      schema: rows[0]?.schema,
    });
    second = await startTestGateway({ database: secondDatabase });
  });
  afterAll(async () => {
    await second?.close();
    await secondDatabase?.close();
  });

  /** Asks again until the answer is `status` (the test's timeout bounds the wait). */
  async function until<R extends { status: number }>(status: number, request: () => Promise<R>) {
    for (;;) {
      const r = await request();
      if (r.status === status) return r;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it("refuses a key on another gateway once revoked on this one", async () => {
    const t = await gateway.createTenant();
    const key = await gateway.services.tenancy.createApiKey({ orgId: t.orgId, name: "temp" });
    for (let i = 0; i < 2; i++) {
      expect((await call(second, "POST", INTENT, key.secret, SAMPLE)).status).toBe(200);
    }
    await gateway.services.tenancy.revokeApiKey(key.id);
    const r = await until(401, () => call(second, "POST", INTENT, key.secret, SAMPLE));
    expect(r.status).toBe(401);
  });

  it("uses another gateway's change of the defaults", async () => {
    const t = await gateway.createTenant();
    for (let i = 0; i < 2; i++) {
      const r = await call(second, "POST", INTENT, t.apiKey, SAMPLE);
      expect(r.body.data).toMatchObject({ symbol: "USDT" });
    }
    await gateway.services.tenancy.setDefaultPayment(t.orgId, "arb", "USDC");
    for (;;) {
      const r = await call(second, "POST", INTENT, t.apiKey, SAMPLE);
      expect(r.status).toBe(200);
      if (r.body.data.symbol === "USDC") break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });

  it("refuses a suspended organisation's key on another gateway", async () => {
    const t = await gateway.createTenant();
    expect((await call(second, "GET", "/v1/studio/api/payment/intents", t.apiKey)).status).toBe(
      200,
    );
    await database.db.transaction().execute(async (trx) => {
      await trx
        .updateTable("organizations")
        .set({ suspended_at: new Date() })
        .where("id", "=", t.orgId)
        .execute();
      await gateway.services.tenancy.changed(trx, t.orgId);
    });
    const r = await until(403, () =>
      call(second, "GET", "/v1/studio/api/payment/intents", t.apiKey),
    );
    expect(r.body.code).toBe(4065);
  });
});
