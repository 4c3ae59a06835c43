import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { TestGateway } from "../testing/test-gateway.ts";
import {
  attemptsReach,
  type CallbackFixture,
  notSentinel,
  startCallbackFixture,
  WAIT,
} from "./callback-fixture.ts";
import { enqueueStatusCallback } from "./outbox.ts";

// The dispatcher does not poll when nothing is due: it sleeps until an event is written (the
// writer's notification, from this process or another) or until its next retry is due. Here its
// safety poll is an hour, so a callback that arrives was woken for, not found by a poll.

let f: CallbackFixture;
beforeAll(async () => {
  f = await startCallbackFixture();
});
afterEach(() => f.reset());
afterAll(() => f?.stop());

// An hour's safety poll, and intents that do not expire during the test (an expiry nudges the
// dispatcher in process).
const SLEEPY = { CALLBACK_POLL_MS: "3600000", PAYMENT_TTL_SECONDS: "3600" };

/**
 * Writes a callback event the way a status change does, straight through the database: no
 * dispatcher of this process is told, only the notification sent at commit can wake one. On
 * PostgreSQL it travels through the server to the listening connection, as it would to another
 * process's.
 */
async function writeEvent(gw: TestGateway, intentId: string, at: Date): Promise<void> {
  await gw.database.db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom("payment_intents")
      .selectAll()
      .where("id", "=", intentId)
      .executeTakeFirstOrThrow();
    await enqueueStatusCallback(trx, { ...row, callback_url: f.receiver.url }, at);
  });
}

describe("waking the dispatcher", () => {
  it("delivers an event written while it sleeps, without waiting for its poll", async () => {
    const gw = await f.gateway({ env: SLEEPY });
    const shop = await gw.createTenant();
    // No callback_url: the intent's own expiry sends nothing.
    const id = await f.createIntent(gw, shop, { callback_url: null });
    await writeEvent(gw, id, f.clock());
    await expect.poll(() => notSentinel(f.receiver.received).length, WAIT).toBe(1);
    expect(f.receiver.received[0]?.body.payment_intent_id).toBe(id);
  });

  it("wakes at a retry's due time", async () => {
    const gw = await f.gateway({ env: SLEEPY });
    const shop = await gw.createTenant();
    const id = await f.createIntent(gw, shop, { callback_url: null });
    // Due two seconds from now: the write's notification wakes the dispatcher, which finds
    // nothing due yet and must wake again by itself at that time.
    const due = new Date(f.clock().getTime() + 2000);
    await writeEvent(gw, id, due);
    const event = await attemptsReach(gw, shop, id, 1);
    expect(event.state).toBe("delivered");
    expect(event.attempts[0].attempted_at).toBeGreaterThanOrEqual(Math.floor(due.getTime() / 1000));
    expect(f.receiver.received).toHaveLength(1);
  });
});
