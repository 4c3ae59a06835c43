import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  api,
  attemptsReach,
  type CallbackFixture,
  eventIds,
  INTENT,
  key,
  startCallbackFixture,
} from "./callback-fixture.ts";
import { CallbackPayload } from "./schemas.ts";

// The callbacks API: an intent's event log and resend, for the owning organisation's API key,
// and the callback published in /openapi.json.

let f: CallbackFixture;
beforeAll(async () => {
  f = await startCallbackFixture();
});
afterEach(() => f.reset());
afterAll(() => f?.stop());

describe("callbacks API", () => {
  it("replays a resend retried with its Idempotency-Key; another organisation's same key is its own", async () => {
    const gw = await f.gateway();
    const shop = await gw.createTenant();
    const other = await gw.createTenant();
    const mine = await f.createIntent(gw, shop);
    const theirs = await f.createIntent(gw, other);
    await attemptsReach(gw, shop, mine, 1);
    await attemptsReach(gw, other, theirs, 1);
    const resend = async (tenant: typeof shop, id: string) => {
      const res = await fetch(`${gw.url}${INTENT}/${id}/callbacks/resend`, {
        method: "POST",
        headers: { ...key(tenant), "Idempotency-Key": "resend-once" },
      });
      return {
        status: res.status,
        replayed: res.headers.get("idempotent-replayed"),
        text: await res.text(),
      };
    };
    const first = await resend(shop, mine);
    expect(first).toMatchObject({ status: 200, replayed: null });
    const again = await resend(shop, mine);
    expect(again).toEqual({ ...first, replayed: "true" });
    const elsewhere = await resend(other, theirs);
    expect(elsewhere).toMatchObject({ status: 200, replayed: null });
    expect(JSON.parse(elsewhere.text).data.event_id).not.toBe(JSON.parse(first.text).data.event_id);
  });

  it("lists events with attempts, resends the latest, and is for the API key of the intent's organisation", async () => {
    const gw = await f.gateway();
    const shop = await gw.createTenant();
    const other = await gw.createTenant();
    const id = await f.createIntent(gw, shop);
    const event = await attemptsReach(gw, shop, id, 1);
    expect(event).toMatchObject({
      status: "expired",
      callback_url: f.receiver.url,
      state: "delivered",
      next_attempt_at: null,
      failed_at: null,
      last_error: null,
      payload: expect.objectContaining({ payment_intent_id: id, status: "expired" }),
    });
    expect(event.attempts[0]).toMatchObject({ outcome: "delivered", http_status: 200 });

    const resent = await api(gw, "POST", `${INTENT}/${id}/callbacks/resend`, key(shop));
    expect(resent.body).toMatchObject({
      code: 0,
      data: { event_id: event.event_id, state: "pending" },
    });
    const calls = await f.receiver.waitFor(2);
    expect(eventIds(calls)).toEqual([event.event_id, event.event_id]);
    expect(calls[1]?.rawBody).toBe(calls[0]?.rawBody);
    await attemptsReach(gw, shop, id, 2);

    const path = `${INTENT}/${id}/callbacks`;
    const browser = await api(gw, "GET", path, {
      "X-Client-ID": shop.clientId,
      Origin: shop.origin,
    });
    expect(browser).toMatchObject({ status: 401, body: { code: 4002 } });
    expect((await api(gw, "GET", path, key(other))).body.code).toBe(4006);
    expect((await api(gw, "POST", `${path}/resend`, key(other))).body.code).toBe(4006);

    const quiet = await api(gw, "POST", INTENT, key(shop), {
      fiat_amount: "1",
      fiat_currency: "USD",
    });
    const none = await api(
      gw,
      "POST",
      `${INTENT}/${quiet.body.data.payment_intent_id}/callbacks/resend`,
      key(shop),
    );
    expect(none).toMatchObject({ status: 409, body: { code: 4016 } });

    const doc = (await (await fetch(`${gw.url}/openapi.json`)).json()) as {
      paths: object;
      webhooks: Record<string, any>;
      components: { schemas: Record<string, any> };
    };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/v1/studio/api/payment/intent/{id}/callbacks",
        "/v1/studio/api/payment/intent/{id}/callbacks/resend",
      ]),
    );
    // The callback itself is published as an OpenAPI 3.1 webhook with the payload's schema.
    expect(
      doc.webhooks["payment-status"].post.requestBody.content["application/json"].schema,
    ).toEqual({ $ref: "#/components/schemas/CallbackPayload" });
    expect(Object.keys(doc.components.schemas.CallbackPayload.properties)).toEqual(
      Object.keys(CallbackPayload.shape),
    );
  });
});
