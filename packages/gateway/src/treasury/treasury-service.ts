import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Address } from "viem";
import type { TxManager } from "../chain/tx-manager/tx-manager.ts";
import type { Notifications } from "../platform/database/notifications.ts";
import type { Database } from "../platform/database/schema.ts";
import { createWorker } from "../platform/worker.ts";
import { createCollections } from "./collections.ts";
import type { DepositAccounts } from "./deposit-accounts.ts";
import { createDepositSender, type TreasuryStep } from "./deposit-sender.ts";
import { createMerchantRefundSender } from "./merchant-refund-sender.ts";
import { createRefunds } from "./refunds.ts";
import { TREASURY_TOPIC } from "./treasury-work.ts";
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
  /**
   * The longest the loop sleeps with nothing due (default TREASURY_MAX_SLEEP_MS): new work wakes
   * it (TREASURY_TOPIC), so this only bounds what a lost notification costs.
   */
  maxSleepMs?: number;
}

/** The treasury loop's safety net: it looks at its queue at least this often. */
export const TREASURY_MAX_SLEEP_MS = 60_000;

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
  const maxSleepMs = options.maxSleepMs ?? TREASURY_MAX_SLEEP_MS;

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
  let passes = 0;
  const worker = createWorker({
    name: "treasury",
    log,
    intervalMs: maxSleepMs,
    backoff: { initialMs: intervalMs },
    run: async () => {
      if (!discovered) {
        await queue.discover();
        discovered = true;
      }
      // A full batch means more is waiting: go on at once.
      if ((await tick()) === batchSize) return "more";
      // Otherwise sleep until the next job is due (a wait a step asked for, a backoff, another
      // process's lease running out): work queued meanwhile notifies TREASURY_TOPIC, which
      // nudges this loop (listen()), so nothing is read while nothing is due.
      const due = await queue.nextDue();
      passes += 1;
      const inMs = due ? due.getTime() - now().getTime() + 1 : maxSleepMs;
      return { idleMs: Math.max(0, Math.min(inMs, maxSleepMs)) };
    },
  });

  const nudge = () => worker.nudge();
  return {
    tick,
    discover: queue.discover,
    /**
     * Runs discover() once, then passes until stop(): at once after a full batch, else when the
     * next job is due, when nudged, or after maxSleepMs at the latest.
     */
    start: () => worker.start(),
    /** Work was queued that this process should pick up now. */
    nudge,
    /**
     * Wakes this loop on TREASURY_TOPIC (work queued by any process) and when the listening
     * connection was lost (a notification may have been missed). Resolves once listening.
     */
    listen: (notifications: Notifications) =>
      notifications.listen(TREASURY_TOPIC, { message: nudge, reset: nudge }),
    /** Passes that found nothing more to do and went to sleep: for tests and metrics. */
    get idlePasses() {
      return passes;
    },
    stop: () => worker.stop(),
  };
}

export type TreasuryService = ReturnType<typeof createTreasuryService>;
