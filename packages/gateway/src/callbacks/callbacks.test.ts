import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { verifyWebhook } from "../../../sdk/src/verify-webhook.ts";
import type { DatabaseHandle } from "../platform/database/create-database.ts";
import {
  type CallbackReceiver,
  type ReceivedCallback,
  startCallbackReceiver,
} from "../testing/callback-receiver.ts";
import { createTestDatabase } from "../testing/test-database.ts";
import { startTestGateway, type TestGateway, type TestTenant } from "../testing/test-gateway.ts";
import { enqueueStatusCallback } from "./outbox.ts";
import { nominalRetryDelayMs, RETRY_WINDOW_MS } from "./retry-schedule.ts";
import { CallbackPayload } from "./schemas.ts";

// Intents here live one second and nobody watches their chain, so the deadline sweep expires them
// on the wall clock: each intent with a callback_url then owes exactly one "expired" callback.
const ENV = {
  PAYMENT_TTL_SECONDS: "1",
  CALLBACK_ALLOWED_NETWORKS: "127.0.0.0/8",
  CALLBACK_POLL_MS: "25",
};
const INTENT = "/v1/studio/api/payment/intent";

/** The dispatcher's clock: real time plus an offset that tests move forward by hours or days. */
let offsetMs = 0;
const clock = () => new Date(Date.now() + offsetMs);

let receiver: CallbackReceiver;
const opened: Array<{ close(): Promise<void> }> = [];

async function gateway(
  options: { env?: Record<string, string>; database?: DatabaseHandle } = {},
): Promise<TestGateway> {
  const gw = await startTestGateway({
    env: { ...ENV, ...options.env },
    settleIntervalMs: 100,
    callbackClock: clock,
    ...(options.database ? { database: options.database } : {}),
  });
  opened.push(gw);
  return gw;
}

async function api(
  gw: TestGateway,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${gw.url}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.json() };
}

const key = (t: TestTenant) => ({ "X-STUDIO-API-KEY": t.apiKey });

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

async function events(gw: TestGateway, tenant: TestTenant, id: string): Promise<any[]> {
  const r = await api(gw, "GET", `${INTENT}/${id}/callbacks`, key(tenant));
  expect(r.body.code, JSON.stringify(r.body)).toBe(0);
  return r.body.data.items;
}

const WAIT = { timeout: 15_000, interval: 25 };

/** Waits until the intent's first event has `n` attempts recorded, and returns it. */
const attemptsReach = (gw: TestGateway, t: TestTenant, id: string, n: number) =>
  vi.waitFor(async () => {
    const [event] = await events(gw, t, id);
    expect(event?.attempts.length ?? 0, `attempts of ${id}`).toBeGreaterThanOrEqual(n);
    return event;
  }, WAIT);

/** Waits until the intent's first event is in `state`, and returns it. */
const stateReaches = (gw: TestGateway, t: TestTenant, id: string, state: string) =>
  vi.waitFor(async () => {
    const [event] = await events(gw, t, id);
    expect(event?.state, `state of ${id}'s callback`).toBe(state);
    return event;
  }, WAIT);

/**
 * An intent whose callback is answered 200 and awaited: once it is delivered, the dispatcher has
 * claimed after everything written before it, so what it did not send was held back on purpose.
 */
async function sentinelDelivered(gw: TestGateway, t: TestTenant): Promise<void> {
  const id = await createIntent(gw, t, { group_key: "sentinel" });
  await stateReaches(gw, t, id, "delivered");
}

const notSentinel = (calls: ReceivedCallback[]) =>
  calls.filter((c) => c.body.group_key !== "sentinel");

const eventIds = (calls: ReceivedCallback[]) =>
  calls.map((c) => c.headers["x-stablegate-event-id"]);

beforeAll(async () => {
  receiver = await startCallbackReceiver();
});

afterEach(async () => {
  while (opened.length > 0) await opened.pop()?.close();
  receiver.received.length = 0;
  receiver.respondWith(() => ({ status: 200 }));
  offsetMs = 0;
});

afterAll(async () => {
  await receiver.close();
});

