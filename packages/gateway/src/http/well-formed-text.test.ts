import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  browser,
  INTENT,
  type IntentFixture,
  LIST,
  server,
  startIntentFixture,
} from "../payments/intent-fixture.ts";
import { signInAs } from "../testing/studio-client.ts";

// PostgreSQL stores neither U+0000 nor a lone UTF-16 surrogate: every string a request carries,
// in every route's body, query and path, is refused with a 400 naming the field, never a 500.

let f: IntentFixture;
let intentId: string;
beforeAll(async () => {
  f = await startIntentFixture();
  const r = await f.call("POST", INTENT, {
    headers: server(f.shop),
    body: { fiat_amount: "1", fiat_currency: "USD" },
  });
  intentId = r.body.data.payment_intent_id;
});
afterAll(() => f?.stop());

const BAD = [
  ["NUL", "a\u0000b", "must not contain the NUL character (\\u0000)"],
  ["a lone high surrogate", "a\ud800b", "must not contain a lone UTF-16 surrogate"],
  ["a lone low surrogate", "\udc00", "must not contain a lone UTF-16 surrogate"],
] as const;

const intentBody = { fiat_amount: "1", fiat_currency: "USD" };
const transferBody = {
  chain_id: "arb",
  contract_address: "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9",
  amount: "1",
  wallet_address: "0x3fE5aC82B997255b8226abb6aEfd91f405fe2e8e",
};

// [route, field, the body with the bad string put in]
type BodyCase = [string, string, (bad: string) => Record<string, unknown>];
const bodyCases: BodyCase[] = [
  ...["fiat_amount", "fiat_currency", "callback_url", "group_key", "unknown_field"].map(
    (field): BodyCase => [INTENT, field, (bad) => ({ ...intentBody, [field]: bad })],
  ),
  [INTENT, "order_data.note", (bad) => ({ ...intentBody, order_data: { note: bad } })],
  [INTENT, "order_data.a.b[1]", (bad) => ({ ...intentBody, order_data: { a: { b: ["x", bad] } } })],
  [INTENT, "order_data", (bad) => ({ ...intentBody, order_data: { [`k${bad}`]: "v" } })],
  ...Object.keys(transferBody).map(
    (field): BodyCase => [
      "/v1/studio/api/asset_pro/transfer",
      field,
      (bad) => ({ ...transferBody, [field]: bad }),
    ],
  ),
];

describe("bodies", () => {
  for (const [kind, bad, message] of BAD) {
    it.each(bodyCases)(`${kind}: POST %s, %s`, async (path, field, make) => {
      const r = await f.call("POST", path, { headers: server(f.shop), body: make(bad) });
      expect([r.status, r.body?.code, r.body?.data?.field], r.text).toEqual([400, 4000, field]);
      expect(r.body.message).toContain(`${field}: `);
      expect(r.body.message).toContain(message);
    });
  }

  it.each(["PATCH", "PUT", "DELETE"])(
    "%s: refuses them in any key of the body, as POST does (PATCH let an unknown one through; found by npm run fuzz)",
    async (method) => {
      const owner = await signInAs(f.gateway, { orgId: f.shop.orgId, role: "owner" });
      const path =
        method === "PUT"
          ? `/v1/admin/orgs/${f.shop.orgId}/treasury/address`
          : method === "PATCH"
            ? `/v1/admin/orgs/${f.shop.orgId}/limits`
            : `/v1/admin/orgs/${f.shop.orgId}/members/${owner.user.userId}`;
      const r = await owner.request(method, path, { body: { unknown_field: "a\u0000b" } });
      expect([r.status, r.body?.code, r.body?.data?.field], r.text).toEqual([
        400,
        4000,
        "unknown_field",
      ]);
    },
  );

  it("refuses them on the browser path too, after authentication", async () => {
    const body = { ...intentBody, order_data: { note: "\ud800" } };
    const r = await f.call("POST", INTENT, { headers: browser(f.shop), body });
    expect([r.status, r.body.data.field]).toEqual([400, "order_data.note"]);
    const anonymous = await f.call("POST", INTENT, { body });
    expect(anonymous.status).toBe(401);
  });
});

it("refuses a body nested deeper than 64 levels, which would overflow the stack (was a 500)", async () => {
  const nested = (depth: number) =>
    `{"fiat_amount":"1","fiat_currency":"USD","order_data":{"a":${"[".repeat(depth)}${"]".repeat(depth)}}}`;
  for (const depth of [5_000, 30_000]) {
    const r = await f.call("POST", INTENT, {
      headers: { ...server(f.shop), "Content-Type": "application/json" },
      raw: nested(depth),
    });
    expect([r.status, r.body?.code, r.body?.message], r.text).toEqual([
      400,
      4000,
      `order_data.a${"[0]".repeat(62)}: must not nest deeper than 64 levels`,
    ]);
  }
  // 64 levels in all (the body, order_data, then 62 arrays) is still a payment.
  const deepest = await f.call("POST", INTENT, {
    headers: { ...server(f.shop), "Content-Type": "application/json" },
    raw: nested(62),
  });
  expect(deepest.status, deepest.text).toBe(200);
});

