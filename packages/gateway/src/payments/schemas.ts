import { z } from "@hono/zod-openapi";
import { PageQuery, pageOf } from "../http/openapi.ts";
import { refineText } from "../http/well-formed-text.ts";
import { PAYMENT_STATUSES } from "./lifecycle/decide.ts";
import { fiatAmountProblem, MAX_FIAT_AMOUNT, MAX_FIAT_DECIMALS, MIN_FIAT_AMOUNT } from "./money.ts";
import { FIAT_MINOR_UNITS, FIATS } from "./quote.ts";

// The wire shapes of payments, written once: the service's types are inferred from these, and
// the SDK, the React package and the checkout page take theirs from the OpenAPI document
// generated from them (packages/sdk/src/openapi.d.ts).

export const ORDER_DATA_MAX_CHARS = 1000;
export const GROUP_KEY_MAX_CHARS = 255;
export const CALLBACK_URL_MAX_CHARS = 2048;
export const DESCRIPTION_MAX_CHARS = 500;
export const RETURN_URL_MAX_CHARS = 2048;

export const FiatCurrency = z.enum(FIATS).openapi("FiatCurrency", { example: "TWD" });
const ZERO_DECIMAL_FIATS = FIATS.filter((f) => FIAT_MINOR_UNITS[f] === 0);
export type FiatCurrency = z.infer<typeof FiatCurrency>;
export const PaymentStatus = z.enum(PAYMENT_STATUSES).openapi("PaymentStatus");

/** The request's fiat_amount: money.ts's rule, so the edge and the quote never disagree. */
export const FiatAmount = z
  .string({
    error: (issue) =>
      issue.input === undefined ? "is required" : 'must be a string such as "300.0"',
  })
  .superRefine((value, ctx) => {
    const problem = fiatAmountProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
  })
  .openapi({
    example: "300.0",
    description: `Amount in fiat: a plain decimal from one minor unit (${MIN_FIAT_AMOUNT}; 1 in a currency without minor units) to ${MAX_FIAT_AMOUNT}, with at most the currency's ISO 4217 minor units of decimals (${MAX_FIAT_DECIMALS}; none for ${ZERO_DECIMAL_FIATS.join(", ")}; trailing zeros aside); returned exactly as sent.`,
  });

export const CreatePaymentIntentBody = z
  .object({
    fiat_amount: FiatAmount,
    fiat_currency: FiatCurrency,
    callback_url: z
      .string()
      .max(CALLBACK_URL_MAX_CHARS)
      .refine((s) => {
        try {
          const u = new URL(s);
          // Every label of the host named ("a..b" and ".a" are no host; "a.b." is).
          const labels = u.hostname.replace(/\.$/, "").split(".");
          return (u.protocol === "http:" || u.protocol === "https:") && !labels.includes("");
        } catch {
          return false;
        }
      }, "must be an http(s) URL")
      .nullish()
      .openapi({ example: "https://example.com/callback" }),
    order_data: z
      .record(z.string(), z.unknown(), { error: "must be a JSON object" })
      .nullish()
      .openapi({
        description: "Returned unaltered; at most 1000 characters when serialised.",
        example: { order_id: "uid_12345", item_id: "100", customer_id: "0x03971234567890" },
      }),
    group_key: z
      .string()
      .max(GROUP_KEY_MAX_CHARS)
      .nullish()
      .openapi({ example: "buy_stone_with_usdt" }),
    // Stablegate extensions (docs/accepted-assets.md).
    payment_chain_id: z.string().max(64).superRefine(refineText).optional().openapi({
      description:
        "Stablegate extension: the chain to be paid on (a chain key such as arb, base, polygon, or an alias such as matic); with symbol, fixes the asset so the payer cannot choose another. Must be accepted by the organisation (422 / 4075). Absent: the organisation's default, and the payer may choose among its accepted assets",
      example: "base",
    }),
    symbol: z.string().max(64).superRefine(refineText).optional().openapi({
      description:
        "Stablegate extension: the token to be paid in (USDT, USDC, USDC.e, or an operator-configured one), with payment_chain_id (absent: the default chain)",
      example: "USDC",
    }),
    description: z
      .string()
      .max(DESCRIPTION_MAX_CHARS)
      .superRefine(refineText)
      .refine((s) => !/[^\P{Cc}\n\r\t]/u.test(s), {
        message: "must not contain control characters (line breaks and tabs are fine)",
      })
      .nullish()
      .openapi({
        description: `Extension (not in KryptoGO's API): the order summary the hosted checkout shows the payer, at most ${DESCRIPTION_MAX_CHARS} characters of plain text (trimmed; empty is none).`,
        example: "2 × Oolong tea 150 g",
      }),
    return_url: z
      .string()
      .max(RETURN_URL_MAX_CHARS)
      .refine((s) => {
        try {
          const u = new URL(s);
          const labels = u.hostname.replace(/\.$/, "").split(".");
          return (
            (u.protocol === "http:" || u.protocol === "https:") &&
            !labels.includes("") &&
            u.username === "" &&
            u.password === ""
          );
        } catch {
          return false;
        }
      }, "must be an absolute http(s) URL without credentials")
      .nullish()
      .openapi({
        description:
          "Extension (not in KryptoGO's API): where the hosted checkout's \"Back to shop\" button goes after the payment ends.",
        example: "https://shop.example/orders/12345",
      }),
  })
  .openapi("CreatePaymentIntentRequest");

