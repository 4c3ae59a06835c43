import { sql, type Transaction } from "kysely";
import { notifyCall } from "../platform/database/notifications.ts";
import type { Database } from "../platform/database/schema.ts";

/**
 * Sent (at commit) whenever work is queued for the treasury: the treasury loops of every process
 * sleep until their queue's next job is due and are woken by it.
 */
export const TREASURY_TOPIC = "treasury";

/**
 * Queues an intent for the treasury worker (refunds, collection) in the caller's transaction, so
 * a status change or a late payment and the work it causes commit together. Re-queuing an intent
 * that is being worked on moves enqueued_at, so the worker looks at it again. The same statement
 * notifies TREASURY_TOPIC, delivered at commit (and dropped on rollback), so a sleeping treasury
 * on any process looks at once and the writer pays no round trip for it.
 */
export async function enqueueTreasuryWork(
  trx: Transaction<Database>,
  paymentIntentId: string,
  at: Date,
): Promise<void> {
  await sql`with queued as (
      insert into treasury_work (payment_intent_id, next_attempt_at, enqueued_at)
      values (${paymentIntentId}, ${at}, ${at})
      on conflict (payment_intent_id) do update set
        enqueued_at = excluded.enqueued_at,
        next_attempt_at = least(treasury_work.next_attempt_at, excluded.next_attempt_at)
      returning 1)
    select ${notifyCall(TREASURY_TOPIC)} from queued`.execute(trx);
}