describe("callback payload and signature", () => {
  it("posts the reference's fields once the status changes, signed so the SDK verifies it", async () => {
    const gw = await gateway();
    const shop = await gw.createTenant();
    const orderData = { order_id: "uid_12345", item_id: "100", nested: { a: [1, "2", null] } };
    const id = await createIntent(gw, shop, { order_data: orderData, group_key: "buy_stone" });
    const [call] = await receiver.waitFor(1);
    // No "pending" callback at creation: the one callback reports the change to expired.
    expect(receiver.received).toHaveLength(1);
    const c = call as ReceivedCallback;
    expect(c.headers["content-type"]).toBe("application/json");
    const payload = verifyWebhook(
      c.rawBody,
      c.headers["x-stablegate-signature"] as string,
      shop.webhookSecret,
    );
    expect(Object.keys(payload)).toEqual([
      "payment_intent_id",
      "client_id",
      "fiat_amount",
      "fiat_currency",
      "payment_deadline",
      "status",
      "payment_chain_id",
      "symbol",
      "crypto_amount",
      "payment_tx_hash",
      "refund_tx_hash",
      "received_amount",
      "aggregated_amount",
      "refund_amount",
      "order_data",
      "callback_url",
      "group_key",
      "event_id",
      "event_time",
    ]);
    // The body is what the published schema says, field for field and in its order.
    expect(CallbackPayload.strict().parse(payload)).toEqual(payload);
    expect(Object.keys(payload)).toEqual(Object.keys(CallbackPayload.shape));
    expect(payload).toMatchObject({
      payment_intent_id: id,
      client_id: shop.clientId,
      fiat_amount: "300.0",
      fiat_currency: "TWD",
      status: "expired",
      payment_chain_id: "arb",
      symbol: "USDT",
      crypto_amount: "9.23",
      payment_tx_hash: null,
      refund_tx_hash: null,
      received_amount: null,
      aggregated_amount: null,
      refund_amount: null,
      order_data: orderData,
      callback_url: receiver.url,
      group_key: "buy_stone",
    });
    expect(typeof payload.payment_deadline).toBe("number");
    expect(payload.event_id).toBe(c.headers["x-stablegate-event-id"]);
    expect(Math.abs(payload.event_time - Date.now() / 1000)).toBeLessThan(30);

    // The same values the API shows for the intent.
    const got = await api(gw, "GET", `${INTENT}/${id}`, key(shop));
    for (const k of ["payment_deadline", "crypto_amount", "status", "order_data"] as const)
      expect(payload[k]).toEqual(got.body.data[k]);

    // A tampered body, another organisation's secret and a stale timestamp all fail.
    const header = c.headers["x-stablegate-signature"] as string;
    const tampered = c.rawBody.replace('"expired"', '"success"');
    expect(() => verifyWebhook(tampered, header, shop.webhookSecret)).toThrow(/no signature/);
    const other = await gw.createTenant();
    expect(() => verifyWebhook(c.rawBody, header, other.webhookSecret)).toThrow(/no signature/);
    expect(() =>
      verifyWebhook(c.rawBody, header, shop.webhookSecret, { now: Date.now() / 1000 + 301 }),
    ).toThrow(/300 s/);
  });

  it("signs with both secrets for 24 hours after a rotation, then with the new one only", async () => {
    const gw = await gateway();
    const shop = await gw.createTenant();
    const { secret: fresh } = await gw.services.webhookSecrets.rotate(shop.orgId);
    await createIntent(gw, shop);
    const [first] = await receiver.waitFor(1);
    const header = first?.headers["x-stablegate-signature"] as string;
    expect(header.match(/v1=/g)).toHaveLength(2);
    verifyWebhook(first?.rawBody as string, header, shop.webhookSecret);
    verifyWebhook(first?.rawBody as string, header, fresh);

    offsetMs = 24 * 3600 * 1000 + 60_000;
    await createIntent(gw, shop);
    const [, second] = await receiver.waitFor(2);
    const header2 = second?.headers["x-stablegate-signature"] as string;
    expect(header2.match(/v1=/g)).toHaveLength(1);
    const body2 = second?.rawBody as string;
    const t2 = Number(/t=(\d+)/.exec(header2)?.[1]);
    verifyWebhook(body2, header2, fresh, { now: t2 });
    expect(() => verifyWebhook(body2, header2, shop.webhookSecret, { now: t2 })).toThrow();
  });
});

