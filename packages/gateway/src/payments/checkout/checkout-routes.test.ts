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

  it("sends the change to a final status and then ends the stream", async () => {
    const { payment_intent_id: id } = await createIntent(fast, fastShop);
    // The deadline passes once the stream has sent the pending intent: a deadline on a timer
    // could pass before the stream's first read on a busy machine, and only "expired" be sent.
    let windowEnded = false;
    const { events, ended } = await readEvents(`${fast.url}/v1/checkout/payment/${id}/events`, {
      onEvent: async () => {
        if (windowEnded) return;
        windowEnded = true;
        await endPaymentWindow(fast.database, id);
      },
    });
    // Ended by the server, not by the reader giving up after 60 s.
    expect(ended).toBe(true);
    expect(events.map((e) => JSON.parse(e.data).status)).toEqual(["pending", "expired"]);
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
