import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  attemptsReach,
  type CallbackFixture,
  eventIds,
  events,
  notSentinel,
  startCallbackFixture,
  stateReaches,
  WAIT,
} from "./callback-fixture.ts";
import { enqueueStatusCallback } from "./outbox.ts";
import { nominalRetryDelayMs, RETRY_WINDOW_MS } from "./retry-schedule.ts";

// When the receiver does not take a callback: what is retried and when, what is not, and that an
// intent's later event waits for the earlier one.

let f: CallbackFixture;
beforeAll(async () => {
  f = await startCallbackFixture();
});
afterEach(() => f.reset());
afterAll(() => f?.stop());

describe("retries", () => {
  it("retries 5xx on the documented schedule (backoff with jitter) for 3 days, then fails with the reason", async () => {
    f.receiver.respondWith(() => ({ status: 503, body: "down for maintenance" }));
    const gw = await f.gateway();
    const shop = await gw.createTenant();
    const id = await f.createIntent(gw, shop);
    let event = await attemptsReach(gw, shop, id, 1);
    while (event.state === "pending") {
      // Jump the dispatcher's clock to the next attempt instead of waiting for it.
      f.advance(event.next_attempt_at * 1000 - f.clock().getTime() + 1000);
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
    expect(f.receiver.received).toHaveLength(event.attempts.length);
  });

  it("retries 408 and 429, honouring Retry-After", async () => {
    const answers = [408, 429, 200];
    f.receiver.respondWith((_r, i) =>
      answers[i] === 429
        ? { status: 429, headers: { "retry-after": "600" } }
        : { status: answers[i] ?? 200 },
    );
    const gw = await f.gateway();
    const shop = await gw.createTenant();
    const id = await f.createIntent(gw, shop);
    let event = await attemptsReach(gw, shop, id, 1);
    f.advance(40_000);
    event = await attemptsReach(gw, shop, id, 2);
    // 429 asked for 10 minutes, more than the schedule's 1 minute.
    expect(event.next_attempt_at - event.attempts[1].attempted_at).toBeGreaterThanOrEqual(599);
    f.advance(601_000);
    event = await attemptsReach(gw, shop, id, 3);
    expect(event.attempts.map((a: any) => a.http_status)).toEqual([408, 429, 200]);
    expect(event.state).toBe("delivered");
  });

  it("does not retry other 4xx, nor follow a redirect", async () => {
    const gw = await f.gateway();
    const shop = await gw.createTenant();
    f.receiver.respondWith((r) =>
      r.body.group_key === "sentinel"
        ? { status: 200 }
        : r.body.group_key === "redirect"
          ? { status: 302, headers: { location: "http://127.0.0.1:1/elsewhere" } }
          : { status: 400, body: "unknown order" },
    );
    const rejected = await f.createIntent(gw, shop);
    const redirected = await f.createIntent(gw, shop, { group_key: "redirect" });
    const a = await stateReaches(gw, shop, rejected, "failed");
    const b = await stateReaches(gw, shop, redirected, "failed");
    expect(a.last_error).toBe("HTTP 400 (not retried)");
    expect(a.attempts).toEqual([expect.objectContaining({ http_status: 400, outcome: "failed" })]);
    expect(a.attempts[0].response_excerpt).toBe("unknown order");
    expect(b.last_error).toBe("redirect to http://127.0.0.1:1/elsewhere not followed");
    f.advance(24 * 3600 * 1000);
    await f.sentinelDelivered(gw, shop);
    expect(notSentinel(f.receiver.received)).toHaveLength(2);
  });

  it("loses nothing while the receiver is down, and delivers each event once when it is back", async () => {
    await f.receiver.down();
    const gw = await f.gateway();
    const shop = await gw.createTenant();
    const ids = await Promise.all([1, 2, 3, 4, 5].map(() => f.createIntent(gw, shop)));
    for (const id of ids) {
      const e = await attemptsReach(gw, shop, id, 1);
      expect(e.attempts[0]).toMatchObject({ outcome: "retry", http_status: null });
      expect(e.attempts[0].error).toMatch(/ECONNREFUSED/);
    }
    await f.receiver.up();
    f.advance(60_000);
    const calls = await f.receiver.waitFor(5);
    // The receiver answers before the attempt is recorded: wait for the records.
    for (const id of ids) await stateReaches(gw, shop, id, "delivered");
    expect(new Set(eventIds(calls)).size).toBe(5);
    expect(calls.map((c) => c.body.payment_intent_id).sort()).toEqual([...ids].sort());
  });
});

describe("ordering", () => {
  it("sends an intent's later event only after the earlier one is delivered or has failed", async () => {
    const gw = await f.gateway();
    const shop = await gw.createTenant();
    let failFirst = 2;
    f.receiver.respondWith((r) =>
      r.body.group_key === "ordered" && r.body.status === "expired" && failFirst-- > 0
        ? { status: 503 }
        : { status: 200 },
    );
    const id = await f.createIntent(gw, shop, { group_key: "ordered" });
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
    await f.sentinelDelivered(gw, shop);
    expect(notSentinel(f.receiver.received).map((c) => c.body.status)).toEqual(["expired"]);
    for (const n of [2, 3]) {
      f.advance(10 * 60_000);
      await attemptsReach(gw, shop, id, n);
    }
    await expect.poll(() => notSentinel(f.receiver.received).length, WAIT).toBe(4);
    expect(notSentinel(f.receiver.received).map((c) => c.body.status)).toEqual([
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
