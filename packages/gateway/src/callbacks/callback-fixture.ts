import { expect, vi } from "vitest";
import type { DatabaseHandle } from "../platform/database/create-database.ts";
import { type ReceivedCallback, startCallbackReceiver } from "../testing/callback-receiver.ts";
import { startTestGateway, type TestGateway, type TestTenant } from "../testing/test-gateway.ts";
import type { Resolve } from "./url-guard.ts";

// What the callback tests share: a real merchant endpoint (the receiver), real gateways that
// deliver to it, and a dispatcher clock the tests move forward instead of waiting hours or days.

// Intents here live one second and nobody watches their chain, so the deadline sweep expires them
// on the wall clock: each intent with a callback_url then owes exactly one "expired" callback.
const ENV = {
  PAYMENT_TTL_SECONDS: "1",
  CALLBACK_ALLOWED_NETWORKS: "127.0.0.0/8",
  CALLBACK_POLL_MS: "25",
};
export const INTENT = "/v1/studio/api/payment/intent";
export const WAIT = { timeout: 60_000, interval: 25 };

export async function api(
  gw: TestGateway,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: the wire's JSON, read loosely as in the test files (where biome allows any); each test asserts the fields it relies on
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${gw.url}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.json() };
}

export const key = (t: TestTenant) => ({ "X-STUDIO-API-KEY": t.apiKey });

/** The intent's callback events as the API lists them, oldest first. */
// biome-ignore lint/suspicious/noExplicitAny: as api(): the tests assert the events' fields
export async function events(gw: TestGateway, tenant: TestTenant, id: string): Promise<any[]> {
  const r = await api(gw, "GET", `${INTENT}/${id}/callbacks`, key(tenant));
  expect(r.body.code, JSON.stringify(r.body)).toBe(0);
  return r.body.data.items;
}

/** Waits until the intent's first event has `n` attempts recorded, and returns it. */
export const attemptsReach = (gw: TestGateway, t: TestTenant, id: string, n: number) =>
  vi.waitFor(async () => {
    const [event] = await events(gw, t, id);
    expect(event?.attempts.length ?? 0, `attempts of ${id}`).toBeGreaterThanOrEqual(n);
    return event;
  }, WAIT);

/** Waits until the intent's first event is in `state`, and returns it. */
export const stateReaches = (gw: TestGateway, t: TestTenant, id: string, state: string) =>
  vi.waitFor(async () => {
    const [event] = await events(gw, t, id);
    expect(event?.state, `state of ${id}'s callback`).toBe(state);
    return event;
  }, WAIT);

export const notSentinel = (calls: ReceivedCallback[]) =>
  calls.filter((c) => c.body.group_key !== "sentinel");

export const eventIds = (calls: ReceivedCallback[]) =>
  calls.map((c) => c.headers["x-stablegate-event-id"]);

/** Start once per file (beforeAll); reset() after each test, stop() after all. */
export async function startCallbackFixture() {
  const receiver = await startCallbackReceiver();
  const opened: Array<{ close(): Promise<void> }> = [];
  /** The dispatcher's clock: real time plus an offset that tests move forward by hours or days. */
  let offsetMs = 0;
  const clock = () => new Date(Date.now() + offsetMs);

  async function createIntent(
    gw: TestGateway,
    tenant: TestTenant,
    extra: Record<string, unknown> = {},
  ): Promise<string> {
    const r = await api(gw, "POST", INTENT, key(tenant), {
      fiat_amount: "300.0",
      fiat_currency: "TWD",
      callback_url: receiver.url,
      ...extra,
    });
    expect(r.body.code, JSON.stringify(r.body)).toBe(0);
    return r.body.data.payment_intent_id as string;
  }

  async function closeGateways(): Promise<void> {
    while (opened.length > 0) await opened.pop()?.close();
  }

  return {
    receiver,
    clock,
    /** Moves the dispatcher's clock forward by `ms`. */
    advance(ms: number) {
      offsetMs += ms;
    },

    /** A gateway on the shared clock, closed by reset(). */
    async gateway(
      options: { env?: Record<string, string>; database?: DatabaseHandle; resolve?: Resolve } = {},
    ): Promise<TestGateway> {
      const gw = await startTestGateway({
        env: { ...ENV, ...options.env },
        settleIntervalMs: 100,
        callbackClock: clock,
        ...(options.database ? { database: options.database } : {}),
        ...(options.resolve ? { resolve: options.resolve } : {}),
      });
      opened.push(gw);
      return gw;
    },

    createIntent,

    /**
     * An intent whose callback is answered 200 and awaited: once it is delivered, the dispatcher
     * has claimed after everything written before it, so what it did not send was held back on
     * purpose.
     */
    async sentinelDelivered(gw: TestGateway, t: TestTenant): Promise<void> {
      const id = await createIntent(gw, t, { group_key: "sentinel" });
      await stateReaches(gw, t, id, "delivered");
    },

    closeGateways,

    async reset() {
      await closeGateways();
      receiver.received.length = 0;
      receiver.respondWith(() => ({ status: 200 }));
      offsetMs = 0;
    },

    async stop() {
      await closeGateways();
      await receiver.close();
    },
  };
}

export type CallbackFixture = Awaited<ReturnType<typeof startCallbackFixture>>;
