import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  browser,
  INTENT,
  type IntentFixture,
  LIST,
  SAMPLE,
  server,
  startIntentFixture,
} from "./intent-fixture.ts";

// Who may call: API keys, client ids, browser origins and CORS, and what one tenant can see of
// another's.

let f: IntentFixture;
beforeAll(async () => {
  f = await startIntentFixture();
});
afterAll(() => f?.stop());

describe("authentication and tenancy", () => {
  it("rejects a missing, unknown or revoked API key with 4002", async () => {
    const unknown = await f.call("POST", INTENT, {
      headers: { "X-STUDIO-API-KEY": "sg_live_nope" },
      body: SAMPLE,
    });
    expect([unknown.status, unknown.body.code]).toEqual([401, 4002]);
    const t = await f.gateway.createTenant();
    const key = await f.gateway.services.tenancy.createApiKey({ orgId: t.orgId, name: "temp" });
    expect(
      (await f.call("POST", INTENT, { headers: { "X-STUDIO-API-KEY": key.secret }, body: SAMPLE }))
        .status,
    ).toBe(200);
    await f.gateway.services.tenancy.revokeApiKey(key.id);
    const revoked = await f.call("POST", INTENT, {
      headers: { "X-STUDIO-API-KEY": key.secret },
      body: SAMPLE,
    });
    expect([revoked.status, revoked.body.code]).toEqual([401, 4002]);
    // The organisation's other key still works: keys are revoked one by one.
    expect((await f.call("POST", INTENT, { headers: server(t), body: SAMPLE })).status).toBe(200);
    const list = await f.call("GET", LIST, { headers: browser(f.shop) });
    expect([list.status, list.body.code]).toEqual([401, 4002]);
  });

  it("rejects an X-Client-ID that is unknown or belongs to another organisation with 4001", async () => {
    const foreign = await f.call("POST", INTENT, {
      headers: { "X-STUDIO-API-KEY": f.shop.apiKey, "X-Client-ID": f.other.clientId },
      body: SAMPLE,
    });
    expect([foreign.status, foreign.body.code]).toEqual([401, 4001]);
    for (const id of ["0123456789abcdef0123456789abcdef", "not-a-client"]) {
      const r = await f.call("POST", INTENT, {
        headers: { "X-Client-ID": id, Origin: f.shop.origin },
        body: SAMPLE,
      });
      expect([r.status, r.body.code]).toEqual([401, 4001]);
    }
    const nothing = await f.call("POST", INTENT, { body: SAMPLE });
    expect([nothing.status, nothing.body.code]).toEqual([401, 4001]);
  });

  it("asks for X-Client-ID when the key's organisation has no client", async () => {
    const { tenancy } = f.gateway.services;
    const org = await tenancy.createOrganization({ name: "No clients" });
    const key = await tenancy.createApiKey({ orgId: org.id, name: "k" });
    const r = await f.call("POST", INTENT, {
      headers: { "X-STUDIO-API-KEY": key.secret },
      body: SAMPLE,
    });
    expect([r.status, r.body.code]).toEqual([401, 4001]);
    expect(r.body.message).toMatch(/X-Client-ID/);
  });

  it("lets a browser create and get its client's intents from an allowed Origin, with CORS headers", async () => {
    // SAMPLE's callback_url is on example.com: a host the client must list for browser creates.
    await f.gateway.services.tenancy.setAllowedCallbackHosts(f.shop.clientId, ["example.com"]);
    const r = await f.call("POST", INTENT, { headers: browser(f.shop), body: SAMPLE });
    expect(r.status).toBe(200);
    expect(r.headers.get("access-control-allow-origin")).toBe(f.shop.origin);
    const g = await f.call("GET", `${INTENT}/${r.body.data.payment_intent_id}`, {
      headers: browser(f.shop),
    });
    expect(g.status).toBe(200);
    expect(g.body.data.payment_intent_id).toBe(r.body.data.payment_intent_id);
    expect(g.headers.get("access-control-allow-origin")).toBe(f.shop.origin);
  });

  it("refuses a browser call from an Origin that is not allowed, or without one, with 4003", async () => {
    const evil = await f.call("POST", INTENT, {
      headers: { "X-Client-ID": f.shop.clientId, Origin: "https://evil.example" },
      body: SAMPLE,
    });
    expect([evil.status, evil.body.code]).toEqual([403, 4003]);
    expect(evil.headers.get("access-control-allow-origin")).toBeNull();
    // Allowed for another client does not make it allowed for this one.
    const cross = await f.call("POST", INTENT, {
      headers: { "X-Client-ID": f.shop.clientId, Origin: f.other.origin },
      body: SAMPLE,
    });
    expect([cross.status, cross.body.code]).toEqual([403, 4003]);
    const none = await f.call("POST", INTENT, {
      headers: { "X-Client-ID": f.shop.clientId },
      body: SAMPLE,
    });
    expect([none.status, none.body.code]).toEqual([403, 4003]);
  });

  it("answers CORS preflight for allowed origins only", async () => {
    const ok = await f.call("OPTIONS", INTENT, {
      headers: {
        Origin: f.shop.origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-client-id",
      },
    });
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe(f.shop.origin);
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
      const bad = await f.call("OPTIONS", INTENT, {
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
    const cross = await f.call("POST", INTENT, {
      headers: { "X-Client-ID": f.shop.clientId, Origin: f.other.origin },
      body: SAMPLE,
    });
    expect([cross.status, cross.body.code]).toEqual([403, 4003]);
    expect(cross.headers.get("access-control-allow-origin")).toBe(f.other.origin);
    expect(cross.headers.get("vary")).toMatch(/origin/i);
    const byServer = await f.call("POST", INTENT, {
      headers: server(f.shop),
      body: SAMPLE,
    });
    expect(byServer.status).toBe(200);
    expect(byServer.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("never shows one organisation's intents to another, nor another client's to a browser", async () => {
    const mine = (await f.call("POST", INTENT, { headers: server(f.shop), body: SAMPLE })).body.data
      .payment_intent_id;
    const theirs = await f.call("GET", `${INTENT}/${mine}`, { headers: server(f.other) });
    expect([theirs.status, theirs.body.code]).toEqual([404, 4006]);
    const list = await f.call("GET", `${LIST}?page_size=100`, { headers: server(f.other) });
    expect(list.body.data.items.map((i: any) => i.payment_intent_id)).not.toContain(mine);
    // A second client of the same organisation: the browser path is scoped to the client.
    const second = await f.gateway.services.tenancy.createClient({
      orgId: f.shop.orgId,
      name: "app",
      allowedOrigins: ["https://app.example"],
    });
    const viaOtherClient = await f.call("GET", `${INTENT}/${mine}`, {
      headers: { "X-Client-ID": second.clientId, Origin: "https://app.example" },
    });
    expect([viaOtherClient.status, viaOtherClient.body.code]).toEqual([404, 4006]);
  });
});

describe("order of checks", () => {
  it("authenticates before it validates", async () => {
    const r = await f.call("POST", INTENT, {
      headers: { "X-STUDIO-API-KEY": "sg_live_wrong" },
      body: { fiat_amount: 1 },
    });
    expect([r.status, r.body.code]).toEqual([401, 4002]);
    const list = await f.call("GET", `${LIST}?page_size=1000`, { headers: browser(f.shop) });
    expect([list.status, list.body.code]).toEqual([401, 4002]);
  });
});
