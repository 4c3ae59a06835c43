import { type InsertQueryBuilder, type RawBuilder, sql, type Transaction } from "kysely";
import type { Database } from "../../platform/database/schema.ts";
import type { PaymentStatus } from "./decide.ts";

export interface StatusHistoryEntry {
  paymentIntentId: string;
  /** null for the row that records the intent's creation. */
  from: PaymentStatus | null;
  to: PaymentStatus;
  /** Who or what caused it: a person reads this when a payment is disputed. */
  cause: string;
  at: Date;
}

/**
 * Appends one row to an intent's status history in the caller's transaction. Kept apart from
 * transition() because creating an intent records its first status too, and the intent service
 * cannot import the callback outbox that transition() needs without an import cycle.
 */
export async function appendStatusHistory(
  trx: Transaction<Database>,
  entry: StatusHistoryEntry,
): Promise<void> {
  await trx
    .insertInto("payment_intent_status_history")
    .values({
      payment_intent_id: entry.paymentIntentId,
      from_status: entry.from,
      to_status: entry.to,
      cause: entry.cause,
      created_at: entry.at,
    })
    .execute();
}

/**
 * An intent's insert (`intentInsert`, into payment_intents, returning at least its id, status
 * and created_at) with the history row of its first status, as one statement: both or neither,
 * without a transaction's BEGIN and COMMIT round trips. The statement returns what `intentInsert`
 * returns. The history row's foreign key is checked at the end of the statement, when the intent
 * row exists.
 */
export function intentWithFirstStatus<O extends { id: string; status: string; created_at: Date }>(
  intentInsert: InsertQueryBuilder<Database, "payment_intents", O>,
  cause: string,
): RawBuilder<O> {
  return sql<O>`
    with intent as (${intentInsert}),
    history as (
      insert into payment_intent_status_history
        (payment_intent_id, from_status, to_status, cause, created_at)
      select id, null, status, ${cause}, created_at from intent
    )
    select * from intent`;
}
