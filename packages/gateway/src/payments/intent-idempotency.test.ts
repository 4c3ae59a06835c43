import { request } from "node:http";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  browser,
  INTENT,
  type IntentFixture,
  SAMPLE,
  server,
  startIntentFixture,
} from "./intent-fixture.ts";

// Idempotency-Key on intent create: a retried create is the same intent (same id, same
// address), whatever happened to the first answer; another body under the key is a 409.

let f: IntentFixture;
beforeAll(async () => {
  f = await startIntentFixture();
});
afterAll(() => f?.stop());

let n = 0;
/** A key no other test of this file uses. */
const freshKey = () => `create-${process.pid}-${Date.now()}-${++n}`;

const withKey = (headers: Record<string, string>, key: string) => ({
  ...headers,
  "Idempotency-Key": key,
});

/** How many intents carry `key` (any organisation). */
async function intentsWithKey(key: string): Promise<number> {
  const row = await f.gateway.database.db
    .selectFrom("payment_intents")
    .select((eb) => eb.fn.countAll<string>().as("n"))
    .where("idempotency_key", "=", key)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe("Idempotency-Key on create", () => {
  it("answers a retry with the same intent: same id, same address", async () => {
    const key = freshKey();
    const first = await f.call("POST", INTENT, {
      headers: withKey(server(f.shop), key),
      body: SAMPLE,
    });
    expect(first.status).toBe(200);
    // The same body written otherwise (key order) is the same request.
    const reordered = Object.fromEntries(Object.entries(SAMPLE).reverse());
    const again = await f.call("POST", INTENT, {
      headers: withKey(server(f.shop), key),
      body: reordered,
    });
    expect(again.status).toBe(200);
    expect(again.body.data.payment_intent_id).toBe(first.body.data.payment_intent_id);
    expect(again.body.data.payment_address).toBe(first.body.data.payment_address);
    expect(again.body.data).toEqual(first.body.data);
    expect(await intentsWithKey(key)).toBe(1);
  });

  it("makes a new intent for each create without a key", async () => {
    const a = await f.call("POST", INTENT, { headers: server(f.shop), body: SAMPLE });
    const b = await f.call("POST", INTENT, { headers: server(f.shop), body: SAMPLE });
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(b.body.data.payment_intent_id).not.toBe(a.body.data.payment_intent_id);
    expect(b.body.data.payment_address).not.toBe(a.body.data.payment_address);
  });

  it("refuses the same key with a different body: 409 / 4018 naming the first intent", async () => {
    const key = freshKey();
    const first = await f.call("POST", INTENT, {
      headers: withKey(server(f.shop), key),
      body: SAMPLE,
    });
    expect(first.status).toBe(200);
    const other = await f.call("POST", INTENT, {
      headers: withKey(server(f.shop), key),
      body: { ...SAMPLE, fiat_amount: "301" },
    });
    expect(other.status).toBe(409);
    expect(other.body.code).toBe(4018);
    expect(other.body.message).toContain("Idempotency-Key");
    expect(other.body.data).toEqual({ id: first.body.data.payment_intent_id });
    expect(await intentsWithKey(key)).toBe(1);
  });

  it("keeps organisations apart: another organisation's same key makes its own intent", async () => {
    const key = freshKey();
    const mine = await f.call("POST", INTENT, {
      headers: withKey(server(f.shop), key),
      body: SAMPLE,
    });
    const theirs = await f.call("POST", INTENT, {
      headers: withKey(server(f.other), key),
      body: SAMPLE,
    });
    expect(mine.status).toBe(200);
    expect(theirs.status).toBe(200);
    expect(theirs.body.data.org_id).toBe(f.other.orgId);
    expect(theirs.body.data.payment_intent_id).not.toBe(mine.body.data.payment_intent_id);
    expect(await intentsWithKey(key)).toBe(2);
  });

  it("makes one intent of concurrent creates with one key, and all of them answer it", async () => {
    const key = freshKey();
    const replies = await Promise.all(
      Array.from({ length: 6 }, () =>
        f.call("POST", INTENT, { headers: withKey(server(f.shop), key), body: SAMPLE }),
      ),
    );
    for (const r of replies) expect(r.status).toBe(200);
    const ids = new Set(replies.map((r) => r.body.data.payment_intent_id));
    const addresses = new Set(replies.map((r) => r.body.data.payment_address));
    expect(ids.size).toBe(1);
    expect(addresses.size).toBe(1);
    expect(await intentsWithKey(key)).toBe(1);
  });

  it("gives the intent to a retry whose first answer was lost on the way", async () => {
    const key = freshKey();
    // The client hangs up as soon as the whole request is sent (a timeout, a dropped
    // connection): the gateway still makes the intent, and the retry must find it.
    const body = JSON.stringify(SAMPLE);
    await new Promise<void>((resolve, reject) => {
      const req = request(`${f.gateway.url}${INTENT}`, {
        method: "POST",
        headers: {
          ...withKey(server(f.shop), key),
          "Content-Type": "application/json",
          "Content-Length": String(Buffer.byteLength(body)),
        },
      });
      req.on("error", () => {}); // the hang-up is ours
      req.on("response", () => reject(new Error("the answer came before the hang-up")));
      req.end(body, () => {
        req.destroy();
        resolve();
      });
    });
    await expect.poll(() => intentsWithKey(key), { timeout: 30_000 }).toBe(1);
    const retry = await f.call("POST", INTENT, {
      headers: withKey(server(f.shop), key),
      body: SAMPLE,
    });
    expect(retry.status).toBe(200);
    const stored = await f.gateway.database.db
      .selectFrom("payment_intents")
      .select(["id", "payment_address"])
      .where("idempotency_key", "=", key)
      .executeTakeFirstOrThrow();
    expect(retry.body.data.payment_intent_id).toBe(stored.id);
    expect(retry.body.data.payment_address).toBe(stored.payment_address);
    expect(await intentsWithKey(key)).toBe(1);
  });

  it("keeps a browser's keys to its client, and names no intent to it on a conflict", async () => {
    const key = freshKey();
    // A browser's callback_url must be one of its client's hosts: none here.
    const { callback_url: _, ...fromBrowser } = SAMPLE;
    const first = await f.call("POST", INTENT, {
      headers: withKey(browser(f.shop), key),
      body: fromBrowser,
    });
    expect(first.status).toBe(200);
    const again = await f.call("POST", INTENT, {
      headers: withKey(browser(f.shop), key),
      body: fromBrowser,
    });
    expect(again.body.data.payment_intent_id).toBe(first.body.data.payment_intent_id);
    const changed = await f.call("POST", INTENT, {
      headers: withKey(browser(f.shop), key),
      body: { ...fromBrowser, group_key: "another" },
    });
    expect(changed.status).toBe(409);
    expect(changed.body.code).toBe(4018);
    expect(changed.body.data).toBeUndefined();
  });

  it("lets a key be used again after 24 hours", async () => {
    const key = freshKey();
    const first = await f.call("POST", INTENT, {
      headers: withKey(server(f.shop), key),
      body: SAMPLE,
    });
    expect(first.status).toBe(200);
    await f.gateway.database.db
      .updateTable("payment_intents")
      .set({ created_at: sql<Date>`created_at - interval '25 hours'` })
      .where("id", "=", first.body.data.payment_intent_id)
      .execute();
    const later = await f.call("POST", INTENT, {
      headers: withKey(server(f.shop), key),
      body: { ...SAMPLE, fiat_amount: "500" },
    });
    expect(later.status).toBe(200);
    expect(later.body.data.payment_intent_id).not.toBe(first.body.data.payment_intent_id);
    expect(await intentsWithKey(key)).toBe(1);
  });

  it.each([
    ["empty", ""],
    ["too long", "k".repeat(256)],
    ["with a space", "order 1"],
  ])("refuses a key that is %s: 400 / 4000 naming the header", async (_, key) => {
    const r = await f.call("POST", INTENT, { headers: withKey(server(f.shop), key), body: SAMPLE });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe(4000);
    expect(r.body.message).toMatch(/^Idempotency-Key: /);
  });
});
