import type { Selectable, Transaction } from "kysely";
import { notify } from "../platform/database/notifications.ts";
import type { Database, PaymentIntentsTable } from "../platform/database/schema.ts";
import { newCallbackEventId } from "../platform/ids.ts";
import { type CallbackExtension, callbackBody } from "./payload.ts";

/** The notification sent when a callback event becomes due; dispatchers wake on it. */
export const CALLBACK_TOPIC = "callbacks";

/**
 * Writes the callback event for an intent's new status in the caller's transaction (the one
 * that changes the status), so a status change and its callback commit together or not at all.
 * An intent without a callback_url has nothing to send. The notification, sent at commit, wakes
 * the dispatchers of every process on the database.
 */
export async function enqueueStatusCallback(
  trx: Transaction<Database>,
  intent: Selectable<PaymentIntentsTable>,
  at: Date,
): Promise<string | undefined> {
  if (!intent.callback_url) return undefined;
  const id = newCallbackEventId();
  await trx
    .insertInto("callback_events")
    .values({
      id,
      payment_intent_id: intent.id,
      org_id: intent.org_id,
      status: intent.status,
      url: intent.callback_url,
      body: callbackBody(intent, { id, createdAt: at }),
      next_attempt_at: at,
      run_started_at: at,
      created_at: at,
    })
    .execute();
  await notify(trx, CALLBACK_TOPIC);
  return id;
}

/**
 * Writes a callback for an event other than a status change (a refund sent, a late payment...)
 * in the caller's transaction, like a status callback: the intent's fields as they stand (its
 * status unchanged) plus `event` and the event's details. Same outbox, so it is signed the same
 * way, retried the same way and delivered after the intent's earlier events.
 */
export async function enqueueEventCallback(
  trx: Transaction<Database>,
  intent: Selectable<PaymentIntentsTable>,
  at: Date,
  extension: CallbackExtension,
): Promise<string | undefined> {
  if (!intent.callback_url) return undefined;
  const id = newCallbackEventId();
  await trx
    .insertInto("callback_events")
    .values({
      id,
      payment_intent_id: intent.id,
      org_id: intent.org_id,
      status: intent.status,
      event: extension.event,
      url: intent.callback_url,
      body: callbackBody(intent, { id, createdAt: at }, extension),
      next_attempt_at: at,
      run_started_at: at,
      created_at: at,
    })
    .execute();
  await notify(trx, CALLBACK_TOPIC);
  return id;
}
