import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INTENT } from "../payments/intent-fixture.ts";
import { createTestDatabase } from "../testing/test-database.ts";
import { startTestGateway, type TestGateway, type TestTenant } from "../testing/test-gateway.ts";

// Limits of 3 per minute: the 4th request in the window is a 429 with Retry-After and code 4029,
// counted per API key, per client and per address, each apart from the others.

const LIMIT = 3;
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let behindProxy: TestGateway; // TRUST_PROXY=1: the address is X-Forwarded-For's last
let direct: TestGateway; // TRUST_PROXY=0, no limit on API keys
let a: TestTenant;
let b: TestTenant;
let intentId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const env = {
    RATE_LIMIT_PER_API_KEY: String(LIMIT),
    RATE_LIMIT_PER_CLIENT: String(LIMIT),
    RATE_LIMIT_PER_IP: String(LIMIT),
  };
  behindProxy = await startTestGateway({ database, env: { ...env, TRUST_PROXY: "1" } });
  direct = await startTestGateway({ database, env: { ...env, RATE_LIMIT_PER_API_KEY: "0" } });
  a = await behindProxy.createTenant();
  b = await behindProxy.createTenant();
  const created = await call(
    direct,
    "POST",
    INTENT,
    { "X-STUDIO-API-KEY": a.apiKey },
    {
      fiat_amount: "1",
      fiat_currency: "USD",
    },
  );
  intentId = created.body.data.payment_intent_id;
});
afterAll(async () => {
  await behindProxy?.close();
  await direct?.close();
  await database?.close();
});

