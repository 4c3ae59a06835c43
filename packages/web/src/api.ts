import type { components } from "../../sdk/src/openapi.d.ts";

/** GET /v1/checkout/payment/{id}: the payment as the payer sees it (generated from the gateway). */
export type CheckoutPayment = components["schemas"]["CheckoutPayment"];

export class PaymentNotFoundError extends Error {
  constructor(id: string) {
    super(`payment ${id} not found`);
    this.name = "PaymentNotFoundError";
  }
}

const paymentUrl = (id: string) => `/v1/checkout/payment/${encodeURIComponent(id)}`;

export async function fetchPayment(id: string, signal?: AbortSignal): Promise<CheckoutPayment> {
  const res = await fetch(paymentUrl(id), {
    headers: { Accept: "application/json" },
    cache: "no-store",
    ...(signal ? { signal } : {}),
  });
  if (res.status === 404) throw new PaymentNotFoundError(id);
  if (!res.ok) throw new Error(`the gateway answered ${res.status}`);
  const body = (await res.json()) as { code: number; data: CheckoutPayment };
  return body.data;
}

/**
 * POST /v1/checkout/payment/{id}/asset: the payer's choice among `asset_options`; the payment
 * re-quoted in it.
 */
export async function chooseAsset(
  id: string,
  asset: { payment_chain_id: string; symbol: string },
): Promise<CheckoutPayment> {
  const res = await fetch(`${paymentUrl(id)}/asset`, {
    method: "POST",
    headers: { Accept: "application/json", "Content-Type": "application/json" },
    body: JSON.stringify({ payment_chain_id: asset.payment_chain_id, symbol: asset.symbol }),
  });
  if (!res.ok) throw new Error(`the gateway answered ${res.status}`);
  return ((await res.json()) as { data: CheckoutPayment }).data;
}

/** Polling period while the event stream is down; slower once the payment has left pending. */
const POLL_MS = 3_000;
const SLOW_POLL_MS = 10_000;

export interface FollowHandlers {
  onPayment(payment: CheckoutPayment): void;
  /** A read failed; following goes on and the next success clears it. */
  onError(error: unknown): void;
  /** Whether following can stop (the payment's `live` is false). */
  isFinal(payment: CheckoutPayment): boolean;
}

/**
 * Follows a payment until the gateway says nothing more will change for the payer: server-sent events while the stream is up,
 * polling whenever it is not (no EventSource, a proxy that drops the stream, a reconnect).
 * Returns a function that stops following.
 */
export function followPayment(id: string, handlers: FollowHandlers): () => void {
  let stopped = false;
  let streamLive = false;
  let pollTimer: ReturnType<typeof setTimeout> | undefined;
  let events: EventSource | undefined;
  let pending = true;
  const period = () => (pending ? POLL_MS : SLOW_POLL_MS);

  const stop = () => {
    stopped = true;
    events?.close();
    if (pollTimer !== undefined) clearTimeout(pollTimer);
  };
  const deliver = (payment: CheckoutPayment) => {
    if (stopped) return;
    pending = payment.status === "pending";
    handlers.onPayment(payment);
    if (handlers.isFinal(payment)) stop();
  };
  const poll = async () => {
    pollTimer = undefined;
    try {
      deliver(await fetchPayment(id));
    } catch (error) {
      if (!stopped) handlers.onError(error);
    }
    if (!stopped && !streamLive && pollTimer === undefined) pollTimer = setTimeout(poll, period());
  };
  const startPolling = () => {
    if (!stopped && pollTimer === undefined) pollTimer = setTimeout(poll, period());
  };

  if (typeof EventSource === "function") {
    events = new EventSource(`${paymentUrl(id)}/events`);
    events.addEventListener("payment", (event) => {
      streamLive = true;
      if (pollTimer !== undefined) {
        clearTimeout(pollTimer);
        pollTimer = undefined;
      }
      deliver(JSON.parse((event as MessageEvent<string>).data) as CheckoutPayment);
    });
    // EventSource retries by itself; until it is back (or for good, if it gave up), poll.
    events.addEventListener("error", () => {
      streamLive = false;
      startPolling();
    });
  } else {
    startPolling();
  }
  return stop;
}
