import { setMaxListeners } from "node:events";
import { type Kysely, type Selectable, sql } from "kysely";
import type { Logger } from "pino";
import type { WebhookSecrets } from "../organizations/webhook-secrets.ts";
import type { CallbackEventsTable, Database } from "../platform/database/schema.ts";
import { createWorker } from "../platform/worker.ts";
import { createCallbackDelivery, type DeliveryResult } from "./callback-delivery.ts";
import { nextAttemptAt } from "./retry-schedule.ts";
import { signatureHeader } from "./signature.ts";
import type { CallbackUrlGuard } from "./url-guard.ts";

export interface CallbackDispatcherOptions {
  db: Kysely<Database>;
  log: Logger;
  guard: CallbackUrlGuard;
  secrets: WebhookSecrets;
  /** The clock that schedules retries; tests move a fake one forward by days. */
  now?: () => Date;
  random?: () => number;
  /**
   * The safety poll: the longest the dispatcher sleeps when nothing is due. New events wake it
   * through nudge() (the composition root nudges it on the `callbacks` notification) and a retry
   * wakes it at its due time, so this only bounds how late something missed is found.
   */
  pollIntervalMs?: number;
  /** Deliveries in flight at once, per process. */
  concurrency?: number;
  timeoutMs?: number;
  maxResponseBytes?: number;
  /** How long a claimed event stays this process's; a crashed process's events return after it. */
  leaseMs?: number;
  userAgent?: string;
  /** Told the result of every delivery attempt (for /metrics). */
  onAttempt?: ((outcome: "delivered" | "retry" | "failed") => void) | undefined;
}

type Event = Selectable<CallbackEventsTable>;

interface Finished {
  event: Event;
  attemptedAt: Date;
  result: DeliveryResult;
}

/** What an attempt changes on its event; absent fields keep their value. */
interface Outcome {
  outcome: "delivered" | "retry" | "failed";
  runAttempts: number;
  state?: "delivered" | "failed";
  next_attempt_at?: Date;
  delivered_at?: Date;
  failed_at?: Date;
  last_error?: string;
}

/**
 * Delivers the callback outbox. Several processes can run it on one database: an event is
 * claimed with SKIP LOCKED under a lease, and an event waits while an earlier event of the same
 * intent is still pending, so one intent's callbacks arrive in the order they happened. All
 * scheduling state is in the database: a restart resumes every retry where it was.
 *
 * The database work is batched, because per delivery it cost more than the POST: claims take up
 * to a pool's worth of events ahead of the free slots, and the attempts that finished while one
 * write was in flight are recorded together in the next statement. When nothing is due it sleeps
 * until the earliest retry or lease expiry (at most `pollIntervalMs`) or until nudged.
 */
