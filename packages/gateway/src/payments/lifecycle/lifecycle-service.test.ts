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
