import { sql, type Transaction } from "kysely";
import type { Database } from "../platform/database/schema.ts";

/**
 * Queues an intent for the treasury worker (refunds, collection) in the caller's transaction, so
 * a status change or a late payment and the work it causes commit together. Re-queuing an intent
 * that is being worked on moves enqueued_at, so the worker looks at it again.
 */
export async function enqueueTreasuryWork(
  trx: Transaction<Database>,
  paymentIntentId: string,
  at: Date,
): Promise<void> {
  await trx
    .insertInto("treasury_work")
    .values({ payment_intent_id: paymentIntentId, next_attempt_at: at, enqueued_at: at })
    .onConflict((oc) =>
      oc.column("payment_intent_id").doUpdateSet({
        enqueued_at: at,
        next_attempt_at: sql`least(treasury_work.next_attempt_at, excluded.next_attempt_at)`,
      }),
    )
    .execute();
}