describe("retries", () => {
  it("retries 5xx on the documented schedule (backoff with jitter) for 3 days, then fails with the reason", async () => {
    receiver.respondWith(() => ({ status: 503, body: "down for maintenance" }));
    const gw = await gateway();
    const shop = await gw.createTenant();
    const id = await createIntent(gw, shop);
    let event = await attemptsReach(gw, shop, id, 1);
    while (event.state === "pending") {
      // Jump the dispatcher's clock to the next attempt instead of waiting for it.
      offsetMs += event.next_attempt_at * 1000 - clock().getTime() + 1000;
      event = await attemptsReach(gw, shop, id, event.attempts.length + 1);
    }
    expect(event.state).toBe("failed");
    expect(event.last_error).toMatch(/^gave up after \d+ attempts over 3 days; last: HTTP 503$/);
    const times: number[] = event.attempts.map((a: any) => a.attempted_at);
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    const last = gaps.length - 1;
    gaps.forEach((gap, i) => {
      if (i === last) return; // the last wait is cut short at the end of the window
      const nominal = nominalRetryDelayMs(i + 1) / 1000;
      expect(gap, `wait ${i + 1}`).toBeGreaterThanOrEqual(Math.floor(nominal * 0.8) - 1);
      expect(gap, `wait ${i + 1}`).toBeLessThanOrEqual(Math.ceil(nominal * 1.2) + 2);
    });
    expect(new Set(gaps.map((g, i) => g / nominalRetryDelayMs(i + 1))).size).toBeGreaterThan(3);
    const span = (times.at(-1) as number) - (times[0] as number);
    expect(span).toBeGreaterThan(RETRY_WINDOW_MS / 1000 - 60);
    expect(span).toBeLessThanOrEqual(RETRY_WINDOW_MS / 1000 + 5);
    expect(event.attempts.at(-1)).toMatchObject({ outcome: "failed", http_status: 503 });
    expect(event.attempts[0]).toMatchObject({
      outcome: "retry",
      http_status: 503,
      error: "HTTP 503",
      response_excerpt: "down for maintenance",
    });
    expect(receiver.received).toHaveLength(event.attempts.length);
  });

  it("retries 408 and 429, honouring Retry-After", async () => {
    const answers = [408, 429, 200];
    receiver.respondWith((_r, i) =>
      answers[i] === 429
        ? { status: 429, headers: { "retry-after": "600" } }
        : { status: answers[i] ?? 200 },
    );
    const gw = await gateway();
    const shop = await gw.createTenant();
    const id = await createIntent(gw, shop);
    let event = await attemptsReach(gw, shop, id, 1);
    offsetMs += 40_000;
    event = await attemptsReach(gw, shop, id, 2);
    // 429 asked for 10 minutes, more than the schedule's 1 minute.
    expect(event.next_attempt_at - event.attempts[1].attempted_at).toBeGreaterThanOrEqual(599);
    offsetMs += 601_000;
    event = await attemptsReach(gw, shop, id, 3);
    expect(event.attempts.map((a: any) => a.http_status)).toEqual([408, 429, 200]);
    expect(event.state).toBe("delivered");
  });

  it("does not retry other 4xx, nor follow a redirect", async () => {
    const gw = await gateway();
    const shop = await gw.createTenant();
    receiver.respondWith((r) =>
      r.body.group_key === "sentinel"
        ? { status: 200 }
        : r.body.group_key === "redirect"
          ? { status: 302, headers: { location: "http://127.0.0.1:1/elsewhere" } }
          : { status: 400, body: "unknown order" },
    );
    const rejected = await createIntent(gw, shop);
    const redirected = await createIntent(gw, shop, { group_key: "redirect" });
    const a = await stateReaches(gw, shop, rejected, "failed");
    const b = await stateReaches(gw, shop, redirected, "failed");
    expect(a.last_error).toBe("HTTP 400 (not retried)");
    expect(a.attempts).toEqual([expect.objectContaining({ http_status: 400, outcome: "failed" })]);
    expect(a.attempts[0].response_excerpt).toBe("unknown order");
    expect(b.last_error).toBe("redirect to http://127.0.0.1:1/elsewhere not followed");
    offsetMs += 24 * 3600 * 1000;
    await sentinelDelivered(gw, shop);
    expect(notSentinel(receiver.received)).toHaveLength(2);
  });

  it("loses nothing while the receiver is down, and delivers each event once when it is back", async () => {
    await receiver.down();
    const gw = await gateway();
    const shop = await gw.createTenant();
    const ids = await Promise.all([1, 2, 3, 4, 5].map(() => createIntent(gw, shop)));
    for (const id of ids) {
      const e = await attemptsReach(gw, shop, id, 1);
      expect(e.attempts[0]).toMatchObject({ outcome: "retry", http_status: null });
      expect(e.attempts[0].error).toMatch(/ECONNREFUSED/);
    }
    await receiver.up();
    offsetMs += 60_000;
    const calls = await receiver.waitFor(5);
    // The receiver answers before the attempt is recorded: wait for the records.
    for (const id of ids) await stateReaches(gw, shop, id, "delivered");
    expect(new Set(eventIds(calls)).size).toBe(5);
    expect(calls.map((c) => c.body.payment_intent_id).sort()).toEqual([...ids].sort());
  });

  it("a gateway restarted in the middle of a retry resumes it; one stopped mid-request hands the event back", async () => {
    const database = await createTestDatabase();
    try {
      receiver.respondWith(() => ({ status: 500 }));
      const first = await gateway({ database });
      const shop = await first.createTenant();
      const retried = await createIntent(first, shop);
      await attemptsReach(first, shop, retried, 1);
      // The next delivery hangs: stop the gateway while it is on the wire.
      receiver.respondWith(() => "hang");
      const hung = await createIntent(first, shop);
      await expect
        .poll(() => receiver.received.some((c) => c.body.payment_intent_id === hung), WAIT)
        .toBe(true);
      await first.close();

      receiver.respondWith(() => ({ status: 200 }));
      offsetMs += 60_000;
      const second = await gateway({ database });
      const a = await attemptsReach(second, shop, retried, 2);
      const b = await attemptsReach(second, shop, hung, 1);
      expect(a.attempts.map((x: any) => x.outcome)).toEqual(["retry", "delivered"]);
      // The interrupted request was not the receiver's fault: no attempt recorded for it.
      expect(b.attempts.map((x: any) => x.outcome)).toEqual(["delivered"]);
      expect(a.state).toBe("delivered");
      expect(b.state).toBe("delivered");
    } finally {
      while (opened.length > 0) await opened.pop()?.close();
      await database.close();
    }
  });
});