/** One chain and token the payer may choose on the checkout, quoted now. */
export const AssetOption = z
  .object({
    payment_chain_id: z.string().openapi({ example: "base" }),
    chain_name: z.string().openapi({ example: "Base" }),
    symbol: z.string().openapi({ example: "USDC" }),
    crypto_amount: z.string().openapi({ example: "9.23" }),
  })
  .openapi("AssetOption");

export const ChooseAssetBody = z
  .object({
    payment_chain_id: z.string().max(64).superRefine(refineText).openapi({ example: "base" }),
    symbol: z.string().max(64).superRefine(refineText).openapi({ example: "USDC" }),
  })
  .openapi("ChooseAssetRequest");

export const PaymentIntent = z
  .object({
    payment_intent_id: z.string().openapi({ example: "2MFV9kRD0IyNWauowhq2Bp3IUb3BWKPi" }),
    payment_chain_id: z.string().openapi({ example: "arb" }),
    payment_address: z.string().openapi({ example: "0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045" }),
    token_address: z.string().openapi({ example: "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9" }),
    symbol: z.string().openapi({ example: "USDT" }),
    decimals: z.number().int().openapi({ example: 6 }),
    crypto_amount: z.string().openapi({ example: "9.23" }),
    fiat_amount: z.string().openapi({ example: "300.0" }),
    fiat_currency: FiatCurrency,
    payment_deadline: z
      .number()
      .int()
      .openapi({ description: "Unix seconds", example: 1733811354 }),
    status: PaymentStatus,
    payment_tx_hash: z.string().nullable(),
    refund_tx_hash: z.string().nullable(),
    received_amount: z.string().nullable(),
    aggregated_amount: z.string().nullable(),
    refund_amount: z.string().nullable(),
    order_data: z.record(z.string(), z.unknown()).nullable(),
    callback_url: z.string().nullable(),
    group_key: z.string().nullable(),
    client_id: z.string().openapi({ example: "9c5a79fc1117310f976b53752659b61d" }),
    org_id: z.number().int(),
    payer_address: z.string().nullable(),
    payment_tx_timestamp: z.number().int().nullable().openapi({ description: "Unix seconds" }),
    aggregation_tx_hash: z.string().nullable(),
    excess_amount: z
      .string()
      .nullable()
      .openapi({ description: "Received on time above crypto_amount (an overpayment)." }),
    late_amount: z
      .string()
      .nullable()
      .openapi({ description: "Received after payment_deadline: not credited, to be refunded." }),
    late_refund_amount: z.string().nullable().openapi({
      description: "The part of late_amount refunded to its senders (confirmed on chain).",
    }),
    late_refund_tx_hash: z
      .string()
      .nullable()
      .openapi({ description: "The last confirmed refund of a late payment." }),
    description: z
      .string()
      .nullable()
      .openapi({ description: "Extension: the order summary given at creation." }),
    return_url: z
      .string()
      .nullable()
      .openapi({ description: 'Extension: where the checkout\'s "Back to shop" goes.' }),
  })
  .openapi("PaymentIntent");

