import {
  startTestGateway,
  type TestGateway,
  type TestTenant,
} from "@stablegate/gateway/src/testing/test-gateway.ts";
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import {
  type CreatePaymentIntentRequest,
  createStablegateClient,
  type PaymentIntent,
  type PaymentIntentList,
  StablegateApiError,
  unwrap,
} from "./client.ts";

// The client against a real gateway (its own database: PGlite, or a schema on DATABASE_URL).

let gw: TestGateway;
let shop: TestTenant;
let other: TestTenant;

beforeAll(async () => {
  gw = await startTestGateway();
  shop = await gw.createTenant();
  other = await gw.createTenant();
});

afterAll(async () => {
  await gw?.close();
});

const SAMPLE = {
  fiat_amount: "300.0",
  fiat_currency: "TWD",
  callback_url: "https://example.com/callback",
  order_data: { order_id: "uid_12345", item_id: "100", customer_id: "0x03971234567890" },
  group_key: "buy_stone_with_usdt",
} as const;

describe("createStablegateClient", () => {
  it("creates, reads and lists intents as the direct-integration guide does", async () => {
    const stablegate = createStablegateClient({
      baseUrl: `${gw.url}/`,
      apiKey: shop.apiKey,
      clientId: shop.clientId,
    });
    const created = unwrap(
      await stablegate.POST("/v1/studio/api/payment/intent", { body: SAMPLE }),
    );
    expectTypeOf(created).toEqualTypeOf<PaymentIntent>();
    expect(created).toMatchObject({
      status: "pending",
      fiat_amount: "300.0",
      fiat_currency: "TWD",
      crypto_amount: "9.23",
      symbol: "USDT",
      client_id: shop.clientId,
      order_data: SAMPLE.order_data,
      group_key: "buy_stone_with_usdt",
    });
    expect(created.payment_address).toMatch(/^0x[0-9a-fA-F]{40}$/);

    const polled = unwrap(
      await stablegate.GET("/v1/studio/api/payment/intent/{id}", {
        params: { path: { id: created.payment_intent_id } },
      }),
    );
    expectTypeOf(polled.status).toEqualTypeOf<
      "pending" | "success" | "expired" | "insufficient_not_refunded" | "insufficient_refunded"
    >();
    expect(polled).toEqual(created);

    const page = unwrap(
      await stablegate.GET("/v1/studio/api/payment/intents", {
        params: { query: { status: ["pending"], group_key: "stone", page_size: 20 } },
      }),
    );
    expectTypeOf(page).toEqualTypeOf<PaymentIntentList>();
    expect(page.total_count).toBe(1);
    expect(page.items.map((i) => i.payment_intent_id)).toEqual([created.payment_intent_id]);
  });

  it("throws the API's error code and message", async () => {
    const wrongKey = createStablegateClient({ baseUrl: gw.url, apiKey: "sg_live_not_a_key" });
    const err = await wrongKey
      .GET("/v1/studio/api/payment/intents", {})
      .then(unwrap)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StablegateApiError);
    expect(err).toMatchObject({ code: 4002, status: 401 });

    const stablegate = createStablegateClient({ baseUrl: gw.url, apiKey: shop.apiKey });
    const missing = await stablegate
      .GET("/v1/studio/api/payment/intent/{id}", { params: { path: { id: "nope" } } })
      .then(unwrap)
      .catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: 4006, status: 404 });

    const invalid = await stablegate
      .POST("/v1/studio/api/payment/intent", { body: { ...SAMPLE, fiat_amount: "0.001" } })
      .then(unwrap)
      .catch((e: unknown) => e);
    expect(invalid).toMatchObject({ code: 4000, status: 400, data: { field: "fiat_amount" } });
    expect((invalid as Error).message).toMatch(/fiat_amount/);
  });

  it("sends the client id: another organisation's client is refused", async () => {
    const mixed = createStablegateClient({
      baseUrl: gw.url,
      apiKey: shop.apiKey,
      clientId: other.clientId,
    });
    const err = await mixed
      .POST("/v1/studio/api/payment/intent", { body: SAMPLE })
      .then(unwrap)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StablegateApiError);
    expect((err as StablegateApiError).code).toBe(4001);
  });

  it("types request bodies from the OpenAPI document", () => {
    const stablegate = createStablegateClient({ baseUrl: gw.url, apiKey: shop.apiKey });
    expectTypeOf<CreatePaymentIntentRequest["fiat_amount"]>().toEqualTypeOf<string>();
    expectTypeOf<CreatePaymentIntentRequest["fiat_currency"]>().toEqualTypeOf<
      | "TWD"
      | "USD"
      | "EUR"
      | "JPY"
      | "HKD"
      | "SGD"
      | "KRW"
      | "GBP"
      | "AUD"
      | "CAD"
      | "CHF"
      | "CNY"
      | "THB"
      | "MYR"
      | "PHP"
      | "IDR"
      | "INR"
      | "VND"
    >();
    // Never called: the compiler's refusal is the assertion.
    const wrong = () =>
      stablegate.POST("/v1/studio/api/payment/intent", {
        // @ts-expect-error fiat_amount is a decimal string, never a number
        body: { fiat_amount: 100, fiat_currency: "TWD" },
      });
    expectTypeOf(wrong).toBeFunction();
  });
});
