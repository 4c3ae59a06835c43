import { createHash } from "node:crypto";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { endPaymentWindow } from "../../testing/end-payment-window.ts";
import { startTestGateway, type TestGateway, type TestTenant } from "../../testing/test-gateway.ts";

// The hosted checkout's HTTP surface without a browser: what the public read reveals, the
// event stream, the page and its files. The page itself is driven in checkout-page.test.ts.

let gw: TestGateway;
let fast: TestGateway; // settles deadlines every 100 ms: the event stream's end is observable
let shop: TestTenant;
let fastShop: TestTenant;

const SAMPLE = {
  fiat_amount: "300.0",
  fiat_currency: "TWD",
  callback_url: "https://example.com/callback",
  order_data: { order_id: "uid_12345", customer_email: "payer@example.com" },
  group_key: "buy_stone_with_usdt",
};

beforeAll(async () => {
  [gw, fast] = await Promise.all([startTestGateway(), startTestGateway({ settleIntervalMs: 100 })]);
  [shop, fastShop] = await Promise.all([gw.createTenant(), fast.createTenant()]);
});

afterAll(async () => {
  await Promise.allSettled([gw?.close(), fast?.close()]);
});

async function createIntent(g: TestGateway, t: TestTenant): Promise<{ payment_intent_id: string }> {
  const res = await fetch(`${g.url}/v1/studio/api/payment/intent`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-STUDIO-API-KEY": t.apiKey },
    body: JSON.stringify(SAMPLE),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: { payment_intent_id: string } }).data;
}

interface SentEvent {
  event: string;
  data: string;
}

/**
 * Reads server-sent events until the server ends the stream or `stopAfter` events arrived.
 * `onEvent` runs as each event arrives, before the next is read.
 */
