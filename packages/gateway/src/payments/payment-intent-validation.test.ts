import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  INTENT,
  type IntentFixture,
  SAMPLE,
  server,
  startIntentFixture,
} from "./intent-fixture.ts";

// What a create request may hold: each field's rules and bounds, and bodies that are not JSON
// objects.

let f: IntentFixture;
beforeAll(async () => {
  f = await startIntentFixture();
});
afterAll(() => f?.stop());

describe("create payment intent", () => {
  it("ignores unknown fields and accepts null optionals", async () => {
    const r = await f.call("POST", INTENT, {
      headers: server(f.shop),
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

  it("takes description and return_url (extensions), returns them, trims the description", async () => {
    const r = await f.call("POST", INTENT, {
      headers: server(f.shop),
      body: {
        fiat_amount: "1",
        fiat_currency: "USD",
        description: "  2 × Oolong tea 150 g\n1 × 茶杯  ",
        return_url: "https://shop.example/orders/42?from=pay",
      },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.data).toMatchObject({
      description: "2 × Oolong tea 150 g\n1 × 茶杯",
      return_url: "https://shop.example/orders/42?from=pay",
    });
    const read = await f.call("GET", `${INTENT}/${r.body.data.payment_intent_id}`, {
      headers: server(f.shop),
    });
    expect(read.body.data).toMatchObject({
      description: "2 × Oolong tea 150 g\n1 × 茶杯",
      return_url: "https://shop.example/orders/42?from=pay",
    });
    // Without them (a KryptoGO request), both are null; a blank description is none.
    const plain = await f.call("POST", INTENT, {
      headers: server(f.shop),
      body: { fiat_amount: "1", fiat_currency: "USD", description: "   " },
    });
    expect(plain.body.data).toMatchObject({ description: null, return_url: null });
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
      ["fiat_currency unknown", { fiat_amount: "1", fiat_currency: "XXX" }, "fiat_currency"],
      ["fiat_currency in lower case", { fiat_amount: "1", fiat_currency: "eur" }, "fiat_currency"],
      [
        "a fraction of a yen (JPY has no minor units)",
        { fiat_amount: "1000.5", fiat_currency: "JPY" },
        "fiat_amount",
      ],
      ["a fraction of a won", { fiat_amount: "100.01", fiat_currency: "KRW" }, "fiat_amount"],
      ["EUR with 3 decimals", { fiat_amount: "12.345", fiat_currency: "EUR" }, "fiat_amount"],
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
        "callback_url with an empty host label",
        { fiat_amount: "1", fiat_currency: "USD", callback_url: "http://a..b/" },
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
      [
        "group_key with a NUL character",
        { fiat_amount: "1", fiat_currency: "USD", group_key: "a\u0000b" },
        "group_key",
      ],
      [
        "callback_url with a NUL character",
        { fiat_amount: "1", fiat_currency: "USD", callback_url: "https://shop.example/a\u0000b" },
        "callback_url",
      ],
      [
        "description over 500 chars",
        { fiat_amount: "1", fiat_currency: "USD", description: "d".repeat(501) },
        "description",
      ],
      [
        "description with a control character",
        { fiat_amount: "1", fiat_currency: "USD", description: "tea\u0007" },
        "description",
      ],
      [
        "description with a lone surrogate",
        { fiat_amount: "1", fiat_currency: "USD", description: "tea \ud800" },
        "description",
      ],
      [
        "description a number",
        { fiat_amount: "1", fiat_currency: "USD", description: 7 },
        "description",
      ],
      [
        "return_url relative",
        { fiat_amount: "1", fiat_currency: "USD", return_url: "/orders/1" },
        "return_url",
      ],
      [
        "return_url javascript",
        { fiat_amount: "1", fiat_currency: "USD", return_url: "javascript:alert(1)" },
        "return_url",
      ],
      [
        "return_url with credentials",
        { fiat_amount: "1", fiat_currency: "USD", return_url: "https://user:pw@shop.example/" },
        "return_url",
      ],
      [
        "return_url too long",
        {
          fiat_amount: "1",
          fiat_currency: "USD",
          return_url: `https://shop.example/${"a".repeat(2048)}`,
        },
        "return_url",
      ],
    ];
    it.each(cases)("%s", async (_name, body, field) => {
      const r = await f.call("POST", INTENT, { headers: server(f.shop), body });
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
        const r = await f.call("POST", INTENT, { headers: server(f.shop), body });
        expect(r.status, JSON.stringify(r.body)).toBe(200);
      }
    });

    it('accepts trailing zeros beyond 2 decimals ("300.000") and returns the amount as sent', async () => {
      const r = await f.call("POST", INTENT, {
        headers: server(f.shop),
        body: { fiat_amount: "300.000", fiat_currency: "TWD" },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.data).toMatchObject({ fiat_amount: "300.000", crypto_amount: "9.23" });
    });

    it("says which field is missing", async () => {
      const r = await f.call("POST", INTENT, {
        headers: server(f.shop),
        body: { fiat_currency: "USD" },
      });
      expect(r.body.message).toBe("fiat_amount: is required");
    });
  });

  it("refuses malformed JSON, a non-object body, the wrong media type and a huge body", async () => {
    const h = server(f.shop);
    const malformed = await f.call("POST", INTENT, {
      headers: { ...h, "Content-Type": "application/json" },
      raw: '{"fiat_amount":',
    });
    expect([malformed.status, malformed.body.code]).toEqual([400, 4000]);
    const array = await f.call("POST", INTENT, {
      headers: { ...h, "Content-Type": "application/json" },
      raw: "[1,2]",
    });
    expect([array.status, array.body.code]).toEqual([400, 4000]);
    const text = await f.call("POST", INTENT, {
      headers: { ...h, "Content-Type": "text/plain" },
      raw: JSON.stringify(SAMPLE),
    });
    expect([text.status, text.body.code]).toEqual([415, 4014]);
    const none = await f.call("POST", INTENT, { headers: h });
    expect(none.status).toBeGreaterThanOrEqual(400);
    expect(none.status).toBeLessThan(500);
    const huge = await f.call("POST", INTENT, {
      headers: { ...h, "Content-Type": "application/json" },
      raw: JSON.stringify({ ...SAMPLE, pad: "x".repeat(200_000) }),
    });
    expect([huge.status, huge.body.code]).toEqual([413, 4013]);
  });

  it("counts a chunked body (no Content-Length) as it streams in: within the limit made, past it 413", async () => {
    const h = { ...server(f.shop), "Content-Type": "application/json" };
    // A stream body is sent chunked: the limit is counted on the bytes, not on a header.
    const chunked = (text: string) =>
      fetch(`${f.gateway.url}${INTENT}`, {
        method: "POST",
        headers: h,
        body: new Blob([text]).stream(),
        duplex: "half",
      } as RequestInit);
    const made = await chunked(JSON.stringify(SAMPLE));
    expect([made.status, (await made.json()).code]).toEqual([200, 0]);
    const huge = await chunked(JSON.stringify({ ...SAMPLE, pad: "x".repeat(200_000) }));
    expect([huge.status, (await huge.json()).code]).toEqual([413, 4013]);
  });
});

describe("more fiat currencies", () => {
  it("quotes JPY and KRW in whole units and EUR in cents (sample rates: 155 JPY, 1460 KRW, 0.86 EUR per USD)", async () => {
    for (const [fiat_amount, fiat_currency, crypto] of [
      ["1000", "JPY", "6.45"],
      ["1000.000", "JPY", "6.45"],
      ["50000", "KRW", "34.25"],
      ["12.34", "EUR", "14.35"],
      ["100", "HKD", "12.85"],
      ["100", "SGD", "76.92"],
    ]) {
      const r = await f.call("POST", INTENT, {
        headers: server(f.shop),
        body: { fiat_amount, fiat_currency },
      });
      expect(r.status, r.text).toBe(200);
      expect(r.body.data).toMatchObject({ fiat_amount, fiat_currency, crypto_amount: crypto });
    }
  });

  it('refuses "1000.5" JPY with 400 / 4000, saying JPY has no minor units', async () => {
    const r = await f.call("POST", INTENT, {
      headers: server(f.shop),
      body: { fiat_amount: "1000.5", fiat_currency: "JPY" },
    });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({
      code: 4000,
      message: 'fiat_amount: JPY has no minor units: send a whole number of JPY (got "1000.5")',
      data: { field: "fiat_amount" },
    });
  });
});
