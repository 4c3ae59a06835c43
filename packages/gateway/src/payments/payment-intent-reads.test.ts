import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestTenant } from "../testing/test-gateway.ts";
import { INTENT, type IntentFixture, LIST, server, startIntentFixture } from "./intent-fixture.ts";

// Reading intents back: one by id, and the list with its paging and filters.

let f: IntentFixture;
beforeAll(async () => {
  f = await startIntentFixture();
});
afterAll(() => f?.stop());

describe("get payment intent", () => {
  it("returns 404 with 4006 for unknown and malformed ids", async () => {
    for (const id of ["A".repeat(32), "short", "%27%3B--"]) {
      const r = await f.call("GET", `${INTENT}/${id}`, { headers: server(f.shop) });
      expect([r.status, r.body.code]).toEqual([404, 4006]);
    }
  });
});

describe("list payment intents", () => {
  let t: TestTenant;
  const ids: string[] = [];

  beforeAll(async () => {
    t = await f.gateway.createTenant();
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
      const r = await f.call("POST", INTENT, {
        headers: server(t),
        body: { fiat_amount: "1", fiat_currency: "USD", group_key },
      });
      ids.push(r.body.data.payment_intent_id);
    }
  });

  it("pages newest first with defaults 1 and 10", async () => {
    const r = await f.call("GET", LIST, { headers: server(t) });
    expect(r.status).toBe(200);
    expect(r.body.data).toMatchObject({ total_count: 12, page_number: 1, page_size: 10 });
    expect(r.body.data.items.map((i: any) => i.payment_intent_id)).toEqual(
      [...ids].reverse().slice(0, 10),
    );
    const p2 = await f.call("GET", `${LIST}?page_number=2&page_size=10`, { headers: server(t) });
    expect(p2.body.data.items.map((i: any) => i.payment_intent_id)).toEqual(
      [...ids].reverse().slice(10),
    );
    const p3 = await f.call("GET", `${LIST}?page_number=3`, { headers: server(t) });
    expect(p3.body.data).toMatchObject({ items: [], total_count: 12, page_number: 3 });
  });

  it("matches group_key as a case-insensitive substring, with % and _ taken literally", async () => {
    const groups = async (q: string) =>
      (
        await f.call("GET", `${LIST}?page_size=100&group_key=${encodeURIComponent(q)}`, {
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
    const pending = await f.call("GET", `${LIST}?status=pending&status=success&page_size=100`, {
      headers: server(t),
    });
    expect(pending.body.data.total_count).toBe(12);
    const success = await f.call("GET", `${LIST}?status=success`, { headers: server(t) });
    expect(success.body.data.total_count).toBe(0);
    const byClient = await f.call("GET", `${LIST}?client_id=${t.clientId}`, { headers: server(t) });
    expect(byClient.body.data.total_count).toBe(12);
    const foreignClient = await f.call("GET", `${LIST}?client_id=${f.shop.clientId}`, {
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
    const r = await f.call("GET", `${LIST}?${query}`, { headers: server(t) });
    expect([r.status, r.body.code]).toEqual([400, 4000]);
    expect(r.body.message).toMatch(new RegExp(`^${field}`));
  });

  it("accepts page_size 100", async () => {
    const r = await f.call("GET", `${LIST}?page_size=100`, { headers: server(t) });
    expect(r.body.data.page_size).toBe(100);
  });
});
