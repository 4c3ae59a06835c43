import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Address } from "viem";
import type { TxManager } from "../chain/tx-manager/tx-manager.ts";
import type { Database } from "../platform/database/schema.ts";
import { createWorker } from "../platform/worker.ts";
import { createCollections } from "./collections.ts";
import type { DepositAccounts } from "./deposit-accounts.ts";
import { createDepositSender, type TreasuryStep } from "./deposit-sender.ts";
import { createMerchantRefundSender } from "./merchant-refund-sender.ts";
import { createRefunds } from "./refunds.ts";
import { createTreasuryWorkQueue } from "./work-queue.ts";

export interface TreasuryServiceOptions {
  db: Kysely<Database>;
  txManager: Pick<TxManager, "get">;
  depositAccounts: DepositAccounts;
  /** Where the operator's fee goes (FEE_ADDRESS, or the seed's fee wallet). */
  feeAddress: () => Address;
  /** A collection waits this long after the success (and always until the deadline). */
  collectionDelaySeconds: number;
  /** The precision amounts are quoted in: aggregated_amount is rounded down to it. */
  quoteDecimals: number;
  log: Logger;
  intervalMs?: number;
  /** Intents worked on per pass. */
  batchSize?: number;
  now?: () => Date;
  /** Called after a committed status change or callback event (the dispatcher delivers at once). */
  onStatusChange?: () => void;
}

/**
 * Moves the money the payment lifecycle decided about: refunds of insufficient and late payments
 * to their senders, and collection of successful payments into the organisation's treasury (with
 * the operator's fee). Durable and restart-safe: the work queue (treasury_work) is written with
 * the status change that causes it, claimed with a lease (SKIP LOCKED, so several processes share
 * it), and every transfer carries an idempotency key derived from its decision, so a retry or a
 * restart finds the transaction already made instead of making another.
 */
export function createTreasuryService(options: TreasuryServiceOptions) {
  const { db, log } = options;
  const now = options.now ?? (() => new Date());
  const intervalMs = options.intervalMs ?? 2000;
  const batchSize = options.batchSize ?? 20;

  const sender = createDepositSender({
    txManager: options.txManager,
    depositAccounts: options.depositAccounts,
    now,
    intervalMs,
  });
  const refunds = createRefunds({ db, sender, now, log, onStatusChange: options.onStatusChange });
  const merchantRefunds = createMerchantRefundSender({
    db,
    sender,
    now,
    log,
    onEvent: options.onStatusChange,
  });
  const collections = createCollections({
    db,
    sender,
    now,
    log,
    onEvent: options.onStatusChange,
    feeAddress: options.feeAddress,
    collectionDelaySeconds: options.collectionDelaySeconds,
    quoteDecimals: options.quoteDecimals,
  });
  const queue = createTreasuryWorkQueue({ db, now, log, batchSize, intervalMs });

  /** Everything the treasury owes on one intent, one step at a time: refunds first. */
  async function work(intentId: string): Promise<TreasuryStep> {
    const intent = await db
      .selectFrom("payment_intents")
      .selectAll()
      .where("id", "=", intentId)
      .executeTakeFirst();
    if (!intent) return { kind: "done" };
    await refunds.queueDue(intent);
    const step = (await refunds.runOpen(intent)) ?? (await merchantRefunds.runOpen(intent));
    if (step) return step;
    if (intent.status === "success") return collections.collect(intent);
    return { kind: "done" };
  }

  async function tick(): Promise<number> {
    const jobs = await queue.claim();
    await queue.hold(jobs, async (finished) => {
      for (const job of jobs) {
        await queue.runOne(job, work);
        finished(job);
      }
    });
    return jobs.length;
  }

  let discovered = false;
  const worker = createWorker({
    name: "treasury",
    log,
    intervalMs,
    backoff: { initialMs: intervalMs },
    run: async () => {
      if (!discovered) {
        await queue.discover();
        discovered = true;
      }
      // A full batch means more is waiting: go on at once.
      return (await tick()) === batchSize ? "more" : "idle";
    },
  });

  return {
    tick,
    discover: queue.discover,
    /** Runs discover() once, then tick() every intervalMs (at once after a full batch) until stop(). */
    start: () => worker.start(),
    /** Work was queued that this process should pick up now. */
    nudge: () => worker.nudge(),
    stop: () => worker.stop(),
  };
}

export type TreasuryService = ReturnType<typeof createTreasuryService>;
