import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { verifyWebhook } from "../../../sdk/src/verify-webhook.ts";
import type { ReceivedCallback } from "../testing/callback-receiver.ts";
import {
  api,
  type CallbackFixture,
  eventIds,
  INTENT,
  key,
  startCallbackFixture,
} from "./callback-fixture.ts";
import { CallbackPayload } from "./schemas.ts";

// What the merchant receives: the payload, its signature (and a secret rotation), and many
// callbacks at once, each delivered exactly once.

let f: CallbackFixture;
beforeAll(async () => {
  f = await startCallbackFixture();
});
afterEach(() => f.reset());
afterAll(() => f?.stop());

describe("callback payload and signature", () => {
  it("posts the reference's fields once the status changes, signed so the SDK verifies it", async () => {
    const gw = await f.gateway();
    const shop = await gw.createTenant();
    const orderData = { order_id: "uid_12345", item_id: "100", nested: { a: [1, "2", null] } };
    const id = await f.createIntent(gw, shop, { order_data: orderData, group_key: "buy_stone" });
    const [call] = await f.receiver.waitFor(1);
    // No "pending" callback at creation: the one callback reports the change to expired.
    expect(f.receiver.received).toHaveLength(1);
    const c = call as ReceivedCallback;
    expect(c.headers["content-type"]).toBe("application/json");
    const payload = verifyWebhook(
      c.rawBody,
      c.headers["x-stablegate-signature"] as string,
      shop.webhookSecret,
    );
    expect(Object.keys(payload)).toEqual([
      "payment_intent_id",
      "client_id",
      "fiat_amount",
      "fiat_currency",
      "payment_deadline",
      "status",
      "payment_chain_id",
      "symbol",
      "crypto_amount",
      "payment_tx_hash",
      "refund_tx_hash",
      "received_amount",
      "aggregated_amount",
      "refund_amount",
      "order_data",
      "callback_url",
      "group_key",
      "event_id",
      "event_time",
    ]);
    // The body is what the published schema says, field for field and in its order.
    expect(CallbackPayload.strict().parse(payload)).toEqual(payload);
    // ... less the extension fields of the other events (docs/callbacks.md), which a status
    // callback never carries: its body stays KryptoGO's.
    const extensions = ["event", "refund", "late_payment", "collection"];
    expect(Object.keys(payload)).toEqual(
      Object.keys(CallbackPayload.shape).filter((k) => !extensions.includes(k)),
    );
    expect(payload).toMatchObject({
      payment_intent_id: id,
      client_id: shop.clientId,
      fiat_amount: "300.0",
      fiat_currency: "TWD",
      status: "expired",
      payment_chain_id: "arb",
      symbol: "USDT",
      crypto_amount: "9.23",
      payment_tx_hash: null,
      refund_tx_hash: null,
      received_amount: null,
      aggregated_amount: null,
      refund_amount: null,
      order_data: orderData,
      callback_url: f.receiver.url,
      group_key: "buy_stone",
    });
    expect(typeof payload.payment_deadline).toBe("number");
    expect(payload.event_id).toBe(c.headers["x-stablegate-event-id"]);
    expect(Math.abs(payload.event_time - Date.now() / 1000)).toBeLessThan(30);

    // The same values the API shows for the intent.
    const got = await api(gw, "GET", `${INTENT}/${id}`, key(shop));
    for (const k of ["payment_deadline", "crypto_amount", "status", "order_data"] as const)
      expect(payload[k]).toEqual(got.body.data[k]);

    // A tampered body, another organisation's secret and a stale timestamp all fail.
    const header = c.headers["x-stablegate-signature"] as string;
    const tampered = c.rawBody.replace('"expired"', '"success"');
    expect(() => verifyWebhook(tampered, header, shop.webhookSecret)).toThrow(/no signature/);
    const other = await gw.createTenant();
    expect(() => verifyWebhook(c.rawBody, header, other.webhookSecret)).toThrow(/no signature/);
    expect(() =>
      verifyWebhook(c.rawBody, header, shop.webhookSecret, { now: Date.now() / 1000 + 301 }),
    ).toThrow(/300 s/);
  });

  it("signs with both secrets for 24 hours after a rotation, then with the new one only", async () => {
    const gw = await f.gateway();
    const shop = await gw.createTenant();
    const { secret: fresh } = await gw.services.webhookSecrets.rotate(shop.orgId);
    await f.createIntent(gw, shop);
    const [first] = await f.receiver.waitFor(1);
    const header = first?.headers["x-stablegate-signature"] as string;
    expect(header.match(/v1=/g)).toHaveLength(2);
    verifyWebhook(first?.rawBody as string, header, shop.webhookSecret);
    verifyWebhook(first?.rawBody as string, header, fresh);

    f.advance(24 * 3600 * 1000 + 60_000);
    await f.createIntent(gw, shop);
    const [, second] = await f.receiver.waitFor(2);
    const header2 = second?.headers["x-stablegate-signature"] as string;
    expect(header2.match(/v1=/g)).toHaveLength(1);
    const body2 = second?.rawBody as string;
    const t2 = Number(/t=(\d+)/.exec(header2)?.[1]);
    verifyWebhook(body2, header2, fresh, { now: t2 });
    expect(() => verifyWebhook(body2, header2, shop.webhookSecret, { now: t2 })).toThrow();
  });
});

describe("load", () => {
  it("delivers 100 intents' callbacks at once, each exactly once and verifiable", async () => {
    const gw = await f.gateway();
    const shop = await gw.createTenant();
    const ids = await Promise.all(Array.from({ length: 100 }, () => f.createIntent(gw, shop)));
    // Once every event is recorded delivered, nothing can send it again: then count.
    await vi.waitFor(
      async () => {
        const { n } = await gw.database.db
          .selectFrom("callback_events")
          .select((eb) => eb.fn.countAll<string>().as("n"))
          .where("payment_intent_id", "in", ids)
          .where("state", "=", "delivered")
          .executeTakeFirstOrThrow();
        expect(Number(n)).toBe(100);
      },
      { timeout: 60_000, interval: 50 },
    );
    const calls = f.receiver.received;
    expect(calls).toHaveLength(100);
    expect(new Set(eventIds(calls)).size).toBe(100);
    expect(calls.map((c) => c.body.payment_intent_id).sort()).toEqual([...ids].sort());
    for (const c of calls)
      verifyWebhook(c.rawBody, c.headers["x-stablegate-signature"] as string, shop.webhookSecret);
  });
});
