import type { Selectable, Transaction, Updateable } from "kysely";
import { enqueueStatusCallback } from "../../callbacks/outbox.ts";
import type { Database, PaymentIntentsTable } from "../../platform/database/schema.ts";
import { enqueueTreasuryWork } from "../../treasury/treasury-work.ts";
import type { PaymentStatus } from "./decide.ts";
import { appendStatusHistory } from "./status-history.ts";

/** The columns a change may carry beside the status. */
export type IntentChangeColumns = Omit<
  Updateable<PaymentIntentsTable>,
  "id" | "status" | "updated_at" | "created_at"
>;

export interface TransitionParameters {
  /** The intent as the caller read it in this transaction, under its row lock (FOR UPDATE). */
  intent: Selectable<PaymentIntentsTable>;
  /** The status it moves to: the intent's own when only other columns change. */
  to: PaymentStatus;
  set?: IntentChangeColumns;
  /** Who or what caused the change, for the history. */
  cause: string;
  at: Date;
  /**
   * Writes a history row although the status stays: for an event a person must be able to
   * trace, such as a late payment sent back.
   */
  recordUnchanged?: boolean;
}

export interface TransitionResult {
  /** The intent as it now stands (unchanged when nothing differed). */
  intent: Selectable<PaymentIntentsTable>;
  changed: boolean;
  statusChanged: boolean;
}

// The lifecycle's decision about the money: when one of these moves on a decided intent, the
// treasury has something to refund or collect.
const MONEY_COLUMNS = [
  "received_amount",
  "excess_amount",
  "late_amount",
  "payment_tx_hash",
  "payment_tx_timestamp",
  "payer_address",
] as const satisfies readonly (keyof IntentChangeColumns)[];

/** Reads an intent under its row lock (FOR UPDATE), as `transition()` needs it. */
export function lockIntent(
  trx: Transaction<Database>,
  id: string,
): Promise<Selectable<PaymentIntentsTable> | undefined> {
  return trx
    .selectFrom("payment_intents")
    .selectAll()
    .where("id", "=", id)
    .forUpdate()
    .executeTakeFirst();
}

/**
 * The only writer of `payment_intents.status`. In the caller's transaction, with the intent's row
 * already locked by the caller, it writes the new status and the columns that change with it,
 * the history row, the status callback (a new status is news for the merchant) and the treasury
 * work the change causes, so the decision and everything that follows from it commit together
 * or not at all. A change that changes nothing writes nothing: most recomputations (a transfer
 * only seen, a sweep during the grace period) would otherwise leave a dead row version each.
 */
export async function transition(
  trx: Transaction<Database>,
  parameters: TransitionParameters,
): Promise<TransitionResult> {
  const { intent, to, cause, at } = parameters;
  const set = parameters.set ?? {};
  const statusChanged = intent.status !== to;
  const changedColumns = (Object.keys(set) as (keyof IntentChangeColumns)[]).filter(
    (column) => set[column] !== undefined && !sameValue(intent[column], set[column]),
  );
  if (!statusChanged && changedColumns.length === 0 && !parameters.recordUnchanged) {
    return { intent, changed: false, statusChanged: false };
  }
  const updated = await trx
    .updateTable("payment_intents")
    .set({ ...set, status: to, updated_at: at })
    .where("id", "=", intent.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  if (statusChanged || parameters.recordUnchanged) {
    await appendStatusHistory(trx, {
      paymentIntentId: intent.id,
      from: intent.status,
      to,
      cause,
      at,
    });
  }
  if (statusChanged) await enqueueStatusCallback(trx, updated, at);
  if (treasuryWorkDue(intent.status, to, changedColumns)) {
    await enqueueTreasuryWork(trx, intent.id, at);
  }
  return { intent: updated, changed: true, statusChanged };
}

/**
 * The treasury has work when a payment is decided (refunds, a collection) or when money moves on
 * an intent already decided (a late payment to send back). Its own bookkeeping (a refund made,
 * insufficient_refunded) queues nothing: the treasury is the one working on that intent.
 */
function treasuryWorkDue(
  from: PaymentStatus,
  to: PaymentStatus,
  changedColumns: readonly (keyof IntentChangeColumns)[],
): boolean {
  if (to === "pending") return false;
  if (from === "pending") return true;
  return changedColumns.some((c) => (MONEY_COLUMNS as readonly string[]).includes(c));
}

// Rows come back with numerics as strings and timestamps as Dates; a change is written with
// bigints, strings and Dates. Compared by value so an unchanged amount is not a change.
function sameValue(stored: unknown, next: unknown): boolean {
  const norm = (v: unknown) =>
    v instanceof Date
      ? v.getTime()
      : typeof v === "bigint" || typeof v === "number"
        ? String(v)
        : (v ?? null);
  return norm(stored) === norm(next);
}
