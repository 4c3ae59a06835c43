import { getAddress } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway, type TestTenant } from "../testing/test-gateway.ts";

let gw: TestGateway;
let shop: TestTenant;
let other: TestTenant;

interface Reply {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

async function call(
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: unknown; raw?: string } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["Content-Type"] ??= "application/json";
  }
  const res = await fetch(`${gw.url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
}

const server = (t: TestTenant) => ({
  "X-Client-ID": t.clientId,
  Origin: t.origin,
  "X-STUDIO-API-KEY": t.apiKey,
});
const browser = (t: TestTenant) => ({ "X-Client-ID": t.clientId, Origin: t.origin });
const INTENT = "/v1/studio/api/payment/intent";
const LIST = "/v1/studio/api/payment/intents";

// The request of the reference's direct-API integration guide.
const SAMPLE = {
  fiat_amount: "300.0",
  fiat_currency: "TWD",
  callback_url: "https://example.com/callback",
  order_data: { order_id: "uid_12345", item_id: "100", customer_id: "0x03971234567890" },
  group_key: "buy_stone_with_usdt",
};

beforeAll(async () => {
  gw = await startTestGateway();
  shop = await gw.createTenant({ origin: "https://shop.example" });
  other = await gw.createTenant({ origin: "https://other.example" });
});

afterAll(async () => {
  await gw?.close();
});

describe("create payment intent", () => {
  it("answers the reference's sample request with every documented field", async () => {
    const before = Math.floor(Date.now() / 1000);
    const r = await call("POST", INTENT, { headers: server(shop), body: SAMPLE });
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
      client_id: shop.clientId,
      org_id: shop.orgId,
      payer_address: null,
      payment_tx_timestamp: null,
      aggregation_tx_hash: null,
    });
    expect(getAddress(d.payment_address)).toBe(d.payment_address);
    expect(Number.isInteger(d.payment_deadline)).toBe(true);
    expect(d.payment_deadline - before).toBeGreaterThanOrEqual(1799);
    expect(d.payment_deadline - before).toBeLessThanOrEqual(1801);
  });

  it("returns order_data unaltered, key order included, on create and get", async () => {
    const order = '{"z":1,"a":{"y":[1,2,{"b":null}],"x":"é"},"m":true}';
    const raw = `{"fiat_amount":"10","fiat_currency":"USD","order_data":${order}}`;
    const r = await call("POST", INTENT, {
      headers: { ...server(shop), "Content-Type": "application/json" },
      raw,
    });
    expect(r.status).toBe(200);
    expect(r.text).toContain(`"order_data":${order}`);
    const g = await call("GET", `${INTENT}/${r.body.data.payment_intent_id}`, {
      headers: server(shop),
    });
    expect(g.text).toContain(`"order_data":${order}`);
  });

  it("quotes USD at par and stores the rate", async () => {
    const r = await call("POST", INTENT, {
      headers: server(shop),
      body: { fiat_amount: "12.34", fiat_currency: "USD" },
    });
    expect(r.body.data.crypto_amount).toBe("12.34");
    const id = r.body.data.payment_intent_id;
    const row = await gw.database.db
      .selectFrom("payment_intents")
      .select(["rate", "rate_source", "crypto_amount", "deposit_index"])
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ rate: "1", rate_source: "static", crypto_amount: "12340000" });
  });

  it("records the creation in the status history", async () => {
    const r = await call("POST", INTENT, { headers: server(shop), body: SAMPLE });
    const history = await gw.services.intents.history(
      { kind: "api_key", orgId: shop.orgId, apiKeyId: 0, client: undefined },
      r.body.data.payment_intent_id,
    );
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ from_status: null, to_status: "pending" });
  });

  it("ignores unknown fields and accepts null optionals", async () => {
    const r = await call("POST", INTENT, {
      headers: server(shop),
      body: {
        fiat_amount: "1",
        fiat_currency: "USD",
        surprise: 1,
        callback_url: null,
        order_data: null,
        group_key: null,
      },
    });
    expect(r.status).toBe(200);
    expect(r.body.data).not.toHaveProperty("surprise");
    expect(r.body.data).toMatchObject({ callback_url: null, order_data: null, group_key: null });
  });

  it("books server calls without X-Client-ID on the organisation's client", async () => {
    const r = await call("POST", INTENT, {
      headers: { "X-STUDIO-API-KEY": shop.apiKey },
      body: SAMPLE,
    });
    expect(r.status).toBe(200);
    expect(r.body.data.client_id).toBe(shop.clientId);
  });

  it("gives 200 concurrent creates 200 distinct deposit addresses", async () => {
    const replies = await Promise.all(
      Array.from({ length: 200 }, () =>
        call("POST", INTENT, {
          headers: server(shop),
          body: { fiat_amount: "1", fiat_currency: "USD" },
        }),
      ),
    );
    expect(replies.map((r) => r.status)).toEqual(Array(200).fill(200));
    expect(new Set(replies.map((r) => r.body.data.payment_address)).size).toBe(200);
    expect(new Set(replies.map((r) => r.body.data.payment_intent_id)).size).toBe(200);
  });

  describe("validation: 400 with code 4000 naming the field", () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ["fiat_amount missing", { fiat_currency: "TWD" }, "fiat_amount"],
      ["fiat_amount as a number", { fiat_amount: 300, fiat_currency: "TWD" }, "fiat_amount"],
      [
        "fiat_amount with 3 decimals",
        { fiat_amount: "1.001", fiat_currency: "TWD" },
        "fiat_amount",
      ],
      ["fiat_amount negative", { fiat_amount: "-1", fiat_currency: "TWD" }, "fiat_amount"],
      ["fiat_amount exponent", { fiat_amount: "1e3", fiat_currency: "TWD" }, "fiat_amount"],
      ["fiat_amount with spaces", { fiat_amount: " 1", fiat_currency: "TWD" }, "fiat_amount"],
      ["fiat_amount zero", { fiat_amount: "0", fiat_currency: "USD" }, "fiat_amount"],
      ["fiat_amount below 0.01", { fiat_amount: "0.00", fiat_currency: "USD" }, "fiat_amount"],
      [
        "fiat_amount above the maximum",
        { fiat_amount: "1000000000.01", fiat_currency: "USD" },
        "fiat_amount",
      ],
      [
        "fiat_amount too small to quote",
        { fiat_amount: "0.01", fiat_currency: "TWD" },
        "fiat_amount",
      ],
      ["fiat_currency missing", { fiat_amount: "1" }, "fiat_currency"],
      ["fiat_currency unknown", { fiat_amount: "1", fiat_currency: "EUR" }, "fiat_currency"],
      [
        "callback_url not a URL",
        { fiat_amount: "1", fiat_currency: "USD", callback_url: "nope" },
        "callback_url",
      ],
      [
        "callback_url ftp",
        { fiat_amount: "1", fiat_currency: "USD", callback_url: "ftp://x.example/a" },
        "callback_url",
      ],
      [
        "callback_url javascript",
        { fiat_amount: "1", fiat_currency: "USD", callback_url: "javascript:alert(1)" },
        "callback_url",
      ],
      [
        "order_data an array",
        { fiat_amount: "1", fiat_currency: "USD", order_data: [1] },
        "order_data",
      ],
      [
        "order_data a string",
        { fiat_amount: "1", fiat_currency: "USD", order_data: "x" },
        "order_data",
      ],
      [
        "order_data over 1000 chars",
        { fiat_amount: "1", fiat_currency: "USD", order_data: { s: "x".repeat(995) } },
        "order_data",
      ],
      ["group_key a number", { fiat_amount: "1", fiat_currency: "USD", group_key: 7 }, "group_key"],
      [
        "group_key too long",
        { fiat_amount: "1", fiat_currency: "USD", group_key: "g".repeat(256) },
        "group_key",
      ],
    ];
    it.each(cases)("%s", async (_name, body, field) => {
      const r = await call("POST", INTENT, { headers: server(shop), body });
      expect(r.status).toBe(400);
      expect(r.body.code).toBe(4000);
      expect(r.body.message).toMatch(new RegExp(`^${field}: `));
    });

    it("accepts the bounds: 0.01 USD, 1000000000 USD, order_data of exactly 1000 chars", async () => {
      const data = { s: "x".repeat(1000 - '{"s":""}'.length) };
      expect(JSON.stringify(data).length).toBe(1000);
      for (const body of [
        { fiat_amount: "0.01", fiat_currency: "USD" },
        { fiat_amount: "1000000000", fiat_currency: "USD" },
        { fiat_amount: "5", fiat_currency: "USD", order_data: data },
      ]) {
        const r = await call("POST", INTENT, { headers: server(shop), body });
        expect(r.status, JSON.stringify(r.body)).toBe(200);
      }
    });

    it('accepts trailing zeros beyond 2 decimals ("300.000") and returns the amount as sent', async () => {
      const r = await call("POST", INTENT, {
        headers: server(shop),
        body: { fiat_amount: "300.000", fiat_currency: "TWD" },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.data).toMatchObject({ fiat_amount: "300.000", crypto_amount: "9.23" });
    });

    it("says which field is missing", async () => {
      const r = await call("POST", INTENT, {
        headers: server(shop),
        body: { fiat_currency: "USD" },
      });
      expect(r.body.message).toBe("fiat_amount: is required");
    });
  });

  it("refuses malformed JSON, a non-object body, the wrong media type and a huge body", async () => {
    const h = server(shop);
    const malformed = await call("POST", INTENT, {
      headers: { ...h, "Content-Type": "application/json" },
      raw: '{"fiat_amount":',
    });
    expect([malformed.status, malformed.body.code]).toEqual([400, 4000]);
    const array = await call("POST", INTENT, {
      headers: { ...h, "Content-Type": "application/json" },
      raw: "[1,2]",
    });
    expect([array.status, array.body.code]).toEqual([400, 4000]);
    const text = await call("POST", INTENT, {
      headers: { ...h, "Content-Type": "text/plain" },
      raw: JSON.stringify(SAMPLE),
    });
    expect([text.status, text.body.code]).toEqual([415, 4014]);
    const none = await call("POST", INTENT, { headers: h });
    expect(none.status).toBeGreaterThanOrEqual(400);
    expect(none.status).toBeLessThan(500);
    const huge = await call("POST", INTENT, {
      headers: { ...h, "Content-Type": "application/json" },
      raw: JSON.stringify({ ...SAMPLE, pad: "x".repeat(200_000) }),
    });
    expect([huge.status, huge.body.code]).toEqual([413, 4013]);
  });
});

describe("authentication and tenancy", () => {
  it("rejects a missing, unknown or revoked API key with 4002", async () => {
    const unknown = await call("POST", INTENT, {
      headers: { "X-STUDIO-API-KEY": "sg_live_nope" },
      body: SAMPLE,
    });
    expect([unknown.status, unknown.body.code]).toEqual([401, 4002]);
    const t = await gw.createTenant();
    const key = await gw.services.tenancy.createApiKey({ orgId: t.orgId, name: "temp" });
    expect(
      (await call("POST", INTENT, { headers: { "X-STUDIO-API-KEY": key.secret }, body: SAMPLE }))
        .status,
    ).toBe(200);
    await gw.services.tenancy.revokeApiKey(key.id);
    const revoked = await call("POST", INTENT, {
      headers: { "X-STUDIO-API-KEY": key.secret },
      body: SAMPLE,
    });
    expect([revoked.status, revoked.body.code]).toEqual([401, 4002]);
    // The organisation's other key still works: keys are revoked one by one.
    expect((await call("POST", INTENT, { headers: server(t), body: SAMPLE })).status).toBe(200);
    const list = await call("GET", LIST, { headers: browser(shop) });
    expect([list.status, list.body.code]).toEqual([401, 4002]);
  });

  it("rejects an X-Client-ID that is unknown or belongs to another organisation with 4001", async () => {
    const foreign = await call("POST", INTENT, {
      headers: { "X-STUDIO-API-KEY": shop.apiKey, "X-Client-ID": other.clientId },
      body: SAMPLE,
    });
    expect([foreign.status, foreign.body.code]).toEqual([401, 4001]);
    for (const id of ["0123456789abcdef0123456789abcdef", "not-a-client"]) {
      const r = await call("POST", INTENT, {
        headers: { "X-Client-ID": id, Origin: shop.origin },
        body: SAMPLE,
      });
      expect([r.status, r.body.code]).toEqual([401, 4001]);
    }
    const nothing = await call("POST", INTENT, { body: SAMPLE });
    expect([nothing.status, nothing.body.code]).toEqual([401, 4001]);
  });

  it("asks for X-Client-ID when the key's organisation has no client", async () => {
    const { tenancy } = gw.services;
    const org = await tenancy.createOrganization({ name: "No clients" });
    const key = await tenancy.createApiKey({ orgId: org.id, name: "k" });
    const r = await call("POST", INTENT, {
      headers: { "X-STUDIO-API-KEY": key.secret },
      body: SAMPLE,
    });
    expect([r.status, r.body.code]).toEqual([401, 4001]);
    expect(r.body.message).toMatch(/X-Client-ID/);
  });

  it("lets a browser create and get its client's intents from an allowed Origin, with CORS headers", async () => {
    const r = await call("POST", INTENT, { headers: browser(shop), body: SAMPLE });
    expect(r.status).toBe(200);
    expect(r.headers.get("access-control-allow-origin")).toBe(shop.origin);
    const g = await call("GET", `${INTENT}/${r.body.data.payment_intent_id}`, {
      headers: browser(shop),
    });
    expect(g.status).toBe(200);
    expect(g.body.data.payment_intent_id).toBe(r.body.data.payment_intent_id);
    expect(g.headers.get("access-control-allow-origin")).toBe(shop.origin);
  });

  it("refuses a browser call from an Origin that is not allowed, or without one, with 4003", async () => {
    const evil = await call("POST", INTENT, {
      headers: { "X-Client-ID": shop.clientId, Origin: "https://evil.example" },
      body: SAMPLE,
    });
    expect([evil.status, evil.body.code]).toEqual([403, 4003]);
    expect(evil.headers.get("access-control-allow-origin")).toBeNull();
    // Allowed for another client does not make it allowed for this one.
    const cross = await call("POST", INTENT, {
      headers: { "X-Client-ID": shop.clientId, Origin: other.origin },
      body: SAMPLE,
    });
    expect([cross.status, cross.body.code]).toEqual([403, 4003]);
    const none = await call("POST", INTENT, {
      headers: { "X-Client-ID": shop.clientId },
      body: SAMPLE,
    });
    expect([none.status, none.body.code]).toEqual([403, 4003]);
  });

  it("answers CORS preflight for allowed origins only", async () => {
    const ok = await call("OPTIONS", INTENT, {
      headers: {
        Origin: shop.origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-client-id",
      },
    });
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe(shop.origin);
    const list = (name: string) =>
      ok.headers
        .get(name)
        ?.split(",")
        .map((v) => v.trim().toLowerCase());
    expect(list("access-control-allow-headers")).toEqual(["content-type", "x-client-id"]);
    expect(list("access-control-allow-methods")).toEqual(["get", "post"]);
    expect(ok.headers.get("access-control-max-age")).toBe("600");
    expect(list("vary")).toContain("origin");
    for (const origin of ["https://evil.example", undefined]) {
      const bad = await call("OPTIONS", INTENT, {
        headers: {
          ...(origin === undefined ? {} : { Origin: origin }),
          "Access-Control-Request-Method": "POST",
        },
      });
      expect([bad.status, bad.body.code], origin).toEqual([403, 4003]);
      expect(bad.body.message).toMatch(/not allowed/);
      expect(bad.headers.get("access-control-allow-origin")).toBeNull();
    }
  });

  it("lets only an origin some client allows read a response, and never a server call's", async () => {
    // A browser caller refused by its own client still reads the refusal from a known origin.
    const cross = await call("POST", INTENT, {
      headers: { "X-Client-ID": shop.clientId, Origin: other.origin },
      body: SAMPLE,
    });
    expect([cross.status, cross.body.code]).toEqual([403, 4003]);
    expect(cross.headers.get("access-control-allow-origin")).toBe(other.origin);
    expect(cross.headers.get("vary")).toMatch(/origin/i);
    const byServer = await call("POST", INTENT, {
      headers: server(shop),
      body: SAMPLE,
    });
    expect(byServer.status).toBe(200);
    expect(byServer.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("never shows one organisation's intents to another, nor another client's to a browser", async () => {
    const mine = (await call("POST", INTENT, { headers: server(shop), body: SAMPLE })).body.data
      .payment_intent_id;
    const theirs = await call("GET", `${INTENT}/${mine}`, { headers: server(other) });
    expect([theirs.status, theirs.body.code]).toEqual([404, 4006]);
    const list = await call("GET", `${LIST}?page_size=100`, { headers: server(other) });
    expect(list.body.data.items.map((i: any) => i.payment_intent_id)).not.toContain(mine);
    // A second client of the same organisation: the browser path is scoped to the client.
    const second = await gw.services.tenancy.createClient({
      orgId: shop.orgId,
      name: "app",
      allowedOrigins: ["https://app.example"],
    });
    const viaOtherClient = await call("GET", `${INTENT}/${mine}`, {
      headers: { "X-Client-ID": second.clientId, Origin: "https://app.example" },
    });
    expect([viaOtherClient.status, viaOtherClient.body.code]).toEqual([404, 4006]);
  });
});

describe("get payment intent", () => {
  it("returns 404 with 4006 for unknown and malformed ids", async () => {
    for (const id of ["A".repeat(32), "short", "%27%3B--"]) {
      const r = await call("GET", `${INTENT}/${id}`, { headers: server(shop) });
      expect([r.status, r.body.code]).toEqual([404, 4006]);
    }
  });
});

describe("list payment intents", () => {
  let t: TestTenant;
  const ids: string[] = [];

  beforeAll(async () => {
    t = await gw.createTenant();
    const keys = [
      "alpha",
      "100%_off",
      "beta_alpha",
      "gamma",
      "100x_off",
      "ALPHA-2",
      null,
      "alpha",
      "delta",
      "epsilon",
      "zeta",
      "eta",
    ];
    for (const group_key of keys) {
      const r = await call("POST", INTENT, {
        headers: server(t),
        body: { fiat_amount: "1", fiat_currency: "USD", group_key },
      });
      ids.push(r.body.data.payment_intent_id);
    }
  });

  it("pages newest first with defaults 1 and 10", async () => {
    const r = await call("GET", LIST, { headers: server(t) });
    expect(r.status).toBe(200);
    expect(r.body.data).toMatchObject({ total_count: 12, page_number: 1, page_size: 10 });
    expect(r.body.data.items.map((i: any) => i.payment_intent_id)).toEqual(
      [...ids].reverse().slice(0, 10),
    );
    const p2 = await call("GET", `${LIST}?page_number=2&page_size=10`, { headers: server(t) });
    expect(p2.body.data.items.map((i: any) => i.payment_intent_id)).toEqual(
      [...ids].reverse().slice(10),
    );
    const p3 = await call("GET", `${LIST}?page_number=3`, { headers: server(t) });
    expect(p3.body.data).toMatchObject({ items: [], total_count: 12, page_number: 3 });
  });

  it("matches group_key as a case-insensitive substring, with % and _ taken literally", async () => {
    const groups = async (q: string) =>
      (
        await call("GET", `${LIST}?page_size=100&group_key=${encodeURIComponent(q)}`, {
          headers: server(t),
        })
      ).body.data.items
        .map((i: any) => i.group_key)
        .sort();
    expect(await groups("alpha")).toEqual(["ALPHA-2", "alpha", "alpha", "beta_alpha"]);
    expect(await groups("%")).toEqual(["100%_off"]);
    expect(await groups("_")).toEqual(["100%_off", "100x_off", "beta_alpha"]);
    // As LIKE patterns these would match "100x_off" too.
    expect(await groups("0%_")).toEqual(["100%_off"]);
  });

  it("filters by repeated status and by client_id", async () => {
    const pending = await call("GET", `${LIST}?status=pending&status=success&page_size=100`, {
      headers: server(t),
    });
    expect(pending.body.data.total_count).toBe(12);
    const success = await call("GET", `${LIST}?status=success`, { headers: server(t) });
    expect(success.body.data.total_count).toBe(0);
    const byClient = await call("GET", `${LIST}?client_id=${t.clientId}`, { headers: server(t) });
    expect(byClient.body.data.total_count).toBe(12);
    const foreignClient = await call("GET", `${LIST}?client_id=${shop.clientId}`, {
      headers: server(t),
    });
    expect(foreignClient.body.data.total_count).toBe(0);
  });

  it.each([
    ["page_size=101", "page_size"],
    ["page_size=0", "page_size"],
    ["page_number=0", "page_number"],
    ["page_number=abc", "page_number"],
    ["status=paid", "status"],
  ])("rejects %s with 4000 naming %s", async (query, field) => {
    const r = await call("GET", `${LIST}?${query}`, { headers: server(t) });
    expect([r.status, r.body.code]).toEqual([400, 4000]);
    expect(r.body.message).toMatch(new RegExp(`^${field}`));
  });

  it("accepts page_size 100", async () => {
    const r = await call("GET", `${LIST}?page_size=100`, { headers: server(t) });
    expect(r.body.data.page_size).toBe(100);
  });
});

describe("service endpoints", () => {
  it("serves health, readiness, the OpenAPI document and the reference page", async () => {
    expect((await call("GET", "/healthz")).body).toEqual({ status: "ok" });
    expect((await call("GET", "/readyz")).status).toBe(200);
    const doc = await call("GET", "/openapi.json");
    expect(doc.body.openapi).toBe("3.1.0");
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([INTENT, `${INTENT}/{id}`, LIST]),
    );
    const status = doc.body.paths[LIST].get.parameters.find((p: any) => p.name === "status");
    expect(status.schema.items.enum).toEqual([
      "pending",
      "success",
      "expired",
      "insufficient_not_refunded",
      "insufficient_refunded",
    ]);
    const page = await call("GET", "/docs");
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/<html/i);
  });

  it("answers unknown routes with 404 and code 4004", async () => {
    const r = await call("GET", "/v1/studio/api/nothing", { headers: server(shop) });
    expect([r.status, r.body.code]).toEqual([404, 4004]);
  });
});

describe("order of checks", () => {
  it("authenticates before it validates", async () => {
    const r = await call("POST", INTENT, {
      headers: { "X-STUDIO-API-KEY": "sg_live_wrong" },
      body: { fiat_amount: 1 },
    });
    expect([r.status, r.body.code]).toEqual([401, 4002]);
    const list = await call("GET", `${LIST}?page_size=1000`, { headers: browser(shop) });
    expect([list.status, list.body.code]).toEqual([401, 4002]);
  });
});
