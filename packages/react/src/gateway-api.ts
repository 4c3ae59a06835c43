import { type OpenPaymentModalParams, PaymentError, type PaymentIntent } from "./types.ts";

const INTENT_PATH = "/v1/studio/api/payment/intent";

/** The browser's side of the API: the client id and the page's Origin, never an API key. */
export interface GatewayApi {
  createIntent(params: OpenPaymentModalParams, signal?: AbortSignal): Promise<PaymentIntent>;
  getIntent(id: string, signal?: AbortSignal): Promise<PaymentIntent>;
}

/**
 * The two calls the SDK makes, as the browser makes them.
 *
 * @example
 * const api = createGatewayApi({ baseUrl: "https://pay.example.com", clientId });
 * const intent = await api.createIntent({ fiat_amount: "100", fiat_currency: "TWD" });
 * const latest = await api.getIntent(intent.payment_intent_id);
 */
export function createGatewayApi(options: { baseUrl: string; clientId: string }): GatewayApi {
  const base = options.baseUrl.replace(/\/+$/, "");

  async function call(path: string, init: RequestInit): Promise<PaymentIntent> {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        ...init,
        headers: { ...init.headers, "X-Client-ID": options.clientId },
        // The gateway decides by client id and Origin; cookies would only add risk.
        credentials: "omit",
      });
    } catch (cause) {
      if ((cause as Error)?.name === "AbortError") throw cause;
      // Browsers report a CORS refusal exactly like a network failure.
      throw new PaymentError(
        "network",
        `could not reach the payment gateway at ${base} (offline, or this page's origin is not allowed for the client)`,
        { cause },
      );
    }
    let body: { code?: unknown; message?: unknown; data?: unknown };
    try {
      body = (await res.json()) as typeof body;
    } catch (cause) {
      throw new PaymentError("api", `the payment gateway answered HTTP ${res.status}`, { cause });
    }
    if (body.code !== 0 || typeof body.data !== "object" || body.data === null) {
      throw new PaymentError(
        "api",
        typeof body.message === "string" ? body.message : `HTTP ${res.status}`,
        {
          ...(typeof body.code === "number" ? { code: body.code } : {}),
          ...(typeof body.data === "object" && body.data !== null
            ? { data: body.data as Record<string, unknown> }
            : {}),
        },
      );
    }
    return body.data as PaymentIntent;
  }

  return {
    createIntent(params, signal) {
      const body: Record<string, unknown> = {
        fiat_amount: params.fiat_amount,
        fiat_currency: params.fiat_currency,
      };
      if (params.callback_url !== undefined) body.callback_url = params.callback_url;
      if (params.order_data !== undefined) body.order_data = params.order_data;
      if (params.group_key !== undefined) body.group_key = params.group_key;
      // Stablegate extensions: fix the chain and token (otherwise the payer may choose).
      if (params.payment_chain_id !== undefined) body.payment_chain_id = params.payment_chain_id;
      if (params.symbol !== undefined) body.symbol = params.symbol;
      // Extensions: the checkout's order summary and its "Back to shop" (docs/checkout.md).
      if (params.description !== undefined) body.description = params.description;
      if (params.return_url !== undefined) body.return_url = params.return_url;
      return call(INTENT_PATH, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
        ...(signal ? { signal } : {}),
      });
    },
    getIntent(id, signal) {
      return call(`${INTENT_PATH}/${encodeURIComponent(id)}`, {
        method: "GET",
        cache: "no-store",
        ...(signal ? { signal } : {}),
      });
    },
  };
}
