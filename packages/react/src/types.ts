import type { components } from "@stablegate/sdk/openapi";

// Every wire type here is the gateway's own, from the OpenAPI document generated from its zod
// schemas; the names stay those of the KryptoGO SDK that merchants already use.

/** One of the five statuses of the KryptoGO-compatible API. */
export type PaymentStatus = components["schemas"]["PaymentStatus"];

/** The fiat currencies the gateway quotes. */
export type FiatCurrency = components["schemas"]["FiatCurrency"];

/**
 * A payment intent exactly as the gateway's API returns it (`data` of
 * `GET /v1/studio/api/payment/intent/{id}`): snake_case, amounts as decimal strings.
 */
export type PaymentIntent = components["schemas"]["PaymentIntent"];

/**
 * What `openPaymentModal` takes: the body of the create-intent request. `fiat_amount` is a
 * decimal string from `"0.01"` to `"1000000000"` with at most 2 decimals (trailing zeros
 * aside), e.g. `"100"` or `"300.0"`; `order_data` is returned unaltered in callbacks.
 */
export type OpenPaymentModalParams = {
  // The API also takes null for "absent"; the hook's params keep KryptoGO's plain optionals.
  [K in keyof CreatePaymentIntentRequest]: Exclude<CreatePaymentIntentRequest[K], null>;
};
type CreatePaymentIntentRequest = components["schemas"]["CreatePaymentIntentRequest"];

/**
 * Why a payment did not go through. `kind` says where it failed:
 * - `"validation"`: the parameters were refused before any request (e.g. fiat_amount < 0.01);
 * - `"api"`: the gateway answered with an error; `code` is its code (4001 invalid client id,
 *   4003 origin not allowed, ...), `data` its details;
 * - `"network"`: the gateway could not be reached (offline, wrong base URL, CORS refused);
 * - `"payment"`: the payment ended without success; `status` is its final status.
 *
 * @example
 * const { openPaymentModal } = usePayment();
 * openPaymentModal({ fiat_amount: amount, fiat_currency: "TWD" }).catch((err: PaymentError) => {
 *   if (err.kind === "validation") showFieldError(err.message);
 *   else if (err.kind === "api" && err.code === 4003) console.error("allow this origin for the client");
 * });
 */
export class PaymentError extends Error {
  override readonly name = "PaymentError";
  readonly kind: "validation" | "api" | "network" | "payment";
  readonly code: number | undefined;
  readonly status: PaymentStatus | undefined;
  readonly data: Record<string, unknown> | undefined;

  constructor(
    kind: PaymentError["kind"],
    message: string,
    details: {
      code?: number;
      status?: PaymentStatus;
      data?: Record<string, unknown>;
      cause?: unknown;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.kind = kind;
    this.code = details.code;
    this.status = details.status;
    this.data = details.data;
  }
}
