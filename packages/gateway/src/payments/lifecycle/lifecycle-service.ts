import { type Kysely, sql, type Transaction } from "kysely";
import { enqueueStatusCallback } from "../../callbacks/outbox.ts";
import type { Database } from "../../platform/database/schema.ts";
import { enqueueTreasuryWork } from "../../treasury/treasury-work.ts";
import { decidePaymentStatus, type PaymentStatus } from "./decide.ts";

export interface LifecycleServiceOptions {
  db: Kysely<Database>;
  /** How long after the deadline an on-time payment may still be waiting for confirmations. */
  graceSeconds: number;
  now?: () => Date;
}

/**
 * Stores the lifecycle's decisions. Every status change writes the intent, its history row and its
 * callback event (the outbox) in the caller's transaction, under a row lock, so two processes (a block consumer and a deadline
 * sweep) never decide the same intent at once, and a crash leaves both or neither.
 */
export function createLifecycleService(options: LifecycleServiceOptions) {
  const { db, graceSeconds } = options;
  const now = options.now ?? (() => new Date());

  async function recompute(
    trx: Transaction<Database>,
    intentIds: readonly string[],
    cause: string,
  ): Promise<Array<{ id: string; from: PaymentStatus; to: PaymentStatus }>> {
    const changes: Array<{ id: string; from: PaymentStatus; to: PaymentStatus }> = [];
    // Sorted, so concurrent recomputations lock rows in the same order and cannot deadlock.
    for (const id of [...new Set(intentIds)].sort()) {
      const intent = await trx
        .selectFrom("payment_intents")
        .select([
          "id",
          "status",
          "crypto_amount",
          "payment_deadline",
          "received_amount",
          "excess_amount",
          "late_amount",
          "payment_tx_hash",
          "payer_address",
        ])
        .where("id", "=", id)
        .forUpdate()
        .executeTakeFirst();
      if (!intent) continue;
      const transfers = await trx
        .selectFrom("transfers")
        .selectAll()
        .where("payment_intent_id", "=", id)
        .where("state", "!=", "orphaned")
        .execute();
      const decision = decidePaymentStatus(
        {
          status: intent.status,
          cryptoAmount: BigInt(intent.crypto_amount),
          deadline: intent.payment_deadline,
        },
        transfers.map((t) => ({
          txHash: t.tx_hash,
          logIndex: t.log_index,
          blockNumber: BigInt(t.block_number),
          from: t.from_address,
          amount: BigInt(t.amount),
          minedAt: t.block_timestamp,
          confirmed: t.state === "confirmed",
        })),
        now(),
        graceSeconds,
      );
      const c = decision.status === "success" ? decision.completing : undefined;
      const firstPayer = transfers.find((t) => t.state === "confirmed");
      const values = {
        status: decision.status,
        received_amount: decision.receivedAmount > 0n ? decision.receivedAmount.toString() : null,
        excess_amount: decision.excessAmount > 0n ? decision.excessAmount.toString() : null,
        late_amount: decision.lateAmount > 0n ? decision.lateAmount.toString() : null,
        payment_tx_hash: c ? c.txHash : null,
        payer_address: c ? c.from : (firstPayer?.from_address ?? null),
      };
      // Most recomputations (a transfer only seen, a sweep during the grace period) change
      // nothing: skip the write rather than leave a dead row version per block.
      const unchanged = (Object.keys(values) as (keyof typeof values)[]).every(
        (k) => (intent[k] ?? null) === values[k],
      );
      if (unchanged) continue;
      const updated = await trx
        .updateTable("payment_intents")
        .set({
          status: decision.status,
          received_amount: decision.receivedAmount > 0n ? decision.receivedAmount : null,
          excess_amount: decision.excessAmount > 0n ? decision.excessAmount : null,
          late_amount: decision.lateAmount > 0n ? decision.lateAmount : null,
          // Only a success names the completing transfer; other states keep the first payer
          // so an insufficient payment's refund knows where to go.
          payment_tx_hash: c ? c.txHash : null,
          payment_tx_timestamp: c ? c.minedAt : null,
          payer_address: c ? c.from : (firstPayer?.from_address ?? null),
          updated_at: now(),
        })
        .where("id", "=", id)
        .returningAll()
        .executeTakeFirstOrThrow();
      // A decided intent whose money changed has refunds or a collection to make: queued in this
      // transaction, so the decision and the work it causes commit together.
      if (decision.status !== "pending") await enqueueTreasuryWork(trx, id, now());
      if (decision.status !== intent.status) {
        await trx
          .insertInto("payment_intent_status_history")
          .values({
            payment_intent_id: id,
            from_status: intent.status,
            to_status: decision.status,
            cause,
          })
          .execute();
        await enqueueStatusCallback(trx, updated, now());
        changes.push({ id, from: intent.status, to: decision.status });
      }
    }
    return changes;
  }

  return {
    recompute,

    /**
     * Settles pending intents whose deadline (plus nothing, or the grace period when a payment
     * is still confirming) has passed. Idempotent and safe on several processes at once
     * (SKIP LOCKED); run it on a timer. Returns the number of intents that changed.
     */
    async settleDue(batchSize = 200): Promise<number> {
      let changed = 0;
      for (;;) {
        const moved = await db.transaction().execute(async (trx) => {
          const due = await trx
            .selectFrom("payment_intents")
            .select("id")
            .where("status", "=", "pending")
            .where("payment_deadline", "<", now())
            // Chain time, not only the wall clock: an intent is settled once its chain's watcher
            // has stored a block newer than the deadline, so every on-time block has been read
            // (after downtime, or for a block mined in the deadline's own second). A chain that
            // no watcher has ever followed falls back to the wall clock.
            .where(
              sql<boolean>`(exists (select 1 from chain_blocks b where b.chain_id = payment_intents.payment_chain_id and b.timestamp > extract(epoch from payment_intents.payment_deadline))
                or not exists (select 1 from chain_blocks b where b.chain_id = payment_intents.payment_chain_id))`,
            )
            .orderBy("payment_deadline")
            .limit(batchSize)
            .forUpdate()
            .skipLocked()
            .execute();
          const changes = await recompute(
            trx,
            due.map((d) => d.id),
            "deadline",
          );
          return { seen: due.length, changes: changes.length };
        });
        changed += moved.changes;
        // A batch where nothing moved is made of intents waiting out their grace period.
        if (moved.seen < batchSize || moved.changes === 0) return changed;
      }
    },
  };
}

export type LifecycleService = ReturnType<typeof createLifecycleService>;