describe("crash recovery", () => {
  it("delivers an event claimed by a process that died once that process's lease runs out", async () => {
    const gw = await gateway();
    const shop = await gw.createTenant();
    const id = await createIntent(gw, shop, { callback_url: null });
    // What a process that claimed the event and then died leaves behind: a lease, no attempt.
    await gw.database.db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom("payment_intents")
        .selectAll()
        .where("id", "=", id)
        .executeTakeFirstOrThrow();
      const eventId = await enqueueStatusCallback(
        trx,
        { ...row, status: "expired", callback_url: receiver.url },
        new Date(),
      );
      await trx
        .updateTable("callback_events")
        .set({ locked_until: new Date(clock().getTime() + 60_000) })
        .where("id", "=", eventId as string)
        .execute();
    });
    await sentinelDelivered(gw, shop);
    expect(notSentinel(receiver.received)).toHaveLength(0);
    offsetMs += 61_000;
    await expect.poll(() => notSentinel(receiver.received).length, WAIT).toBe(1);
    expect(notSentinel(receiver.received)[0]?.body.payment_intent_id).toBe(id);
    const event = await attemptsReach(gw, shop, id, 1);
    expect(event.state).toBe("delivered");
  });
});

describe("ordering", () => {
  it("sends an intent's later event only after the earlier one is delivered or has failed", async () => {
    const gw = await gateway();
    const shop = await gw.createTenant();
    let failFirst = 2;
    receiver.respondWith((r) =>
      r.body.group_key === "ordered" && r.body.status === "expired" && failFirst-- > 0
        ? { status: 503 }
        : { status: 200 },
    );
    const id = await createIntent(gw, shop, { group_key: "ordered" });
    await attemptsReach(gw, shop, id, 1);
    // A later status change of the same intent (what a refund will write), due at once.
    await gw.database.db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom("payment_intents")
        .selectAll()
        .where("id", "=", id)
        .executeTakeFirstOrThrow();
      await enqueueStatusCallback(trx, { ...row, status: "insufficient_refunded" }, new Date());
    });
    await sentinelDelivered(gw, shop);
    expect(notSentinel(receiver.received).map((c) => c.body.status)).toEqual(["expired"]);
    for (const n of [2, 3]) {
      offsetMs += 10 * 60_000;
      await attemptsReach(gw, shop, id, n);
    }
    await expect.poll(() => notSentinel(receiver.received).length, WAIT).toBe(4);
    expect(notSentinel(receiver.received).map((c) => c.body.status)).toEqual([
      "expired",
      "expired",
      "expired",
      "insufficient_refunded",
    ]);
    const list = await vi.waitFor(async () => {
      const l = await events(gw, shop, id);
      expect(l.map((e) => e.state)).toEqual(["delivered", "delivered"]);
      return l;
    }, WAIT);
    expect(list.map((e) => [e.status, e.state])).toEqual([
      ["expired", "delivered"],
      ["insufficient_refunded", "delivered"],
    ]);
  });
});

