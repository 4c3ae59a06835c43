import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./openapi.d.ts";

/** A payment intent as the API returns it (`data` of create, get, and each list item). */
export type PaymentIntent = components["schemas"]["PaymentIntent"];
/** The body of `POST /v1/studio/api/payment/intent`. */
export type CreatePaymentIntentRequest = components["schemas"]["CreatePaymentIntentRequest"];
/** One of `pending`, `success`, `expired`, `insufficient_not_refunded`, `insufficient_refunded`. */
export type PaymentStatus = components["schemas"]["PaymentStatus"];
/** A fiat currency the gateway quotes (`fiat_currency`): `TWD`, `USD`, `EUR`, `JPY`, `KRW`, … (the OpenAPI enum). */
export type FiatCurrency = components["schemas"]["FiatCurrency"];
/** A page of `GET /v1/studio/api/payment/intents`. */
export type PaymentIntentList = components["schemas"]["PaymentIntentList"];
/** The error envelope every failed call answers with: `{ code, message, data? }`. */
export type ErrorEnvelope = components["schemas"]["Error"];

/** The typed client: `GET`, `POST`, ... over every path of the gateway's OpenAPI document. */
export type StablegateClient = Client<paths>;

export interface StablegateClientOptions {
  /** The gateway's address, e.g. `https://pay.example.com` (no trailing path). */
  baseUrl: string;
  /** The organisation's API key (`X-STUDIO-API-KEY`); keep it on the server. */
  apiKey: string;
  /** Sent as `X-Client-ID`: intents created by this client are attributed to it. */
  clientId?: string;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof globalThis.fetch;
}

/**
 * A typed client for the Stablegate Payment API, for server-side code. Every call is typed from
 * the gateway's OpenAPI document: paths, bodies, query parameters and responses. Pass a result
 * to {@link unwrap} to get the envelope's `data` or a thrown {@link StablegateApiError}.
 *
 * @example
 * import { createStablegateClient, unwrap } from "@stablegate/sdk";
 *
 * const stablegate = createStablegateClient({
 *   baseUrl: "https://pay.example.com",
 *   apiKey: process.env.STABLEGATE_API_KEY!,
 *   clientId: process.env.STABLEGATE_CLIENT_ID,
 * });
 * const intent = unwrap(
 *   await stablegate.POST("/v1/studio/api/payment/intent", {
 *     body: { fiat_amount: "300.0", fiat_currency: "TWD", order_data: { order_id: "uid_12345" } },
 *   }),
 * );
 * console.log(intent.payment_address, intent.crypto_amount, intent.symbol);
 */
export function createStablegateClient(options: StablegateClientOptions): StablegateClient {
  const headers: Record<string, string> = { "X-STUDIO-API-KEY": options.apiKey };
  if (options.clientId !== undefined) headers["X-Client-ID"] = options.clientId;
  return createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ""),
    headers,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
}

/**
 * An answer of the API that is not `code: 0`: `code` is the API's error code (`4002` invalid
 * API key, `4006` unknown payment intent, `4015` balance not enough, ...; docs/errors.md lists
 * them), `data` its details (`insufficient_amount` for 4015), `status` the HTTP status.
 *
 * @example
 * try {
 *   unwrap(await stablegate.GET("/v1/studio/api/payment/intent/{id}", { params: { path: { id } } }));
 * } catch (err) {
 *   if (err instanceof StablegateApiError && err.code === 4006) console.log("no such intent");
 *   else throw err;
 * }
 */
export class StablegateApiError extends Error {
  override readonly name = "StablegateApiError";
  readonly code: number;
  readonly status: number;
  readonly data: Record<string, unknown> | undefined;

  constructor(status: number, body: unknown) {
    const envelope = asEnvelope(body);
    super(envelope?.message ?? `HTTP ${status}: ${String(body).slice(0, 200)}`);
    this.status = status;
    // A body that is not our envelope (a proxy's error page) still gets a code to branch on.
    this.code = envelope?.code ?? -1;
    this.data = envelope?.data;
  }
}

function asEnvelope(body: unknown): ErrorEnvelope | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const { code, message } = body as Partial<ErrorEnvelope>;
  return typeof code === "number" && typeof message === "string"
    ? (body as ErrorEnvelope)
    : undefined;
}

/**
 * The `data` of a successful call (`{ code: 0, data }`), or throws {@link StablegateApiError}.
 *
 * @example
 * const { items, total_count } = unwrap(
 *   await stablegate.GET("/v1/studio/api/payment/intents", {
 *     params: { query: { status: ["pending"], page_size: 20 } },
 *   }),
 * );
 */
export function unwrap<T>(
  result:
    | { data: { code: 0; data: T }; error?: never; response: Response }
    | { data?: never; error: unknown; response: Response },
): T {
  if (result.data !== undefined && result.data.code === 0) return result.data.data;
  throw new StablegateApiError(result.response.status, result.error ?? result.data);
}