export function createCallbackDispatcher(options: CallbackDispatcherOptions) {
  const { db, log, guard, secrets } = options;
  const now = options.now ?? (() => new Date());
  const random = options.random ?? Math.random;
  const concurrency = options.concurrency ?? 16;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const pollIntervalMs = options.pollIntervalMs ?? 30_000;
  // An event claimed ahead waits behind two pools of deliveries that may each take the full timeout.
  const leaseMs = options.leaseMs ?? Math.max(60_000, 4 * timeoutMs);
  const delivery = createCallbackDelivery({
    guard,
    timeoutMs,
    maxResponseBytes: options.maxResponseBytes ?? 4096,
    now,
  });

  // Events this process holds: claimed and waiting for a slot or on the wire (up to three pools'
  // worth, so a claim's round trip does not leave slots idle), and delivered but not yet recorded
  // (as many again at most: a slow database holds back claims, not memory).
  const queue: Event[] = [];
  const inFlight = new Set<Promise<void>>();
  let unrecorded: Finished[] = [];
  let recording: Promise<void> | undefined;
  let recordingCount = 0;
  const handBack: string[] = [];
  const capacity = 3 * concurrency;
  // Claim when a whole pool fits (a pool is still queued then): one claim query per pool of
  // deliveries. On PGlite, without the statistics autovacuum keeps, a claim costs the same
  // whatever it takes.
  const refillAt = concurrency;
  const room = () =>
    unrecorded.length + recordingCount >= capacity ? 0 : capacity - queue.length - inFlight.size;

  const stopping = new AbortController();
  // Every delivery in flight listens on the one stop signal.
  setMaxListeners(concurrency + 10, stopping.signal);

  async function claim(limit: number): Promise<Event[]> {
    const at = now();
    const lease = new Date(at.getTime() + leaseMs);
    const { rows } = await sql<Event>`
      update callback_events set locked_until = ${lease}
      where id in (
        select e.id from callback_events e
        where e.state = 'pending' and e.next_attempt_at <= ${at}
          and (e.locked_until is null or e.locked_until <= ${at})
          and not exists (
            select 1 from callback_events p
            where p.payment_intent_id = e.payment_intent_id
              and p.position < e.position and p.state = 'pending')
        order by e.next_attempt_at, e.position
        limit ${limit}
        for update skip locked)
      returning *`.execute(db);
    return rows;
  }

  /**
   * When something pending can next be claimed: the earliest retry, or the end of another
   * process's lease on a due event (that process may have died). Both are ranges of the due
   * index: the retries are read in order up to the first, and the due events are few once a claim
   * found none free (in flight elsewhere, or waiting behind an earlier event of their intent,
   * which the process that records the earlier one claims).
   */
  async function nextWake(): Promise<Date | null> {
    const at = now();
    const { rows } = await sql<{ at: Date | string | null }>`
      select least(
        (select e.next_attempt_at from callback_events e
          where e.state = 'pending' and e.next_attempt_at > ${at}
          order by e.next_attempt_at limit 1),
        (select min(e.locked_until) from callback_events e
          where e.state = 'pending' and e.next_attempt_at <= ${at} and e.locked_until > ${at})
      ) as at`.execute(db);
    const wake = rows[0]?.at;
    return wake ? new Date(wake) : null;
  }

  let wakeTimer: NodeJS.Timeout | undefined;
  function wakeAt(at: Date | null): void {
    clearTimeout(wakeTimer);
    wakeTimer = undefined;
    if (at === null) return;
    // A moment late rather than early: a timer may fire a little before its time.
    const delay = Math.max(at.getTime() - now().getTime(), 0) + 5;
    if (delay >= pollIntervalMs) return;
    wakeTimer = setTimeout(() => worker.nudge(), delay);
    wakeTimer.unref();
  }

  function outcomeOf(finished: Finished): Outcome {
    const { event, result } = finished;
    const runAttempts = event.run_attempts + 1;
    const at = now();
    if (result.outcome === "delivered") {
      return { outcome: result.outcome, runAttempts, state: "delivered", delivered_at: at };
    }
    if (result.outcome === "failed") {
      return { outcome: result.outcome, runAttempts, state: "failed", failed_at: at };
    }
    const next = nextAttemptAt({
      runStartedAt: event.run_started_at,
      now: at,
      failedAttempts: runAttempts,
      random,
      retryAfterMs: result.retryAfterMs,
    });
    if (next === null) {
      return {
        outcome: "failed",
        runAttempts,
        state: "failed",
        failed_at: at,
        last_error: `gave up after ${runAttempts} attempts over 3 days; last: ${result.error}`,
      };
    }
    return { outcome: result.outcome, runAttempts, next_attempt_at: next };
  }

  /**
   * Records a batch of attempts in one statement: each attempt row, and its event's new state.
   * A write that fails leaves the events leased; they are delivered again once the lease ends.
   */
  async function record(batch: Finished[]): Promise<void> {
    const rows = batch.map((f) => {
      const u = outcomeOf(f);
      return {
        f,
        u,
        json: {
          id: f.event.id,
          state: u.state ?? null,
          next_attempt_at: u.next_attempt_at ?? null,
          delivered_at: u.delivered_at ?? null,
          failed_at: u.failed_at ?? null,
          last_error: textOnly(u.last_error ?? f.result.error),
          run_attempts: u.runAttempts,
          attempted_at: f.attemptedAt,
          duration_ms: f.result.durationMs,
          http_status: f.result.httpStatus,
          outcome: u.outcome,
          error: textOnly(f.result.error),
          response_excerpt: textOnly(f.result.excerpt),
        },
      };
    });
    const json = JSON.stringify(rows.map((r) => r.json));
    await sql`
      with r as (
        select * from jsonb_to_recordset(${json}::jsonb) as r(
          id text, state text, next_attempt_at timestamptz, delivered_at timestamptz,
          failed_at timestamptz, last_error text, run_attempts integer, attempted_at timestamptz,
          duration_ms integer, http_status integer, outcome text, error text, response_excerpt text)
      ), attempts as (
        insert into callback_attempts
          (event_id, attempted_at, duration_ms, http_status, outcome, error, response_excerpt)
        select id, attempted_at, duration_ms, http_status, outcome, error, response_excerpt from r
      )
      update callback_events e set
        state = coalesce(r.state, e.state),
        next_attempt_at = coalesce(r.next_attempt_at, e.next_attempt_at),
        delivered_at = coalesce(r.delivered_at, e.delivered_at),
        failed_at = coalesce(r.failed_at, e.failed_at),
        last_error = r.last_error,
        run_attempts = r.run_attempts,
        locked_until = null
      from r where e.id = r.id`.execute(db);
    for (const { f, u } of rows) {
      options.onAttempt?.(u.outcome);
      const fields = {
        event_id: f.event.id,
        payment_intent_id: f.event.payment_intent_id,
        status: f.event.status,
        http_status: f.result.httpStatus,
        attempt: u.runAttempts,
      };
      if (u.outcome === "delivered") log.debug(fields, "callback delivered");
      else if (u.outcome === "failed")
        log.warn({ ...fields, reason: u.last_error ?? f.result.error }, "callback failed for good");
      else
        log.info(
          { ...fields, error: f.result.error, next_attempt_at: u.next_attempt_at },
          "callback not delivered; will retry",
        );
    }
  }

  // One write at a time, started after the I/O of this turn of the event loop: the attempts that
  // finish together, or while a write is in flight, go in one statement. On PGlite, whose queries
  // hold the event loop, answers pile up meanwhile; recording each alone cost more than the POST.
  let flushing: NodeJS.Immediate | undefined;
  function flush(): void {
    if (recording || flushing || unrecorded.length === 0) return;
    flushing = setImmediate(write);
  }

  function write(): void {
    flushing = undefined;
    if (recording || unrecorded.length === 0) return;
    const batch = unrecorded;
    unrecorded = [];
    recordingCount = batch.length;
    recording = record(batch)
      .catch((err) => {
        // The database went away mid-way: the leases run out and the events are tried again.
        log.error(
          { err, event_ids: batch.map((f) => f.event.id) },
          "recording callback attempts failed",
        );
      })
      .finally(() => {
        recording = undefined;
        recordingCount = 0;
        flush();
        // Recorded events free room and may let an intent's next event go.
        worker.nudge();
      });
  }

  // Signing secrets change only on rotation; a few seconds' cache spares a query per delivery.
  const signingCache = new Map<number, { until: number; secrets: Promise<string[]> }>();
  function signingSecrets(orgId: number): Promise<string[]> {
    const at = now().getTime();
    const cached = signingCache.get(orgId);
    if (cached && cached.until > at) return cached.secrets;
    const fresh = secrets.active(orgId);
    signingCache.set(orgId, { until: at + 5000, secrets: fresh });
    fresh.catch(() => signingCache.delete(orgId));
    return fresh;
  }

  async function deliver(event: Event): Promise<void> {
    const signal = stopping.signal;
    try {
      const signing = await signingSecrets(event.org_id);
      const attemptedAt = now();
      const result = await delivery.deliver({
        url: event.url,
        body: event.body,
        headers: {
          "content-type": "application/json",
          "user-agent": options.userAgent ?? "Stablegate-Callbacks/1",
          "x-stablegate-event-id": event.id,
          "x-stablegate-signature": signatureHeader(
            event.body,
            signing,
            Math.floor(attemptedAt.getTime() / 1000),
          ),
        },
        signal,
      });
      // Stopping mid-request is not the receiver's failure: hand the event back untouched.
      if (signal.aborted) handBack.push(event.id);
      else unrecorded.push({ event, attemptedAt, result });
    } catch (err) {
      // The secrets could not be read: the lease runs out and the event is tried again.
      log.error({ err, event_id: event.id }, "delivering a callback failed");
    }
  }

  // A pool, not batches: a free slot takes the next claimed event at once, so a receiver that
  // takes its full timeout to answer holds one slot, not everyone's deliveries.
  function fillSlots(): void {
    while (inFlight.size < concurrency && queue.length > 0 && !stopping.signal.aborted) {
      const event = queue.shift() as Event;
      const p: Promise<void> = deliver(event).finally(() => {
        inFlight.delete(p);
        fillSlots();
        flush();
        if (room() >= refillAt) worker.nudge();
      });
      inFlight.add(p);
    }
  }

  const worker = createWorker({
    name: "callback dispatcher",
    log,
    intervalMs: pollIntervalMs,
    async run() {
      if (stopping.signal.aborted) return "idle";
      const limit = room();
      if (limit < refillAt) return "idle";
      const events = await claim(limit);
      if (stopping.signal.aborted) handBack.push(...events.map((e) => e.id));
      else queue.push(...events);
      fillSlots();
      if (events.length === 0) wakeAt(await nextWake());
      // A full claim means more may be due right away.
      return events.length === limit ? "more" : "idle";
    },
  });

  return {
    /** Delivers now rather than at the next wake (an event was written). */
    nudge() {
      worker.nudge();
    },
    start() {
      worker.start();
    },
    /**
     * Stops claiming and drains: deliveries in flight are cut short and their events, with the
     * claimed ones not yet sent, handed back for the next process; finished attempts are recorded.
     * A stopped dispatcher does not start again.
     */
    async stop() {
      stopping.abort();
      clearTimeout(wakeTimer);
      await worker.stop();
      await Promise.allSettled([...inFlight]);
      clearImmediate(flushing);
      for (write(); recording; write()) await recording;
      handBack.push(...queue.splice(0).map((e) => e.id));
      if (handBack.length > 0) {
        await db
          .updateTable("callback_events")
          .set({ locked_until: null })
          .where("id", "in", handBack.splice(0))
          .execute()
          .catch((err) => log.error({ err }, "handing back claimed callbacks failed"));
      }
      await delivery.close();
    },
  };
}

export type CallbackDispatcher = ReturnType<typeof createCallbackDispatcher>;

// PostgreSQL text cannot hold NUL, and one receiver's answer must not sink the batch it is in.
function textOnly(text: string | null): string | null {
  return text?.replaceAll("\0", "\uFFFD") ?? null;
}
