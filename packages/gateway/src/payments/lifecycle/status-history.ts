import {
  type InsertQueryBuilder,
  type InsertResult,
  type Kysely,
  type Selectable,
  sql,
  type Transaction,
} from "kysely";
import type { Database, PaymentIntentsTable } from "../../platform/database/schema.ts";
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
 * Inserts an intent (`intentInsert`, an insert into payment_intents) together with the history
 * row of its first status, in one statement: both or neither, without a transaction's BEGIN and
 * COMMIT round trips. Returns the inserted intent row.
 */
export async function insertWithFirstStatus(
  executor: Kysely<Database>,
  intentInsert: InsertQueryBuilder<Database, "payment_intents", InsertResult>,
  entry: { cause: string; at: Date },
): Promise<Selectable<PaymentIntentsTable>> {
  // The history row's foreign key is checked at the end of the statement, when the intent row
  // exists.
  const { rows } = await sql<Selectable<PaymentIntentsTable>>`
    with intent as (${intentInsert.returningAll()}),
    history as (
      insert into payment_intent_status_history
        (payment_intent_id, from_status, to_status, cause, created_at)
      select id, null, status, ${entry.cause}, ${entry.at} from intent
    )
    select * from intent`.execute(executor);
  const row = rows[0];
  if (!row) throw new Error("the intent insert returned no row");
  return row;
}
