import { setTimeout as wait } from "node:timers/promises";
import type { Logger } from "pino";

/**
 * What one pass reports: `"more"` when work is left that can run at once (a full batch), so the
 * next pass starts without the pause; `{ idleMs }` when the pass knows when work is next due (a
 * nudge still ends the pause early); anything else waits `intervalMs` (or a nudge).
 */
export type WorkerPassResult = "more" | "idle" | undefined | { idleMs: number };

export interface CreateWorkerParameters {
  /** Names the worker in its logs. */
  name: string;
  log: Logger;
  /** One pass of the work. It is handed the stop signal; a pass in flight at stop() is awaited. */
  run: (signal: AbortSignal) => Promise<WorkerPassResult>;
  /** The pause between passes that found nothing more to do. */
  intervalMs: number;
  /** After a failed pass: the first pause, doubled per consecutive failure up to maxMs. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** How long stop() waits for a pass in flight before giving up on it (default 60 s). */
  drainTimeoutMs?: number;
  /** Jitter source, injectable so tests can pin the backoff; defaults to Math.random. */
  random?: () => number;
}

export interface Worker {
  start(): void;
  /** Ends the pause now: work was written that this process should pick up at once. */
  nudge(): void;
  /** Stops after the pass in flight (bounded by drainTimeoutMs). Safe to call twice. */
  stop(): Promise<void>;
  /** Consecutive failed passes (0 after a pass that succeeded): for health and metrics. */
  readonly failures: number;
}

/**
 * The one background loop of the gateway: run a pass, pause (interval, or a backoff with jitter
 * after a failure), repeat until stopped. Every background task (chain watcher, deadline
 * settler, treasury work, callback dispatch, transaction manager) is a `run` function given to
 * it, so stopping, backing off and logging failures behave the same everywhere.
 */
export function createWorker(parameters: CreateWorkerParameters): Worker {
  const { name, log, run, intervalMs } = parameters;
  const initialMs = parameters.backoff?.initialMs ?? 1000;
  const maxMs = parameters.backoff?.maxMs ?? 30_000;
  const random = parameters.random ?? Math.random;
  const abort = new AbortController();
  let pause: AbortController | undefined;
  let nudged = false;
  let failures = 0;
  let loop: Promise<void> | undefined;

  async function sleep(ms: number): Promise<void> {
    if (nudged || abort.signal.aborted) {
      nudged = false;
      return;
    }
    pause = new AbortController();
    const signal = AbortSignal.any([abort.signal, pause.signal]);
    await wait(ms, undefined, { signal }).catch(() => {});
    pause = undefined;
    nudged = false;
  }

  async function main(): Promise<void> {
    while (!abort.signal.aborted) {
      let next = intervalMs;
      try {
        const result = await run(abort.signal);
        failures = 0;
        if (result === "more") continue;
        if (typeof result === "object") next = result.idleMs;
      } catch (err) {
        if (abort.signal.aborted) return;
        failures += 1;
        // Full jitter on the upper half: processes that failed together do not retry together.
        const ceiling = Math.min(maxMs, initialMs * 2 ** (failures - 1));
        next = Math.round(ceiling / 2 + (ceiling / 2) * random());
        log.error({ err, worker: name, failures, retry_in_ms: next }, `${name} failed; will retry`);
      }
      await sleep(next);
    }
  }

  return {
    get failures() {
      return failures;
    },
    start() {
      loop ??= main();
    },
    nudge() {
      nudged = true;
      pause?.abort();
    },
    async stop() {
      abort.abort();
      if (!loop) return;
      const timeout = parameters.drainTimeoutMs ?? 60_000;
      const drained = await Promise.race([
        loop.then(() => true),
        wait(timeout, false, { ref: false }),
      ]);
      if (!drained) log.warn({ worker: name, timeout_ms: timeout }, `${name} did not stop in time`);
    },
  };
}
