import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestGateway, type TestGateway, type TestTenant } from "../../testing/test-gateway.ts";
import { createLifecycleService } from "./lifecycle-service.ts";

let gw: TestGateway;
let t: TestTenant;

beforeAll(async () => {
  gw = await startTestGateway({ env: { PAYMENT_TTL_SECONDS: "60" } });
  t = await gw.createTenant();
});

afterAll(async () => {
  await gw?.close();
});

async function createIntent(): Promise<string> {
  const res = await fetch(`${gw.url}/v1/studio/api/payment/intent`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-STUDIO-API-KEY": t.apiKey },
    body: JSON.stringify({ fiat_amount: "10", fiat_currency: "USD" }),
  });
  return ((await res.json()) as { data: { payment_intent_id: string } }).data.payment_intent_id;
}

async function status(id: string): Promise<string> {
  const res = await fetch(`${gw.url}/v1/studio/api/payment/intent/${id}`, {
    headers: { "X-STUDIO-API-KEY": t.apiKey },
  });
  return ((await res.json()) as { data: { status: string } }).data.status;
}

it("expires unpaid intents once their deadline has passed, once, with a history row", async () => {
  const id = await createIntent();
  const at = (offsetSeconds: number) =>
    createLifecycleService({
      db: gw.database.db,
      graceSeconds: 600,
      now: () => new Date(Date.now() + offsetSeconds * 1000),
    });
  expect(await at(30).settleDue()).toBe(0);
  expect(await status(id)).toBe("pending");
  expect(await at(61).settleDue()).toBeGreaterThanOrEqual(1);
  expect(await status(id)).toBe("expired");
  expect(await at(120).settleDue()).toBe(0);
  const history = await gw.database.db
    .selectFrom("payment_intent_status_history")
    .select(["from_status", "to_status", "cause"])
    .where("payment_intent_id", "=", id)
    .orderBy("id")
    .execute();
  expect(history).toEqual([
    { from_status: null, to_status: "pending", cause: expect.any(String) },
    { from_status: "pending", to_status: "expired", cause: "deadline" },
  ]);
});

it("does not expire an intent by the wall clock while the chain's newest stored block is before its deadline", async () => {
  // What a reorg does: its common ancestor is older than the deadline, the payment it took back
  // comes again in a block still to be read, on time.
  const id = await createIntent();
  const intent = await gw.database.db
    .selectFrom("payment_intents")
    .select(["payment_chain_id", "payment_deadline"])
    .where("id", "=", id)
    .executeTakeFirstOrThrow();
  const chain = intent.payment_chain_id;
  const deadline = Math.floor(intent.payment_deadline.getTime() / 1000);
  const block = (number: number, timestamp: number) => ({
    chain_id: chain,
    number,
    hash: `0x${number.toString(16).padStart(64, "0")}`,
    parent_hash: `0x${(number - 1).toString(16).padStart(64, "0")}`,
    timestamp,
    finalized: false,
  });
  const recomputeAt = (offsetSeconds: number) =>
    gw.database.db.transaction().execute((trx) =>
      createLifecycleService({
        db: gw.database.db,
        graceSeconds: 600,
        now: () => new Date(Date.now() + offsetSeconds * 1000),
      }).recompute(trx, [id], "chain:test:reorg"),
    );
  try {
    await gw.database.db
      .insertInto("chain_blocks")
      .values(block(1, deadline - 10))
      .execute();
    // The wall clock is a minute past the deadline; the chain is not there yet.
    expect(await recomputeAt(120)).toEqual([]);
    expect(await status(id)).toBe("pending");
    await gw.database.db
      .insertInto("chain_blocks")
      .values(block(2, deadline + 1))
      .execute();
    expect(await recomputeAt(120)).toEqual([{ id, from: "pending", to: "expired" }]);
  } finally {
    await gw.database.db.deleteFrom("chain_blocks").where("chain_id", "=", chain).execute();
  }
});
