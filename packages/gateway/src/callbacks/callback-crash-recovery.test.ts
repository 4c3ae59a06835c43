import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../testing/test-database.ts";
import {
  attemptsReach,
  type CallbackFixture,
  notSentinel,
  startCallbackFixture,
  WAIT,
} from "./callback-fixture.ts";
import { enqueueStatusCallback } from "./outbox.ts";

// A gateway that stops or dies with callbacks owed: a restart resumes them, and an event leased by
// a dead process is delivered once the lease runs out.

let f: CallbackFixture;
beforeAll(async () => {
  f = await startCallbackFixture();
});
afterEach(() => f.reset());
afterAll(() => f?.stop());

describe("crash recovery", () => {
  it("a gateway restarted in the middle of a retry resumes it; one stopped mid-request hands the event back", async () => {
    const database = await createTestDatabase();
    try {
      f.receiver.respondWith(() => ({ status: 500 }));
      const first = await f.gateway({ database });
      const shop = await first.createTenant();
      const retried = await f.createIntent(first, shop);
      await attemptsReach(first, shop, retried, 1);
      // The next delivery hangs: stop the gateway while it is on the wire.
      f.receiver.respondWith(() => "hang");
      const hung = await f.createIntent(first, shop);
      await expect
        .poll(() => f.receiver.received.some((c) => c.body.payment_intent_id === hung), WAIT)
        .toBe(true);
      await first.close();

      f.receiver.respondWith(() => ({ status: 200 }));
      f.advance(60_000);
      const second = await f.gateway({ database });
      const a = await attemptsReach(second, shop, retried, 2);
      const b = await attemptsReach(second, shop, hung, 1);
      expect(a.attempts.map((x: any) => x.outcome)).toEqual(["retry", "delivered"]);
      // The interrupted request was not the receiver's fault: no attempt recorded for it.
      expect(b.attempts.map((x: any) => x.outcome)).toEqual(["delivered"]);
      expect(a.state).toBe("delivered");
      expect(b.state).toBe("delivered");
    } finally {
      await f.closeGateways();
      await database.close();
    }
  });

  it("delivers an event claimed by a process that died once that process's lease runs out", async () => {
    const gw = await f.gateway();
    const shop = await gw.createTenant();
    const id = await f.createIntent(gw, shop, { callback_url: null });
    // What a process that claimed the event and then died leaves behind: a lease, no attempt.
    await gw.database.db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom("payment_intents")
        .selectAll()
        .where("id", "=", id)
        .executeTakeFirstOrThrow();
      const eventId = await enqueueStatusCallback(
        trx,
        { ...row, status: "expired", callback_url: f.receiver.url },
        new Date(),
      );
      await trx
        .updateTable("callback_events")
        .set({ locked_until: new Date(f.clock().getTime() + 60_000) })
        .where("id", "=", eventId as string)
        .execute();
    });
    await f.sentinelDelivered(gw, shop);
    expect(notSentinel(f.receiver.received)).toHaveLength(0);
    f.advance(61_000);
    await expect.poll(() => notSentinel(f.receiver.received).length, WAIT).toBe(1);
    expect(notSentinel(f.receiver.received)[0]?.body.payment_intent_id).toBe(id);
    const event = await attemptsReach(gw, shop, id, 1);
    expect(event.state).toBe("delivered");
  });
});
