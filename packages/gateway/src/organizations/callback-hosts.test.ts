import { afterAll, beforeAll, expect, it } from "vitest";
import {
  browser,
  INTENT,
  type IntentFixture,
  server,
  startIntentFixture,
} from "../payments/intent-fixture.ts";

// X-Client-ID and Origin are public, so a browser create may send callbacks only to the hosts its
// client lists (none unless configured); a server's create, with its secret key, is not bound.

let f: IntentFixture;
beforeAll(async () => {
  f = await startIntentFixture();
});
afterAll(() => f?.stop());

const create = (headers: Record<string, string>, callbackUrl?: string) =>
  f.call("POST", INTENT, {
    headers,
    body: {
      fiat_amount: "1",
      fiat_currency: "USD",
      ...(callbackUrl === undefined ? {} : { callback_url: callbackUrl }),
    },
  });

it("refuses any callback host on a browser create until the client lists some", async () => {
  const r = await create(browser(f.other), "https://other.example/callback");
  expect([r.status, r.body.code, r.body.data]).toEqual([
    403,
    4024,
    { field: "callback_url", host: "other.example" },
  ]);
  expect(r.body.message).toMatch(/^callback_url: host other\.example is not allowed/);
  // Without a callback_url the browser create is what it was.
  expect((await create(browser(f.other))).status).toBe(200);
});

it("accepts the client's hosts (any port or path), refuses others, and * allows any", async () => {
  const tenancy = f.gateway.services.tenancy;
  await tenancy.setAllowedCallbackHosts(f.shop.clientId, ["Shop.Example", "hooks.shop.example"]);
  for (const url of [
    "https://shop.example/callback",
    "https://SHOP.example:8443/a?b=c",
    "http://hooks.shop.example/x",
  ]) {
    const ok = await create(browser(f.shop), url);
    expect(ok.status, `${url}: ${ok.text}`).toBe(200);
    expect(ok.body.data.callback_url).toBe(url);
  }
  for (const url of [
    "https://evil.example/callback",
    "https://shop.example.evil.example/",
    "https://sub.shop.example/",
  ]) {
    const refused = await create(browser(f.shop), url);
    expect([refused.status, refused.body.code], url).toEqual([403, 4024]);
  }
  await tenancy.setAllowedCallbackHosts(f.shop.clientId, ["*"]);
  expect((await create(browser(f.shop), "https://anywhere.example/cb")).status).toBe(200);
  await tenancy.setAllowedCallbackHosts(f.shop.clientId, []);
  expect((await create(browser(f.shop), "https://shop.example/cb")).status).toBe(403);
});

it("leaves a server's create (API key) free to choose its callback host", async () => {
  const r = await create(server(f.other), "https://elsewhere.example/callback");
  expect(r.status, r.text).toBe(200);
  expect(r.body.data.callback_url).toBe("https://elsewhere.example/callback");
});

it("refuses a host that is not a host name when it is set", async () => {
  const tenancy = f.gateway.services.tenancy;
  for (const bad of ["https://shop.example", "shop.example:443", "shop.example/path", ""]) {
    await expect(
      tenancy.setAllowedCallbackHosts(f.shop.clientId, [bad]),
      bad,
    ).rejects.toMatchObject({
      code: 4000,
      data: { field: "callback_host" },
    });
  }
});