it("refuses a number too large for a double in order_data, which would come back as null", async () => {
  const r = await f.call("POST", INTENT, {
    headers: { ...server(f.shop), "Content-Type": "application/json" },
    raw: '{"fiat_amount":"1","fiat_currency":"USD","order_data":{"n":[1,-1e400]}}',
  });
  expect([r.status, r.body?.code, r.body?.message], r.text).toEqual([
    400,
    4000,
    "order_data.n[1]: must be a number within the double range",
  ]);
});

it.each(["0x10", "1e1", " 2", "2.0", "+2", ""])(
  "refuses the page number %j: decimal digits only",
  async (page) => {
    const r = await f.call("GET", `${LIST}?page_number=${encodeURIComponent(page)}`, {
      headers: server(f.shop),
    });
    expect([r.status, r.body?.code, r.body?.message], r.text).toEqual([
      400,
      4000,
      "page_number: must be a whole number of decimal digits",
    ]);
  },
);

describe("query parameters and path ids", () => {
  // A URL cannot carry a lone surrogate (its UTF-8 does not decode): NUL is the one to refuse.
  const queryCases: [string, string][] = [
    [LIST, "client_id"],
    [LIST, "group_key"],
    [LIST, "status"],
    [LIST, "page_number"],
    [LIST, "unknown"],
    ["/v1/studio/api/asset_pro/transfers", "page_size"],
    [`/v1/checkout/payment/{id}`, "x"],
  ];
  it.each(queryCases)("GET %s?%s=a%00b", async (path, name) => {
    const url = `${path.replace("{id}", () => intentId)}?${name}=a%00b`;
    const r = await f.call("GET", url, { headers: server(f.shop) });
    expect([r.status, r.body?.code, r.body?.message], r.text).toEqual([
      400,
      4000,
      `${name}: must not contain the NUL character (\\u0000)`,
    ]);
  });

  const pathCases: [string, string][] = [
    ["GET", `${INTENT}/{id}`],
    ["GET", `${INTENT}/{id}/callbacks`],
    ["POST", `${INTENT}/{id}/callbacks/resend`],
    ["GET", "/v1/checkout/payment/{id}"],
    ["GET", "/v1/checkout/payment/{id}/events"],
    ["GET", "/v1/studio/api/asset_pro/transfer/{id}"],
  ];
  it.each(pathCases)("%s %s with a NUL in the id", async (method, path) => {
    const r = await f.call(method, path.replace("{id}", "a%00b"), { headers: server(f.shop) });
    expect([r.status, r.body?.code, r.body?.message], r.text).toEqual([
      400,
      4000,
      "id: must not contain the NUL character (\\u0000)",
    ]);
  });

  // Studio's payment routes: the refunds list answered 500 (found by npm run fuzz).
  const adminPathCases: [string, string][] = [
    ["GET", "/payments/{id}"],
    ["GET", "/payments/{id}/refunds"],
    ["POST", "/payments/{id}/refunds"],
  ];
  it.each(adminPathCases)(
    "%s /v1/admin/orgs/{orgId}%s with a NUL in the id",
    async (method, path) => {
      const owner = await signInAs(f.gateway, { orgId: f.shop.orgId, role: "owner" });
      const url = `/v1/admin/orgs/${f.shop.orgId}${path.replace("{id}", "a%00b")}`;
      const r = await owner.request(method, url, {
        ...(method === "POST" ? { body: { amount: "1" } } : {}),
        headers: { "idempotency-key": "nul-in-the-id" },
      });
      expect([r.status, r.body?.code, r.body?.message], r.text).toEqual([
        400,
        4000,
        "id: must not contain the NUL character (\\u0000)",
      ]);
    },
  );

  // The idempotency layer stored the decoded path, NUL and all, before the route refused the
  // organisation: 500 (found by npm run fuzz).
  it("POST /v1/admin/orgs/%00/payment-links with an Idempotency-Key: no such organisation", async () => {
    const owner = await signInAs(f.gateway, { orgId: f.shop.orgId, role: "owner" });
    const r = await owner.request("POST", "/v1/admin/orgs/%00/payment-links", {
      body: { fiat_amount: "300.0", fiat_currency: "TWD", reusable: false },
      headers: { "idempotency-key": "nul-in-the-org" },
    });
    expect([r.status, r.body?.code], r.text).toEqual([404, 4004]);
  });

  it("answers the hosted page's unknown id with its 404 page", async () => {
    const r = await f.call("GET", "/pay/a%00b");
    expect(r.status).toBe(404);
  });
});
