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
  /** How often the outbox is polled when idle (other processes may have written events). */
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

/**
 * Delivers the callback outbox. Several processes can run it on one database: an event is
 * claimed with SKIP LOCKED under a lease, and an event waits while an earlier event of the same
 * intent is still pending, so one intent's callbacks arrive in the order they happened. All
 * scheduling state is in the database: a restart resumes every retry where it was.
 */
export function createCallbackDispatcher(options: CallbackDispatcherOptions) {
  const { db, log, guard, secrets } = options;
  const now = options.now ?? (() => new Date());
  const random = options.random ?? Math.random;
  const concurrency = options.concurrency ?? 16;
  const leaseMs = options.leaseMs ?? 60_000;
  const delivery = createCallbackDelivery({
    guard,
    timeoutMs: options.timeoutMs ?? 10_000,
    maxResponseBytes: options.maxResponseBytes ?? 4096,
    now,
  });

  async function claim(limit: number): Promise<Selectable<CallbackEventsTable>[]> {
    const at = now();
    const lease = new Date(at.getTime() + leaseMs);
    const { rows } = await sql<Selectable<CallbackEventsTable>>`
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

  async function record(
    event: Selectable<CallbackEventsTable>,
    attemptedAt: Date,
    result: DeliveryResult,
  ): Promise<void> {
    const failedAttempts = event.run_attempts + 1;
    let update: Partial<{
      state: "pending" | "delivered" | "failed";
      next_attempt_at: Date;
      delivered_at: Date;
      failed_at: Date;
      last_error: string | null;
    }>;
    let outcome = result.outcome;
    if (result.outcome === "delivered") {
      update = { state: "delivered", delivered_at: now(), last_error: null };
    } else if (result.outcome === "failed") {
      update = { state: "failed", failed_at: now(), last_error: result.error };
    } else {
      const next = nextAttemptAt({
        runStartedAt: event.run_started_at,
        now: now(),
        failedAttempts,
        random,
        retryAfterMs: result.retryAfterMs,
      });
      if (next === null) {
        outcome = "failed";
        update = {
          state: "failed",
          failed_at: now(),
          last_error: `gave up after ${failedAttempts} attempts over 3 days; last: ${result.error}`,
        };
      } else {
        update = { next_attempt_at: next, last_error: result.error };
      }
    }
    // One statement (the attempt row in a CTE), so it is atomic without a transaction's round trips.
    await db
      .with("attempt", (q) =>
        q.insertInto("callback_attempts").values({
          event_id: event.id,
          attempted_at: attemptedAt,
          duration_ms: result.durationMs,
          http_status: result.httpStatus,
          outcome,
          error: result.error,
          response_excerpt: result.excerpt,
        }),
      )
      .updateTable("callback_events")
      .set({ ...update, run_attempts: failedAttempts, locked_until: null })
      .where("id", "=", event.id)
      .execute();
    options.onAttempt?.(outcome);
    const fields = {
      event_id: event.id,
      payment_intent_id: event.payment_intent_id,
      status: event.status,
      http_status: result.httpStatus,
      attempt: failedAttempts,
    };
    if (outcome === "delivered") log.debug(fields, "callback delivered");
    else if (outcome === "failed")
      log.warn({ ...fields, reason: update.last_error }, "callback failed for good");
    else
      log.info(
        { ...fields, error: result.error, next_attempt_at: update.next_attempt_at },
        "callback not delivered; will retry",
      );
  }

  async function deliver(
    event: Selectable<CallbackEventsTable>,
    signing: string[],
    signal: AbortSignal,
  ) {
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
    if (signal.aborted) {
      // Stopping mid-request is not the receiver's failure: hand the event back untouched.
      await db
        .updateTable("callback_events")
        .set({ locked_until: null })
        .where("id", "=", event.id)
        .execute();
      return;
    }
    await record(event, attemptedAt, result);
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

  async function deliverOne(event: Selectable<CallbackEventsTable>, signal: AbortSignal) {
    try {
      await deliver(event, await signingSecrets(event.org_id), signal);
    } catch (err) {
      // The database went away mid-way: the lease runs out and the event is tried again.
      log.error({ err, event_id: event.id }, "recording a callback attempt failed");
    }
  }

  // A pool, not batches: free slots take the next due events without waiting for the rest of
  // their batch, so a receiver that takes its full timeout to answer holds one slot, not
  // everyone's deliveries. Each finished delivery nudges the worker to refill.
  const inFlight = new Set<Promise<void>>();
  // Refill when half the slots are free: one claim query per several deliveries, not per one.
  const refillAt = Math.ceil(concurrency / 2);
  let listenersRaised = false;

  const worker = createWorker({
    name: "callback dispatcher",
    log,
    // Other processes may have written events: poll for them when nothing nudges.
    intervalMs: options.pollIntervalMs ?? 500,
    async run(signal) {
      if (!listenersRaised) {
        // Every delivery in flight listens on the one stop signal.
        setMaxListeners(concurrency + 10, signal);
        listenersRaised = true;
      }
      const free = concurrency - inFlight.size;
      if (free < refillAt) return "idle";
      const events = await claim(free);
      for (const event of events) {
        const p: Promise<void> = deliverOne(event, signal).finally(() => {
          inFlight.delete(p);
          worker.nudge();
        });
        inFlight.add(p);
      }
      // A full claim means more may be due right away.
      return events.length === free ? "more" : "idle";
    },
  });

  return {
    /** Delivers now rather than at the next poll (after this process wrote an event). */
    nudge() {
      worker.nudge();
    },
    start() {
      worker.start();
    },
    /**
     * Stops claiming and drains: deliveries in flight are cut short and their events handed
     * back for the next process. A stopped dispatcher does not start again.
     */
    async stop() {
      await worker.stop();
      await Promise.allSettled([...inFlight]);
      await delivery.close();
    },
  };
}

export type CallbackDispatcher = ReturnType<typeof createCallbackDispatcher>;
