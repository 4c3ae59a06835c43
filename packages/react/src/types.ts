/** One of the five statuses of the KryptoGO-compatible API. */
export type PaymentStatus =
  | "pending"
  | "success"
  | "expired"
  | "insufficient_not_refunded"
  | "insufficient_refunded";

/** The fiat currencies the gateway quotes. */
export type FiatCurrency = "TWD" | "USD";

/**
 * A payment intent exactly as the gateway's API returns it (`data` of
 * `GET /v1/studio/api/payment/intent/{id}`): snake_case, amounts as decimal strings.
 */
export interface PaymentIntent {
  payment_intent_id: string;
  payment_chain_id: string;
  payment_address: string;
  token_address: string;
  symbol: string;
  decimals: number;
  crypto_amount: string;
  fiat_amount: string;
  fiat_currency: FiatCurrency;
  /** Unix seconds. */
  payment_deadline: number;
  status: PaymentStatus;
  payment_tx_hash: string | null;
  refund_tx_hash: string | null;
  received_amount: string | null;
  aggregated_amount: string | null;
  refund_amount: string | null;
  order_data: Record<string, unknown> | null;
  callback_url: string | null;
  group_key: string | null;
  client_id: string;
  org_id: number;
  payer_address: string | null;
  /** Unix seconds. */
  payment_tx_timestamp: number | null;
  aggregation_tx_hash: string | null;
  /** Received on time above crypto_amount (an overpayment). */
  excess_amount: string | null;
  /** Received after payment_deadline: not credited, to be refunded. */
  late_amount: string | null;
  /** The part of late_amount refunded to its senders (confirmed on chain). */
  late_refund_amount: string | null;
  /** The last confirmed refund of a late payment. */
  late_refund_tx_hash: string | null;
}

/** What `openPaymentModal` takes: the body of the create-intent request. */
export interface OpenPaymentModalParams {
  /** A decimal string, at least `"0.01"`, at most 2 decimals, e.g. `"100"` or `"300.0"`. */
  fiat_amount: string;
  fiat_currency: FiatCurrency;
  /** Your server's endpoint for signed status callbacks. */
  callback_url?: string;
  /** Anything you need to match the payment to your order; returned unaltered. */
  order_data?: Record<string, unknown>;
  /** A label to group and filter intents by (e.g. a product line). */
  group_key?: string;
}

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
