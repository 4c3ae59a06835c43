import { type Kysely, sql, type Transaction } from "kysely";
import type { Database } from "../../platform/database/schema.ts";
import { decidePaymentStatus, type PaymentStatus } from "./decide.ts";
import { lockIntent, transition } from "./transition.ts";

export interface LifecycleServiceOptions {
  db: Kysely<Database>;
  /** How long after the deadline an on-time payment may still be waiting for confirmations. */
  graceSeconds: number;
  now?: () => Date;
}

/**
 * Stores the lifecycle's decisions through transition(), in the caller's transaction and under
 * the intent's row lock, so two processes (a block consumer and a deadline sweep) never decide
 * the same intent at once, and a crash leaves the decision and its consequences both or neither.
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
    const chainTimes = new Map<string, Date | undefined>();
    // Sorted, so concurrent recomputations lock rows in the same order and cannot deadlock.
    for (const id of [...new Set(intentIds)].sort()) {
      const intent = await lockIntent(trx, id);
      // A reversed payment (see reversals.ts) is frozen as it was decided, for a person to settle.
      if (!intent || intent.reversed_at !== null) continue;
      const transfers = await trx
        .selectFrom("transfers")
        .selectAll()
        .where("payment_intent_id", "=", id)
        .where("state", "!=", "orphaned")
        .execute();
      const at = now();
      let chainTime = chainTimes.get(intent.payment_chain_id);
      if (!chainTimes.has(intent.payment_chain_id)) {
        chainTime = await storedChainTime(trx, intent.payment_chain_id);
        chainTimes.set(intent.payment_chain_id, chainTime);
      }
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
        // The deadline is judged by chain time, as the sweep below selects by it: the wall clock
        // can be past the deadline while the chain's newest stored block is not (a reorg took
        // blocks back, the watcher is catching up), and a payment the chain is still to show
        // may be on time. Expiring by the wall clock then left an on-time payment on an expired
        // intent, neither refunded nor collected (found by the chaos run's reorg).
        chainTime !== undefined && chainTime < at ? chainTime : at,
        graceSeconds,
      );
      const c = decision.status === "success" ? decision.completing : undefined;
      const firstPayer = transfers.find((t) => t.state === "confirmed");
      const result = await transition(trx, {
        intent,
        to: decision.status,
        set: {
          received_amount: decision.receivedAmount > 0n ? decision.receivedAmount : null,
          excess_amount: decision.excessAmount > 0n ? decision.excessAmount : null,
          late_amount: decision.lateAmount > 0n ? decision.lateAmount : null,
          // Only a success names the completing transfer; other states keep the first payer
          // so an insufficient payment's refund knows where to go.
          payment_tx_hash: c ? c.txHash : null,
          payment_tx_timestamp: c ? c.minedAt : null,
          payer_address: c ? c.from : (firstPayer?.from_address ?? null),
        },
        cause,
        at,
      });
      if (result.statusChanged) changes.push({ id, from: intent.status, to: decision.status });
    }
    return changes;
  }

  let sweeps = 0;

  return {
    recompute,

    /**
     * Deadline sweeps completed by this service: a health figure, and what lets a test see that
     * a sweep really ran after some moment instead of hoping one did within a fixed time.
     */
    get sweeps(): number {
      return sweeps;
    },

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
        if (moved.seen < batchSize || moved.changes === 0) {
          sweeps += 1;
          return changed;
        }
      }
    },

    /**
     * The earliest deadline of a pending intent and the milliseconds until it by this service's
     * clock (zero or less: it has passed and waits for its chain or its grace period), or
     * undefined when no intent is pending. One look in the pending-deadline index.
     */
    async nextDeadline(): Promise<{ at: Date; inMs: number } | undefined> {
      const row = await db
        .selectFrom("payment_intents")
        .select((eb) => eb.fn.min("payment_deadline").as("deadline"))
        .where("status", "=", "pending")
        .executeTakeFirst();
      const deadline = row?.deadline;
      if (deadline === null || deadline === undefined) return undefined;
      const at = new Date(deadline as Date | string);
      return { at, inMs: at.getTime() - now().getTime() };
    },
  };
}

export type LifecycleService = ReturnType<typeof createLifecycleService>;

/**
 * The timestamp of the newest block the chain's watcher has stored, or undefined when no watcher
 * has followed the chain (the wall clock decides then, as in settleDue).
 */
async function storedChainTime(trx: Transaction<Database>, chainId: string) {
  const row = await trx
    .selectFrom("chain_blocks")
    .select(sql<string | null>`max(timestamp)::text`.as("t"))
    .where("chain_id", "=", chainId)
    .executeTakeFirst();
  return row?.t == null ? undefined : new Date(Number(row.t) * 1000);
}
