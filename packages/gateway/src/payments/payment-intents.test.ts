import { getAddress } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  INTENT,
  type IntentFixture,
  SAMPLE,
  server,
  startIntentFixture,
} from "./intent-fixture.ts";

// Creating an intent: the documented answer, the quote, the history row and many at once.

let f: IntentFixture;
beforeAll(async () => {
  f = await startIntentFixture();
});
afterAll(() => f?.stop());

describe("create payment intent", () => {
  it("answers the reference's sample request with every documented field", async () => {
    const before = Math.floor(Date.now() / 1000);
    const r = await f.call("POST", INTENT, { headers: server(f.shop), body: SAMPLE });
    const after = Math.floor(Date.now() / 1000);
    expect(r.status).toBe(200);
    expect(r.body.code).toBe(0);
    const d = r.body.data;
    expect(Object.keys(d)).toEqual([
      "payment_intent_id",
      "payment_chain_id",
      "payment_address",
      "token_address",
      "symbol",
      "decimals",
      "crypto_amount",
      "fiat_amount",
      "fiat_currency",
      "payment_deadline",
      "status",
      "payment_tx_hash",
      "refund_tx_hash",
      "received_amount",
      "aggregated_amount",
      "refund_amount",
      "order_data",
      "callback_url",
      "group_key",
      "client_id",
      "org_id",
      "payer_address",
      "payment_tx_timestamp",
      "aggregation_tx_hash",
      "excess_amount",
      "late_amount",
      "late_refund_amount",
      "late_refund_tx_hash",
      "description",
      "return_url",
    ]);
    expect(d.payment_intent_id).toMatch(/^[0-9A-Za-z]{32}$/);
    expect(d).toMatchObject({
      payment_chain_id: "arb",
      token_address: "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9",
      symbol: "USDT",
      decimals: 6,
      crypto_amount: "9.23",
      fiat_amount: "300.0",
      fiat_currency: "TWD",
      status: "pending",
      payment_tx_hash: null,
      refund_tx_hash: null,
      received_amount: null,
      aggregated_amount: null,
      refund_amount: null,
      order_data: SAMPLE.order_data,
      callback_url: "https://example.com/callback",
      group_key: "buy_stone_with_usdt",
      client_id: f.shop.clientId,
      org_id: f.shop.orgId,
      payer_address: null,
      payment_tx_timestamp: null,
      aggregation_tx_hash: null,
    });
    expect(getAddress(d.payment_address)).toBe(d.payment_address);
    expect(Number.isInteger(d.payment_deadline)).toBe(true);
    // 30 minutes from the moment the request was handled, which lies between before and after.
    expect(d.payment_deadline).toBeGreaterThanOrEqual(before + 1800);
    expect(d.payment_deadline).toBeLessThanOrEqual(after + 1800);
  });

  it("returns order_data unaltered, key order included, on create and get", async () => {
    const order = '{"z":1,"a":{"y":[1,2,{"b":null}],"x":"é"},"m":true}';
    const raw = `{"fiat_amount":"10","fiat_currency":"USD","order_data":${order}}`;
    const r = await f.call("POST", INTENT, {
      headers: { ...server(f.shop), "Content-Type": "application/json" },
      raw,
    });
    expect(r.status).toBe(200);
    expect(r.text).toContain(`"order_data":${order}`);
    const g = await f.call("GET", `${INTENT}/${r.body.data.payment_intent_id}`, {
      headers: server(f.shop),
    });
    expect(g.text).toContain(`"order_data":${order}`);
  });

  it("quotes USD at par and stores the rate", async () => {
    const r = await f.call("POST", INTENT, {
      headers: server(f.shop),
      body: { fiat_amount: "12.34", fiat_currency: "USD" },
    });
    expect(r.body.data.crypto_amount).toBe("12.34");
    const id = r.body.data.payment_intent_id;
    const row = await f.gateway.database.db
      .selectFrom("payment_intents")
      .select(["rate", "rate_source", "crypto_amount", "deposit_index"])
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ rate: "1", rate_source: "static", crypto_amount: "12340000" });
  });

  it("records the creation in the status history", async () => {
    const r = await f.call("POST", INTENT, { headers: server(f.shop), body: SAMPLE });
    const history = await f.gateway.services.intents.history(
      { kind: "api_key", orgId: f.shop.orgId, apiKeyId: 0, client: undefined },
      r.body.data.payment_intent_id,
    );
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ from_status: null, to_status: "pending" });
  });

  it("books server calls without X-Client-ID on the organisation's client", async () => {
    const r = await f.call("POST", INTENT, {
      headers: { "X-STUDIO-API-KEY": f.shop.apiKey },
      body: SAMPLE,
    });
    expect(r.status).toBe(200);
    expect(r.body.data.client_id).toBe(f.shop.clientId);
  });

  it("gives 200 concurrent creates 200 distinct deposit addresses", async () => {
    const replies = await Promise.all(
      Array.from({ length: 200 }, () =>
        f.call("POST", INTENT, {
          headers: server(f.shop),
          body: { fiat_amount: "1", fiat_currency: "USD" },
        }),
      ),
    );
    expect(replies.map((r) => r.status)).toEqual(Array(200).fill(200));
    expect(new Set(replies.map((r) => r.body.data.payment_address)).size).toBe(200);
    expect(new Set(replies.map((r) => r.body.data.payment_intent_id)).size).toBe(200);
  });
});