/** The merchant as the checkout shows it. */
export const CheckoutMerchant = z
  .object({
    name: z.string().openapi({ description: "The display name, else the organisation's name" }),
    logo_url: z.string().nullable().openapi({
      description: "A path on the gateway (content-addressed, cached for a year), or null: no logo",
      example:
        "/v1/checkout/logos/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    }),
    accent_color: z.string().nullable().openapi({ example: "#0f766e" }),
  })
  .openapi("CheckoutMerchant");

/** One confirmed transfer to the intent's deposit address. */
export const CheckoutTransfer = z
  .object({
    tx_hash: z.string(),
    log_index: z.number().int().openapi({ description: "The transfer's log in its transaction" }),
    amount: z.string().openapi({ example: "4.615" }),
    block_time: z.number().int().openapi({ description: "Unix seconds of its block" }),
    late: z.boolean().openapi({
      description: "Mined after payment_deadline: not credited, refunded to its sender",
    }),
  })
  .openapi("CheckoutTransfer");

/**
 * What the public checkout page sees of an intent: amounts, where and how to pay, and the
 * outcome. Never order_data, callback_url, client or organisation ids: anyone holding the link
 * reads this.
 */
export const CheckoutPayment = z
  .object({
    payment_intent_id: z.string().openapi({ example: "2MFV9kRD0IyNWauowhq2Bp3IUb3BWKPi" }),
    status: PaymentStatus,
    fiat_amount: z.string().openapi({ example: "300.0" }),
    fiat_currency: FiatCurrency,
    crypto_amount: z.string().openapi({ example: "9.23" }),
    crypto_amount_base: z
      .string()
      .openapi({ description: "crypto_amount in the token's base units", example: "9230000" }),
    symbol: z.string().openapi({ example: "USDT" }),
    decimals: z.number().int().openapi({ example: 6 }),
    token_address: z.string().openapi({ example: "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9" }),
    payment_address: z.string().openapi({ example: "0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045" }),
    payment_chain_id: z.string().openapi({ example: "arb" }),
    chain_name: z.string().openapi({ example: "Arbitrum One" }),
    evm_chain_id: z.number().int().nullable().openapi({ example: 42161 }),
    explorer_url: z.string().nullable().openapi({ example: "https://arbiscan.io" }),
    payment_deadline: z
      .number()
      .int()
      .openapi({ description: "Unix seconds", example: 1733811354 }),
    server_time: z
      .number()
      .int()
      .openapi({ description: "Unix seconds at the gateway when read", example: 1733809554 }),
    payment_tx_hash: z.string().nullable(),
    received_amount: z.string().nullable(),
    refund_amount: z.string().nullable(),
    refund_tx_hash: z.string().nullable(),
    asset_options: z.array(AssetOption).optional().openapi({
      description:
        "Stablegate extension: present while the payer may still choose the chain and token (pending, before the deadline, nothing received, the merchant did not fix the asset, the organisation accepts more than one): each accepted asset quoted now, the current one included. Choose with POST /v1/checkout/payment/{id}/asset",
    }),
    merchant: CheckoutMerchant,
    description: z.string().nullable(),
    return_url: z.string().nullable(),
    transfers: z.array(CheckoutTransfer).openapi({
      description: "Every confirmed transfer to the deposit address, oldest first",
    }),
    late_amount: z
      .string()
      .nullable()
      .openapi({ description: "Received after the deadline: refunded, never credited." }),
    late_refund_amount: z.string().nullable(),
    late_refund_tx_hash: z.string().nullable(),
    live: z.boolean().openapi({
      description:
        "Whether the payment may still change for the payer: open, a refund under way, or a late payment still possible (30 minutes after the deadline of an unpaid or underpaid payment). The event stream ends when it is false.",
    }),
  })
  .openapi("CheckoutPayment");

const toArray = (v: unknown) =>
  v === undefined
    ? undefined
    : (Array.isArray(v) ? v : [v]).flatMap((s) => String(s).split(",")).filter((s) => s !== "");

export const ListPaymentIntentsQuery = PageQuery.extend({
  client_id: z.string().max(64).optional(),
  status: z.preprocess(toArray, z.array(PaymentStatus).optional()).openapi({
    description: "Repeatable: status=pending&status=success",
    type: "array",
    items: { type: "string", enum: [...PAYMENT_STATUSES] },
  }),
  group_key: z
    .string()
    .max(GROUP_KEY_MAX_CHARS)
    .optional()
    .openapi({ description: "Substring match, case-insensitive; % and _ are literal." }),
  cursor: z.string().max(512).optional().openapi({
    description:
      "Extension (not in KryptoGO's API): the next_cursor of a previous page; this page starts right after that page's last item, in the same newest-first order. Keyset paging: following next_cursor from the first page visits every intent that existed when the walk began exactly once, whatever is created meanwhile (new intents are newer than the walk's position, so they do not shift it), and a deep page costs what the first does. Not with page_number (other than 1). A cursor that did not come from this endpoint is 400 / 4000.",
    example:
      "WyIyMDI2LTExLTI4VDA5OjEyOjMwLjEyMzQ1NloiLCIyTUZWOWtSRDBJeU5XYXVvd2hxMkJwM0lVYjNCV0tQaSJd",
  }),
});

export const PaymentIntentList = pageOf(PaymentIntent)
  .extend({
    next_cursor: z.string().nullable().openapi({
      description:
        "Extension (not in KryptoGO's API): pass as cursor to get the page after this one; null when this page is the last. Given on page_number pages too.",
    }),
    total_count_exact: z.boolean().openapi({
      description:
        "Extension (not in KryptoGO's API): whether total_count is exact. It is up to 10,000 matches; above that total_count is the database's estimate (never below 10,001 nor below what the pages have shown), so counting a million intents never costs a page its time.",
    }),
  })
  .openapi("PaymentIntentList");

export const IntentIdParam = z.object({
  id: z
    .string()
    .superRefine(refineText)
    .openapi({ param: { name: "id", in: "path" }, example: "2MFV9kRD0IyNWauowhq2Bp3IUb3BWKPi" }),
});

export type CreatePaymentIntentBody = z.infer<typeof CreatePaymentIntentBody>;
export type PaymentIntent = z.infer<typeof PaymentIntent>;
export type CheckoutPayment = z.infer<typeof CheckoutPayment>;
export type AssetOption = z.infer<typeof AssetOption>;
export type ChooseAssetBody = z.infer<typeof ChooseAssetBody>;
export type ListPaymentIntentsQuery = z.infer<typeof ListPaymentIntentsQuery>;
export type PaymentIntentList = z.infer<typeof PaymentIntentList>;