describe("callback URL safety", () => {
  it("refuses, at creation, callback URLs that lead to loopback, private, link-local or metadata addresses", async () => {
    const gw = await gateway({ env: { CALLBACK_ALLOWED_NETWORKS: "" } });
    const shop = await gw.createTenant();
    for (const url of [
      "http://127.0.0.1:8080/cb",
      "http://localhost/cb",
      "http://[::1]/cb",
      "http://10.1.2.3/cb",
      "http://192.168.0.10/cb",
      "http://169.254.169.254/latest/meta-data/",
      "http://100.100.100.200/",
      "http://[::ffff:127.0.0.1]/cb",
      "http://[fd00:ec2::254]/",
    ]) {
      const r = await api(gw, "POST", INTENT, key(shop), {
        fiat_amount: "1",
        fiat_currency: "USD",
        callback_url: url,
      });
      expect(r.status, url).toBe(400);
      expect(r.body.code).toBe(4000);
      expect(r.body.message).toMatch(/^callback_url: .* private, loopback, link-local or metadata/);
    }
    const ftp = await api(gw, "POST", INTENT, key(shop), {
      fiat_amount: "1",
      fiat_currency: "USD",
      callback_url: "ftp://example.com/x",
    });
    expect(ftp.body).toMatchObject({ code: 4000, message: expect.stringMatching(/^callback_url/) });
  });

  it("checks again at delivery: a host that now resolves to a private address is refused", async () => {
    let answer = "93.184.216.34";
    const gw = await startTestGateway({
      env: { ...ENV, CALLBACK_ALLOWED_NETWORKS: "" },
      settleIntervalMs: 100,
      callbackClock: clock,
      resolve: async () => [{ address: answer, family: 4 }],
    });
    opened.push(gw);
    const shop = await gw.createTenant();
    const id = await createIntent(gw, shop, {
      callback_url: `http://merchant.example:${receiver.port}/callback`,
    });
    answer = "127.0.0.1";
    const event = await stateReaches(gw, shop, id, "failed");
    expect(event.last_error).toMatch(/^refused: merchant.example resolves to 127.0.0.1/);
    expect(receiver.received).toHaveLength(0);
  });

  it("reads at most 4 KB of an answer and gives up on a receiver that does not answer in time", async () => {
    const gw = await gateway({ env: { CALLBACK_TIMEOUT_MS: "300" } });
    const shop = await gw.createTenant();
    receiver.respondWith((r) =>
      r.body.group_key === "slow" ? "hang" : { status: 200, body: "x".repeat(1_000_000) },
    );
    const big = await createIntent(gw, shop);
    const slow = await createIntent(gw, shop, { group_key: "slow" });
    const a = await attemptsReach(gw, shop, big, 1);
    expect(a.state).toBe("delivered");
    expect(a.attempts[0].response_excerpt).toHaveLength(4096);
    const b = await attemptsReach(gw, shop, slow, 1);
    expect(b.attempts[0]).toMatchObject({ outcome: "retry", error: "no answer within 0.3 s" });
  });
});