async function call(
  gateway: TestGateway,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: unknown,
) {
  const res = await fetch(`${gateway.url}${path}`, {
    method,
    headers: body === undefined ? headers : { ...headers, "Content-Type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: { code?: number; message?: string; data?: Record<string, unknown> } | undefined;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, body: parsed as Record<string, any> };
}

/** Sends `LIMIT` requests that pass, then expects the next to be refused. */
async function expectLimited(send: () => ReturnType<typeof call>, what: string) {
  for (let i = 0; i < LIMIT; i++) expect((await send()).status, `${what} #${i + 1}`).not.toBe(429);
  const refused = await send();
  expect([refused.status, refused.body?.code], what).toEqual([429, 4029]);
  const retryAfter = Number(refused.headers.get("retry-after"));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(refused.body?.data?.retry_after).toBe(retryAfter);
  expect(refused.body?.message).toMatch(/too many requests/);
}

describe("per API key", () => {
  it("refuses the key's 4th request in the window, and only that key's", async () => {
    const get = (t: TestTenant) =>
      call(behindProxy, "GET", `${INTENT}/${intentId}`, { "X-STUDIO-API-KEY": t.apiKey });
    await expectLimited(() => get(a), "key a");
    // Another key of another organisation has its own count (its answer is a 404: not its intent).
    expect((await get(b)).status).toBe(404);
    // Still refused, on every route behind the key.
    const list = await call(behindProxy, "GET", "/v1/studio/api/payment/intents", {
      "X-STUDIO-API-KEY": a.apiKey,
    });
    expect(list.status).toBe(429);
  });

  it("counts nothing when the limit is 0", async () => {
    for (let i = 0; i < LIMIT + 2; i++) {
      const r = await call(direct, "GET", `${INTENT}/${intentId}`, {
        "X-STUDIO-API-KEY": b.apiKey,
      });
      expect(r.status).toBe(404);
    }
  });
});

describe("per client (browser calls)", () => {
  it("refuses the client's 4th call, whoever sends it, and not another client's", async () => {
    const c = await behindProxy.createTenant();
    const other = await behindProxy.createTenant();
    let n = 0;
    const get = (t: TestTenant) =>
      call(behindProxy, "GET", `${INTENT}/${intentId}`, {
        "X-Client-ID": t.clientId,
        Origin: t.origin,
        // A different address each time: the client's count is not the address's.
        "X-Forwarded-For": `198.51.100.${++n}`,
      });
    await expectLimited(() => get(c), "client c");
    expect((await get(other)).status).toBe(404);
  });
});

describe("per address", () => {
  it("limits the hosted page and its read and event stream together, per X-Forwarded-For when trusted", async () => {
    const from = (ip: string) => ({ "X-Forwarded-For": `10.9.9.9, ${ip}` });
    const paths = [`/pay/${intentId}`, `/v1/checkout/payment/${intentId}`];
    let i = 0;
    await expectLimited(
      () => call(behindProxy, "GET", paths[i++ % 2] as string, from("203.0.113.7")),
      "checkout from 203.0.113.7",
    );
    const events = await call(
      behindProxy,
      "GET",
      `/v1/checkout/payment/${intentId}/events`,
      from("203.0.113.7"),
    );
    expect(events.status).toBe(429);
    // Another address is not held back; the spoofable left part of the header is not the key.
    expect((await call(behindProxy, "GET", paths[1] as string, from("203.0.113.8"))).status).toBe(
      200,
    );
  });

  it("counts IPv6 callers by their /64", async () => {
    let n = 0;
    await expectLimited(
      () =>
        call(behindProxy, "GET", `/v1/checkout/payment/${intentId}`, {
          "X-Forwarded-For": `2001:db8:1:2::${(++n).toString(16)}`,
        }),
      "2001:db8:1:2::/64",
    );
  });

  it("counts an address's failed authentications (401), and past the limit holds back its every call", async () => {
    const from = { "X-Forwarded-For": "203.0.113.50" };
    const get = (apiKey: string) =>
      call(behindProxy, "GET", `${INTENT}/${intentId}`, { ...from, "X-STUDIO-API-KEY": apiKey });
    // Fresh keys (each has its own limit of 3): answers other than 401 are not counted.
    const [k1, k2, k3] = await Promise.all([1, 2, 3].map(() => behindProxy.createTenant()));
    for (const t of [k1, k2, k1, k2])
      expect((await get((t as TestTenant).apiKey)).status).toBe(404);
    await expectLimited(() => get("sk_wrong"), "wrong keys from 203.0.113.50");
    expect((await get((k3 as TestTenant).apiKey)).status).toBe(429);
    // Another address with a good key is not held back.
    const elsewhere = await call(behindProxy, "GET", `${INTENT}/${intentId}`, {
      "X-Forwarded-For": "203.0.113.51",
      "X-STUDIO-API-KEY": (k3 as TestTenant).apiKey,
    });
    expect(elsewhere.status).toBe(404);
  });

  it("never holds back a merchant's server for calling with many requests at once", async () => {
    // Fifty valid calls in flight together from one address, each on a connection of its own,
    // its limit 3: none was a 401, so none counts, however many are still being answered.
    const shop = await direct.createTenant();
    const created = await call(
      direct,
      "POST",
      INTENT,
      { "X-STUDIO-API-KEY": shop.apiKey },
      { fiat_amount: "1", fiat_currency: "USD" },
    );
    const url = new URL(`${direct.url}${INTENT}/${created.body.data.payment_intent_id}`);
    const statuses = await Promise.all(
      Array.from(
        { length: 50 },
        () =>
          new Promise<number | undefined>((resolve, reject) =>
            http
              .get(url, { agent: false, headers: { "X-STUDIO-API-KEY": shop.apiKey } }, (res) => {
                res.resume();
                res.on("end", () => resolve(res.statusCode));
              })
              .on("error", reject),
          ),
      ),
    );
    expect(statuses).toEqual(Array(50).fill(200));
  });

  it("ignores X-Forwarded-For unless TRUST_PROXY says a proxy sets it", async () => {
    let n = 0;
    await expectLimited(
      () =>
        call(direct, "GET", `/v1/checkout/payment/${intentId}`, {
          "X-Forwarded-For": `192.0.2.${++n}`,
        }),
      "the socket's address",
    );
  });

  it("limits browser creates by address, and never a server's create", async () => {
    const body = { fiat_amount: "1", fiat_currency: "USD" };
    let n = 0;
    const browserCreate = () => {
      // A new client each time: what holds the caller back is the address.
      n += 1;
      return call(
        behindProxy,
        "POST",
        INTENT,
        {
          "X-Client-ID": tenants[n % tenants.length]?.clientId ?? "",
          Origin: "https://x.example",
          "X-Forwarded-For": "203.0.113.99",
        },
        body,
      );
    };
    const tenants = await Promise.all(
      [1, 2, 3, 4].map(() => behindProxy.createTenant({ origin: "https://x.example" })),
    );
    await expectLimited(browserCreate, "browser creates from 203.0.113.99");
    const server = await call(
      behindProxy,
      "POST",
      INTENT,
      { "X-STUDIO-API-KEY": (tenants[0] as TestTenant).apiKey, "X-Forwarded-For": "203.0.113.99" },
      body,
    );
    expect(server.status).toBe(200);
  });
});
