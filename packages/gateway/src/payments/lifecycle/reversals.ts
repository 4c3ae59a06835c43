import { sql, type Transaction } from "kysely";
import type { Database } from "../../platform/database/schema.ts";
import { lockIntent } from "./transition.ts";

/** A confirmed transfer a deep reorg took off the canonical chain. */
export interface VanishedTransfer {
  payment_intent_id: string;
  tx_hash: string;
  log_index: number;
  block_number: string | number;
  block_hash: string;
  amount: string;
}

export interface Reversal {
  paymentIntentId: string;
  chainKey: string;
  /** The intent's status, which stays: it was decided and called back. */
  status: string;
  transfers: VanishedTransfer[];
  /** The highest block still canonical; every block above it was read again. */
  commonAncestor: bigint;
  /** Unsent treasury work stopped: refunds of the vanished transfers, the collection. */
  stopped: string[];
}

export const PAYMENT_REVERSED = "payment.reversed";

/**
 * Flags each decided intent (any status but pending) whose confirmed transfers a deep reorg just
 * orphaned: `reversed_at` and a reason on the intent, a `payment.reversed` event, and the
 * treasury work not yet sent for it stopped (marked failed with the reason): a refund of a
 * transfer that no longer exists, a collection of money no longer there. A transaction already
 * handed to the tx manager is left to it. In the ingest's transaction, under the intent's lock.
 * The status and its money columns stay as decided: a reversed intent is frozen for a person.
 */
export async function recordReversals(
  trx: Transaction<Database>,
  options: {
    chainKey: string;
    vanished: readonly VanishedTransfer[];
    commonAncestor: bigint;
    at: Date;
  },
): Promise<Reversal[]> {
  const { chainKey, at } = options;
  const byIntent = new Map<string, VanishedTransfer[]>();
  for (const t of options.vanished) {
    byIntent.set(t.payment_intent_id, [...(byIntent.get(t.payment_intent_id) ?? []), t]);
  }
  const reversals: Reversal[] = [];
  // Sorted, as the lifecycle locks them, so the two cannot deadlock.
  for (const [id, transfers] of [...byIntent].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const intent = await lockIntent(trx, id);
    if (!intent || intent.status === "pending") continue;
    const reason = `${transfers.length === 1 ? "transfer" : "transfers"} ${transfers
      .map((t) => `${t.tx_hash}#${t.log_index} (block ${t.block_number})`)
      .join(
        ", ",
      )} left the canonical chain in a reorg deeper than the confirmation policy (common ancestor: block ${
      options.commonAncestor
    }) after the intent was ${intent.status}`;
    if (intent.reversed_at === null) {
      await trx
        .updateTable("payment_intents")
        .set({ reversed_at: at, reversal_reason: reason })
        .where("id", "=", id)
        .execute();
    }
    const stopped = await stopUnsentTreasuryWork(trx, chainKey, intent, transfers, reason, at);
    await trx
      .insertInto("gateway_events")
      .values({
        type: PAYMENT_REVERSED,
        chain_id: chainKey,
        payment_intent_id: id,
        data: JSON.stringify({
          status: intent.status,
          reason,
          common_ancestor: options.commonAncestor.toString(),
          transfers: transfers.map((t) => ({
            tx_hash: t.tx_hash,
            log_index: t.log_index,
            block_number: String(t.block_number),
            block_hash: t.block_hash,
            amount: String(t.amount),
          })),
          stopped,
        }),
        created_at: at,
      })
      .execute();
    reversals.push({
      paymentIntentId: id,
      chainKey,
      status: intent.status,
      transfers,
      commonAncestor: options.commonAncestor,
      stopped,
    });
  }
  return reversals;
}

/**
 * A transaction the tx manager holds under this key was sent (or is being sent), on its own or as
 * a sweep in a batch already signed (treasury/sweep-deposit-accounts.ts, which checks reversed_at
 * under the same intent locks where it signs).
 */
function handedToTxManager(keys: string[]) {
  return sql<boolean>`(exists (select 1 from chain_txs where idempotency_key in (${sql.join(keys)}))
    or exists (select 1 from sweeps s join sweep_batches b on b.id = s.batch_id
      where s.idempotency_key in (${sql.join(keys)}) and b.chain_tx_id is not null))`;
}

async function stopUnsentTreasuryWork(
  trx: Transaction<Database>,
  chainKey: string,
  intent: { id: string; status: string; payment_address: string; token_address: string },
  transfers: readonly VanishedTransfer[],
  reason: string,
  at: Date,
): Promise<string[]> {
  const error = `stopped, not sent: ${reason}`;
  const stopped: string[] = [];
  for (const t of transfers) {
    const key = `refund:${chainKey}:${t.tx_hash.toLowerCase()}:${t.log_index}`;
    const refund = await trx
      .updateTable("refunds")
      .set({ state: "failed", error, updated_at: at })
      .where("chain_id", "=", chainKey)
      .where("tx_hash", "=", t.tx_hash)
      .where("log_index", "=", t.log_index)
      .where("state", "=", "pending")
      .where("chain_tx_id", "is", null)
      .where(sql<boolean>`not ${handedToTxManager([key])}`)
      .returning("id")
      .executeTakeFirst();
    if (refund) stopped.push(`refund of ${t.tx_hash}#${t.log_index}`);
  }
  if (intent.status !== "success") return stopped;
  // No collection yet: one that is failed from the start, so the treasury never starts it.
  const inserted = await trx
    .insertInto("collections")
    .values({
      payment_intent_id: intent.id,
      chain_id: chainKey,
      token_address: intent.token_address,
      from_address: intent.payment_address,
      state: "failed",
      error,
    })
    .onConflict((oc) => oc.column("payment_intent_id").doNothing())
    .returning("id")
    .executeTakeFirst();
  const cancelled =
    inserted ??
    (await trx
      .updateTable("collections")
      .set({ state: "failed", error, updated_at: at })
      .where("payment_intent_id", "=", intent.id)
      .where((eb) =>
        eb.or([
          eb("state", "=", "waiting_treasury"),
          eb.and([
            eb("state", "=", "pending"),
            eb("chain_tx_id", "is", null),
            eb("fee_chain_tx_id", "is", null),
            sql<boolean>`not ${handedToTxManager([`collect:${intent.id}`, `collect-fee:${intent.id}`])}`,
          ]),
        ]),
      )
      .returning("id")
      .executeTakeFirst());
  if (cancelled) stopped.push("collection");
  return stopped;
}