describe("callbacks API", () => {
  it("lists events with attempts, resends the latest, and is for the API key of the intent's organisation", async () => {
    const gw = await gateway();
    const shop = await gw.createTenant();
    const other = await gw.createTenant();
    const id = await createIntent(gw, shop);
    const event = await attemptsReach(gw, shop, id, 1);
    expect(event).toMatchObject({
      status: "expired",
      callback_url: receiver.url,
      state: "delivered",
      next_attempt_at: null,
      failed_at: null,
      last_error: null,
      payload: expect.objectContaining({ payment_intent_id: id, status: "expired" }),
    });
    expect(event.attempts[0]).toMatchObject({ outcome: "delivered", http_status: 200 });

    const resent = await api(gw, "POST", `${INTENT}/${id}/callbacks/resend`, key(shop));
    expect(resent.body).toMatchObject({
      code: 0,
      data: { event_id: event.event_id, state: "pending" },
    });
    const calls = await receiver.waitFor(2);
    expect(eventIds(calls)).toEqual([event.event_id, event.event_id]);
    expect(calls[1]?.rawBody).toBe(calls[0]?.rawBody);
    await attemptsReach(gw, shop, id, 2);

    const path = `${INTENT}/${id}/callbacks`;
    const browser = await api(gw, "GET", path, {
      "X-Client-ID": shop.clientId,
      Origin: shop.origin,
    });
    expect(browser).toMatchObject({ status: 401, body: { code: 4002 } });
    expect((await api(gw, "GET", path, key(other))).body.code).toBe(4006);
    expect((await api(gw, "POST", `${path}/resend`, key(other))).body.code).toBe(4006);

    const quiet = await api(gw, "POST", INTENT, key(shop), {
      fiat_amount: "1",
      fiat_currency: "USD",
    });
    const none = await api(
      gw,
      "POST",
      `${INTENT}/${quiet.body.data.payment_intent_id}/callbacks/resend`,
      key(shop),
    );
    expect(none).toMatchObject({ status: 409, body: { code: 4016 } });

    const doc = (await (await fetch(`${gw.url}/openapi.json`)).json()) as {
      paths: object;
      webhooks: Record<string, any>;
      components: { schemas: Record<string, any> };
    };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/v1/studio/api/payment/intent/{id}/callbacks",
        "/v1/studio/api/payment/intent/{id}/callbacks/resend",
      ]),
    );
    // The callback itself is published as an OpenAPI 3.1 webhook with the payload's schema.
    expect(
      doc.webhooks["payment-status"].post.requestBody.content["application/json"].schema,
    ).toEqual({ $ref: "#/components/schemas/CallbackPayload" });
    expect(Object.keys(doc.components.schemas.CallbackPayload.properties)).toEqual(
      Object.keys(CallbackPayload.shape),
    );
  });
});

describe("load", () => {
  it("delivers 100 intents' callbacks at once, each exactly once and verifiable", async () => {
    const gw = await gateway();
    const shop = await gw.createTenant();
    const ids = await Promise.all(Array.from({ length: 100 }, () => createIntent(gw, shop)));
    // Once every event is recorded delivered, nothing can send it again: then count.
    await vi.waitFor(
      async () => {
        const { n } = await gw.database.db
          .selectFrom("callback_events")
          .select((eb) => eb.fn.countAll<string>().as("n"))
          .where("payment_intent_id", "in", ids)
          .where("state", "=", "delivered")
          .executeTakeFirstOrThrow();
        expect(Number(n)).toBe(100);
      },
      { timeout: 30_000, interval: 50 },
    );
    const calls = receiver.received;
    expect(calls).toHaveLength(100);
    expect(new Set(eventIds(calls)).size).toBe(100);
    expect(calls.map((c) => c.body.payment_intent_id).sort()).toEqual([...ids].sort());
    for (const c of calls)
      verifyWebhook(c.rawBody, c.headers["x-stablegate-signature"] as string, shop.webhookSecret);
  });
});
