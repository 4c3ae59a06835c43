import type { Kysely } from "kysely";
import type { Caller } from "../organizations/tenancy-service.ts";
import type { PaymentIntentService } from "../payments/payment-intent-service.ts";
import { notify } from "../platform/database/notifications.ts";
import type { Database } from "../platform/database/schema.ts";
import { DomainError, ErrorCode } from "../platform/errors.ts";
import { CALLBACK_TOPIC } from "./outbox.ts";
import type { CallbackEvent, CallbackPayload } from "./schemas.ts";

/** An intent's callback event as the API shows it (the CallbackEvent schema). */
export type CallbackEventView = CallbackEvent;

const unix = (d: Date) => Math.floor(d.getTime() / 1000);

/** The merchant's view of an intent's callbacks: what was sent, each attempt, and resending. */
export function createCallbackService(options: {
  db: Kysely<Database>;
  intents: PaymentIntentService;
  now?: () => Date;
}) {
  const { db, intents } = options;
  const now = options.now ?? (() => new Date());

  /** The intent's events and their attempts as read by `q` (one snapshot when `q` is a transaction). */
  async function readEvents(q: Kysely<Database>, intentId: string): Promise<CallbackEventView[]> {
    const events = await q
      .selectFrom("callback_events")
      .selectAll()
      .where("payment_intent_id", "=", intentId)
      .orderBy("position")
      .execute();
    const attempts =
      events.length === 0
        ? []
        : await q
            .selectFrom("callback_attempts")
            .selectAll()
            .where(
              "event_id",
              "in",
              events.map((e) => e.id),
            )
            .orderBy("id")
            .execute();
    return events.map((e) => ({
      event_id: e.id,
      status: e.status,
      event: (e.event ?? null) as CallbackEventView["event"],
      callback_url: e.url,
      state: e.state,
      created_at: unix(e.created_at),
      next_attempt_at: e.state === "pending" ? unix(e.next_attempt_at) : null,
      delivered_at: e.delivered_at ? unix(e.delivered_at) : null,
      failed_at: e.failed_at ? unix(e.failed_at) : null,
      last_error: e.last_error,
      payload: JSON.parse(e.body) as CallbackPayload,
      attempts: attempts
        .filter((a) => a.event_id === e.id)
        .map((a) => ({
          attempted_at: unix(a.attempted_at),
          http_status: a.http_status,
          duration_ms: a.duration_ms,
          outcome: a.outcome,
          error: a.error,
          response_excerpt: a.response_excerpt,
        })),
    }));
  }

  async function list(caller: Caller, intentId: string): Promise<CallbackEventView[]> {
    await intents.get(caller, intentId);
    // One snapshot: an attempt recorded between two reads would show beside its event's
    // previous state (a next_attempt_at that has already passed).
    return db
      .transaction()
      .setIsolationLevel("repeatable read")
      .execute((trx) => readEvents(trx, intentId));
  }

  return {
    list,

    /**
     * Sends the intent's latest event again, with the same event id and body, as a new run: due
     * now, backing off from the start again and retried for another 3 days.
     */
    async resend(caller: Caller, intentId: string): Promise<CallbackEventView> {
      await intents.get(caller, intentId);
      const latest = await db
        .selectFrom("callback_events")
        .select("id")
        .where("payment_intent_id", "=", intentId)
        .orderBy("position", "desc")
        .limit(1)
        .executeTakeFirst();
      if (!latest) {
        throw new DomainError({
          status: 409,
          code: ErrorCode.noCallbackToResend,
          message: `payment intent ${intentId} has no callback event yet (no callback_url, or its status has not changed)`,
        });
      }
      // The answer is read in the transaction that schedules the run: the row stays locked
      // until then, so a dispatcher cannot deliver it first and the answer says "pending".
      const views = await db.transaction().execute(async (trx) => {
        await trx
          .updateTable("callback_events")
          .set({
            state: "pending",
            next_attempt_at: now(),
            run_started_at: now(),
            run_attempts: 0,
            delivered_at: null,
            failed_at: null,
          })
          .where("id", "=", latest.id)
          .execute();
        // Wakes a dispatcher in whichever process runs one (an api process runs none).
        await notify(trx, CALLBACK_TOPIC);
        return readEvents(trx, intentId);
      });
      return views.find((v) => v.event_id === latest.id) as CallbackEventView;
    },
  };
}

export type CallbackService = ReturnType<typeof createCallbackService>;
