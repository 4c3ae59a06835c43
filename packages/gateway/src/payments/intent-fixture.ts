import { startTestGateway, type TestTenant } from "../testing/test-gateway.ts";

// What the payment-intent API tests share: the real gateway (static rates: 1 USD = 32.5 TWD), two
// shops on their own origins, and the API over real HTTP as a merchant's server and a payer's
// browser call it.

export const INTENT = "/v1/studio/api/payment/intent";
export const LIST = "/v1/studio/api/payment/intents";

// The request of the reference's direct-API integration guide.
export const SAMPLE = {
  fiat_amount: "300.0",
  fiat_currency: "TWD",
  callback_url: "https://example.com/callback",
  order_data: { order_id: "uid_12345", item_id: "100", customer_id: "0x03971234567890" },
  group_key: "buy_stone_with_usdt",
};

export interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: the wire's JSON, read loosely as in the test files (where biome allows any); each test asserts the fields it relies on
  body: any;
  /** The response body as received: what a test checks when key order or bytes matter. */
  text: string;
  headers: Headers;
}

/** A merchant's server: API key, and the client and origin a browser would send too. */
export const server = (t: TestTenant) => ({
  "X-Client-ID": t.clientId,
  Origin: t.origin,
  "X-STUDIO-API-KEY": t.apiKey,
});
/** A payer's browser: the client's public id and the page's origin, no key. */
export const browser = (t: TestTenant) => ({ "X-Client-ID": t.clientId, Origin: t.origin });

/** Start once per file (beforeAll), stop() after all. */
export async function startIntentFixture() {
  const gateway = await startTestGateway();
  let shop: TestTenant;
  let other: TestTenant;
  try {
    shop = await gateway.createTenant({ origin: "https://shop.example" });
    other = await gateway.createTenant({ origin: "https://other.example" });
  } catch (err) {
    await gateway.close();
    throw err;
  }

  /** `raw` sends the body as given (malformed JSON, another media type); `body` as JSON. */
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
    const res = await fetch(`${gateway.url}${path}`, {
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

  return {
    gateway,
    shop,
    other,
    call,
    stop: () => gateway.close(),
  };
}

export type IntentFixture = Awaited<ReturnType<typeof startIntentFixture>>;
