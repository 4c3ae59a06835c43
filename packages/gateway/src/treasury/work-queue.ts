import { type Kysely, sql } from "kysely";
import type { Logger } from "pino";
import type { Database } from "../platform/database/schema.ts";
import { DepositTransferError } from "./deposit-accounts.ts";
import type { TreasuryStep } from "./deposit-sender.ts";

export interface TreasuryJob {
  id: string;
  /** The lease's end as claimed: a renewal only extends a lease still the one this process wrote. */
  lockedUntil: Date;
  enqueuedAt: Date;
  lastError: string | null;
}

/**
 * How long a claimed job stays claimed without a renewal: a process killed with -9 holds its
 * jobs this long at most. The claiming process renews its jobs every third of it while it works.
 */
const DEFAULT_LEASE_MS = 15_000;
const MAX_BACKOFF_MS = 5 * 60_000;

/**
 * The treasury's durable queue (treasury_work, one row per intent with something left to do):
 * jobs are claimed under a short lease with SKIP LOCKED and renewed while the pass works on them,
 * so several processes share the queue and a crashed one's jobs come back within the lease; a
 * failure backs off exponentially.
 */
export function createTreasuryWorkQueue(options: {
  db: Kysely<Database>;
  now: () => Date;
  log: Logger;
  /** Jobs claimed per pass. */
  batchSize: number;
  /** The first retry's pause after a failure, doubled per attempt up to five minutes. */
  intervalMs: number;
  /** How long a claim lasts unrenewed (default 15 s). */
  leaseMs?: number;
}) {
  const { db, now, log, batchSize, intervalMs } = options;
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;

  async function claim(): Promise<TreasuryJob[]> {
    const at = now();
    const lockedUntil = new Date(at.getTime() + leaseMs);
    const rows = await sql<{
      payment_intent_id: string;
      enqueued_at: Date;
      last_error: string | null;
    }>`update treasury_work set locked_until = ${lockedUntil}
      where payment_intent_id in (
        select payment_intent_id from treasury_work
        where next_attempt_at <= ${at} and (locked_until is null or locked_until < ${at})
        order by next_attempt_at limit ${batchSize}
        for update skip locked)
      returning payment_intent_id, enqueued_at, last_error`.execute(db);
    return rows.rows.map((r) => ({
      id: r.payment_intent_id,
      lockedUntil,
      enqueuedAt: new Date(r.enqueued_at),
      lastError: r.last_error,
    }));
  }

  /**
   * Keeps the given jobs claimed while `run` works through them: every third of the lease, the
   * jobs not yet finished (`run` calls the `finished` it is handed) get a new lease, as long as
   * the lease is still the one this process wrote.
   */
  async function hold<T>(
    jobs: TreasuryJob[],
    run: (finished: (job: TreasuryJob) => void) => Promise<T>,
  ): Promise<T> {
    const open = new Set(jobs);
    // One claim, one lease for all its jobs.
    let lease = jobs[0]?.lockedUntil;
    let renewal: Promise<void> = Promise.resolve();
    const renew = async () => {
      if (!lease || open.size === 0) return;
      const until = new Date(now().getTime() + leaseMs);
      await db
        .updateTable("treasury_work")
        .set({ locked_until: until })
        .where(
          "payment_intent_id",
          "in",
          [...open].map((job) => job.id),
        )
        .where("locked_until", "=", lease)
        .execute();
      lease = until;
    };
    const timer = setInterval(() => {
      renewal = renewal.then(renew).catch((err) => {
        log.warn({ err }, "treasury: renewing the claim on jobs failed");
      });
    }, leaseMs / 3);
    try {
      return await run((job) => open.delete(job));
    } finally {
      clearInterval(timer);
      await renewal;
    }
  }

  /** Runs one claimed job's next step and records the outcome: done, wait, or retry later. */
  async function runOne(job: TreasuryJob, work: (intentId: string) => Promise<TreasuryStep>) {
    let step: TreasuryStep;
    try {
      step = await work(job.id);
    } catch (err) {
      const reason =
        err instanceof DepositTransferError ? err.message : `${(err as Error).message ?? err}`;
      // Logged when the reason changes, not on every retry: an operator sees each new problem.
      if (reason !== job.lastError) {
        log.error(
          {
            payment_intent_id: job.id,
            reason,
            ...(err instanceof DepositTransferError ? {} : { err }),
          },
          "treasury: cannot move funds yet; will retry",
        );
      }
      await db
        .updateTable("treasury_work")
        .set((eb) => ({
          attempts: eb("attempts", "+", 1),
          last_error: reason,
          locked_until: null,
          next_attempt_at: sql<Date>`${now()}::timestamptz + least(${MAX_BACKOFF_MS}, ${intervalMs} * power(2, least(attempts, 12))) * interval '1 millisecond'`,
        }))
        .where("payment_intent_id", "=", job.id)
        .execute();
      return;
    }
    if (step.kind === "done") {
      const gone = await db
        .deleteFrom("treasury_work")
        .where("payment_intent_id", "=", job.id)
        .where("enqueued_at", "=", job.enqueuedAt)
        .executeTakeFirst();
      if (gone.numDeletedRows > 0n) return;
      // Queued again while this pass ran: look again soon.
      await db
        .updateTable("treasury_work")
        .set({ locked_until: null, next_attempt_at: now(), attempts: 0, last_error: null })
        .where("payment_intent_id", "=", job.id)
        .execute();
      return;
    }
    await db
      .updateTable("treasury_work")
      .set({ locked_until: null, next_attempt_at: step.until, attempts: 0, last_error: null })
      .where("payment_intent_id", "=", job.id)
      .execute();
  }

  /**
   * Queues every intent with something left to do. The lifecycle queues work as it decides; this
   * catches intents decided before the treasury existed, or a queue row lost some other way.
   */
  async function discover(): Promise<number> {
    const at = now();
    const result =
      await sql`insert into treasury_work (payment_intent_id, next_attempt_at, enqueued_at)
      select i.id, ${at}, ${at} from payment_intents i
      where i.status <> 'pending' and (
        exists (select 1 from transfers t
          where t.payment_intent_id = i.id and t.state = 'confirmed'
            and (i.status in ('insufficient_not_refunded', 'insufficient_refunded')
              or t.block_timestamp > i.payment_deadline)
            and not exists (select 1 from refunds r
              where r.chain_id = t.chain_id and r.tx_hash = t.tx_hash and r.log_index = t.log_index))
        or exists (select 1 from refunds r
          where r.payment_intent_id = i.id and r.state in ('pending', 'submitted'))
        or exists (select 1 from merchant_refunds m
          where m.payment_intent_id = i.id and m.status in ('pending', 'sent'))
        or (i.status = 'success' and not exists (select 1 from collections c
          where c.payment_intent_id = i.id and c.state in ('waiting_treasury', 'confirmed', 'failed')))
      )
      on conflict (payment_intent_id) do nothing`.execute(db);
    return Number(result.numAffectedRows ?? 0n);
  }

  /**
   * When a job is next claimable: the earliest next_attempt_at, or a claimed job's lease end when
   * that is later (a process killed while it held the job). Undefined when the queue is empty.
   */
  async function nextDue(): Promise<Date | undefined> {
    const row = await sql<{ due: Date | string | null }>`select min(greatest(next_attempt_at,
        coalesce(locked_until, next_attempt_at))) as due from treasury_work`.execute(db);
    const due = row.rows[0]?.due;
    return due ? new Date(due) : undefined;
  }

  return { claim, hold, runOne, discover, nextDue };
}

export type TreasuryWorkQueue = ReturnType<typeof createTreasuryWorkQueue>;