async function readEvents(
  url: string,
  options: { stopAfter?: number; onEvent?: (e: SentEvent) => Promise<void> } = {},
  timeoutMs = 60_000,
) {
  const stopAfter = options.stopAfter ?? Number.POSITIVE_INFINITY;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const res = await fetch(url, { signal: controller.signal });
  const events: SentEvent[] = [];
  let text = "";
  let ended = false;
  try {
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    while (events.length < stopAfter) {
      const { done, value } = await reader.read();
      if (done) {
        ended = true;
        break;
      }
      text += decoder.decode(value, { stream: true });
      let cut = text.indexOf("\n\n");
      while (cut >= 0) {
        const block = text.slice(0, cut);
        text = text.slice(cut + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event !== undefined && data !== undefined) {
          events.push({ event, data });
          await options.onEvent?.({ event, data });
        }
        cut = text.indexOf("\n\n");
      }
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return { res, events, ended };
}

describe("GET /v1/checkout/payment/{id}", () => {
  it("gives the payer what they need without credentials, and nothing private", async () => {
    const { payment_intent_id: id } = await createIntent(gw, shop);
    const res = await fetch(`${gw.url}/v1/checkout/payment/${id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as { code: number; data: Record<string, unknown> };
    expect(body.code).toBe(0);
    expect(body.data).toMatchObject({
      payment_intent_id: id,
      status: "pending",
      fiat_amount: "300.0",
      fiat_currency: "TWD",
      crypto_amount: "9.23",
      crypto_amount_base: "9230000",
      symbol: "USDT",
      decimals: 6,
      token_address: "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9",
      payment_chain_id: "arb",
      chain_name: "Arbitrum One",
      evm_chain_id: 42161,
      explorer_url: "https://arbiscan.io",
      payment_tx_hash: null,
      received_amount: null,
      refund_amount: null,
      refund_tx_hash: null,
    });
    expect(body.data.payment_address).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(Math.abs((body.data.server_time as number) - Date.now() / 1000)).toBeLessThan(5);
    const text = JSON.stringify(body);
    for (const secret of [
      "uid_12345",
      "payer@example.com",
      "example.com/callback",
      shop.clientId,
    ]) {
      expect(text).not.toContain(secret);
    }
    for (const field of ["order_data", "callback_url", "client_id", "org_id", "group_key"]) {
      expect(body.data).not.toHaveProperty(field);
    }
  });

  it("answers 404 with code 4006 for an unknown or malformed id", async () => {
    for (const id of ["A".repeat(32), "short", `${"A".repeat(31)}%21`]) {
      for (const suffix of ["", "/events"]) {
        const res = await fetch(`${gw.url}/v1/checkout/payment/${id}${suffix}`);
        expect(res.status, `${id}${suffix}`).toBe(404);
        expect(await res.json()).toMatchObject({ code: 4006, message: expect.any(String) });
      }
    }
  });
});

describe("GET /v1/checkout/payment/{id}/events", () => {
  it("sends the payment at once and keeps the stream open while it is pending", async () => {
    const { payment_intent_id: id } = await createIntent(gw, shop);
    const { res, events, ended } = await readEvents(`${gw.url}/v1/checkout/payment/${id}/events`, {
      stopAfter: 1,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(ended).toBe(false);
    expect(events).toHaveLength(1);
    expect(events[0]?.event).toBe("payment");
    expect(JSON.parse(events[0]?.data ?? "{}")).toMatchObject({
      payment_intent_id: id,
      status: "pending",
    });
  });

  it("follows an expired payment for a late payment and its refund, then ends the stream", async () => {
    const { payment_intent_id: id } = await createIntent(fast, fastShop);
    // Each step happens once the stream has sent the state before it: a step on a timer could
    // run before the stream's first read on a busy machine, and a state never be sent.
    const steps = [
      () => endPaymentWindow(fast.database, id),
      // A payment mined after the deadline, as chain ingest records it.
      () => setIntent(fast, id, { late_amount: "9230000" }),
      // Its refund confirmed (as the treasury records it), and the late-payment watch over.
      () =>
        setIntent(fast, id, {
          late_refund_amount: "9230000",
          late_refund_tx_hash: `0x${"cd".repeat(32)}`,
          payment_deadline: sql<Date>`now() - interval '31 minutes'`,
        }),
    ];
    const { events, ended } = await readEvents(`${fast.url}/v1/checkout/payment/${id}/events`, {
      onEvent: async (e) => {
        const p = JSON.parse(e.data);
        // The step for the state just sent: pending, expired, late, refunded.
        const step =
          p.status === "pending"
            ? 0
            : p.late_amount === null
              ? 1
              : p.late_refund_amount === null
                ? 2
                : 3;
        await steps[step]?.();
        steps[step] = async () => {};
      },
    });
    // Ended by the server, not by the reader giving up after 60 s.
    expect(ended).toBe(true);
    const seen = events.map((e) => JSON.parse(e.data));
    expect(
      seen.map((p) => [p.status, p.late_amount, p.late_refund_tx_hash !== null, p.live]),
    ).toEqual([
      ["pending", null, false, true],
      ["expired", null, false, true],
      ["expired", "9.23", false, true],
      ["expired", "9.23", true, false],
    ]);
  }, 120_000);

  it("ends the stream on success at once", async () => {
    const { payment_intent_id: id } = await createIntent(fast, fastShop);
    await setIntent(fast, id, { status: "success", payment_tx_hash: `0x${"ef".repeat(32)}` });
    const { events, ended } = await readEvents(`${fast.url}/v1/checkout/payment/${id}/events`);
    expect(ended).toBe(true);
    expect(events.map((e) => [JSON.parse(e.data).status, JSON.parse(e.data).live])).toEqual([
      ["success", false],
    ]);
  });
});

/** Writes intent columns as the lifecycle or the treasury would (no chain in these tests). */
async function setIntent(g: TestGateway, id: string, values: Record<string, unknown>) {
  await g.database.db
    .updateTable("payment_intents")
    .set(values as never)
    .where("id", "=", id)
    .execute();
}

// The smallest PNG (1×1, transparent), as Studio's file picker would send it.
const PNG_BYTES = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
  "base64",
);

describe("branding, order and transfers in the checkout view", () => {
  it("shows the merchant's name, stored logo and colour, the description and return_url", async () => {
    const tenant = await gw.createTenant({ name: "Tea House Ltd" });
    await gw.services.orgSettings.update(
      tenant.orgId,
      {
        branding: {
          display_name: "Tea House",
          logo_url: `data:image/png;base64,${PNG_BYTES.toString("base64")}`,
          accent_color: "#0F766E",
        },
      },
      { kind: "cli" },
    );
    const created = await fetch(`${gw.url}/v1/studio/api/payment/intent`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-STUDIO-API-KEY": tenant.apiKey },
      body: JSON.stringify({
        fiat_amount: "300",
        fiat_currency: "TWD",
        description: "2 × Oolong tea",
        return_url: "https://shop.example/orders/42",
      }),
    }).then((r) => r.json());
    const id = created.data.payment_intent_id;
    const view = (await fetch(`${gw.url}/v1/checkout/payment/${id}`).then((r) => r.json())).data;
    const sha = createHash("sha256").update(PNG_BYTES).digest("hex");
    expect(view).toMatchObject({
      merchant: {
        name: "Tea House",
        logo_url: `/v1/checkout/logos/${sha}`,
        accent_color: "#0f766e",
      },
      description: "2 × Oolong tea",
      return_url: "https://shop.example/orders/42",
      transfers: [],
      late_amount: null,
      late_refund_amount: null,
      late_refund_tx_hash: null,
      live: true,
    });

    // The logo, from the gateway: its bytes, its type, cached for good, never sniffed.
    const logo = await fetch(`${gw.url}${view.merchant.logo_url}`);
    expect(logo.status).toBe(200);
    expect(logo.headers.get("content-type")).toBe("image/png");
    expect(logo.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(logo.headers.get("x-content-type-options")).toBe("nosniff");
    expect(Buffer.from(await logo.arrayBuffer()).equals(PNG_BYTES)).toBe(true);
    for (const missing of ["0".repeat(64), "not-a-hash"]) {
      const r = await fetch(`${gw.url}/v1/checkout/logos/${missing}`);
      expect(r.status, missing).toBe(404);
      expect((await r.json()).code).toBe(4004);
    }

    // Without branding: the organisation's name, no logo, no colour.
    const plain = (
      await fetch(
        `${gw.url}/v1/checkout/payment/${(await createIntent(gw, shop)).payment_intent_id}`,
      ).then((r) => r.json())
    ).data;
    expect(plain.merchant).toEqual({
      name: expect.any(String),
      logo_url: null,
      accent_color: null,
    });
    expect(plain).toMatchObject({ description: null, return_url: null });
  });

  it("lists every confirmed transfer, oldest first, late ones marked; not unconfirmed or orphaned", async () => {
    const { payment_intent_id: id } = await createIntent(gw, shop);
    const intent = await gw.database.db
      .selectFrom("payment_intents")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    const deadline = intent.payment_deadline.getTime();
    const transfer = (n: number, state: string, at: number, amount: string) => ({
      chain_id: intent.payment_chain_id,
      tx_hash: `0x${String(n).repeat(64)}`,
      log_index: n,
      token_address: intent.token_address,
      from_address: "0x1111111111111111111111111111111111111111",
      to_address: intent.payment_address,
      amount,
      block_number: 100 + n,
      block_hash: `0x${"b".repeat(63)}${n}`,
      block_timestamp: new Date(at),
      state,
      payment_intent_id: id,
    });
    await gw.database.db
      .insertInto("transfers")
      .values([
        transfer(3, "confirmed", deadline + 60_000, "1000000"),
        transfer(1, "confirmed", deadline - 120_000, "4615000"),
        transfer(2, "confirmed", deadline - 60_000, "4615000"),
        transfer(4, "seen", deadline - 30_000, "7000000"),
        transfer(5, "orphaned", deadline - 30_000, "8000000"),
      ] as never)
      .execute();
    const view = (await fetch(`${gw.url}/v1/checkout/payment/${id}`).then((r) => r.json())).data;
    expect(view.transfers).toEqual([
      {
        tx_hash: `0x${"1".repeat(64)}`,
        log_index: 1,
        amount: "4.615",
        block_time: Math.floor((deadline - 120_000) / 1000),
        late: false,
      },
      {
        tx_hash: `0x${"2".repeat(64)}`,
        log_index: 2,
        amount: "4.615",
        block_time: Math.floor((deadline - 60_000) / 1000),
        late: false,
      },
      {
        tx_hash: `0x${"3".repeat(64)}`,
        log_index: 3,
        amount: "1",
        block_time: Math.floor((deadline + 60_000) / 1000),
        late: true,
      },
    ]);
  });
});

describe("the page", () => {
  it("serves the built page at /pay/{id} and its files under /checkout/", async () => {
    const { payment_intent_id: id } = await createIntent(gw, shop);
    const res = await fetch(`${gw.url}/pay/${id}?embed=1`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    const html = await res.text();
    const script = /src="(\/checkout\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${gw.url}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-type")).toMatch(/javascript/);
    expect(asset.headers.get("cache-control")).toContain("immutable");
    expect((await fetch(`${gw.url}/checkout/assets/missing.js`)).status).toBe(404);
    expect((await fetch(`${gw.url}/checkout/assets/..%2f..%2fpackage.json`)).status).toBe(404);
  });

  it("shows a readable not-found page for an unknown payment", async () => {
    for (const id of ["B".repeat(32), "not-an-id"]) {
      const res = await fetch(`${gw.url}/pay/${id}`);
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toMatch(/^text\/html/);
      const html = await res.text();
      expect(html).toContain("Payment not found");
      expect(html).toContain("找不到這筆付款");
    }
  });
});

it("documents both endpoints in the OpenAPI document as public", async () => {
  const doc = (await (await fetch(`${gw.url}/openapi.json`)).json()) as {
    paths: Record<string, { get?: { security?: unknown[]; responses: Record<string, unknown> } }>;
  };
  for (const path of ["/v1/checkout/payment/{id}", "/v1/checkout/payment/{id}/events"]) {
    const op = doc.paths[path]?.get;
    expect(op, path).toBeDefined();
    expect(op?.security).toEqual([]);
    expect(Object.keys(op?.responses ?? {})).toEqual(["200", "400", "404", "429"]);
  }
});
