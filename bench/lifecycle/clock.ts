import { performance } from "node:perf_hooks";
import { setTimeout as delay } from "node:timers/promises";

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across worker threads. */
export const now = () => performance.timeOrigin + performance.now();

/** Waits `ms`; rejects with the signal's reason (the run was interrupted) when it aborts. */
export async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch (err) {
    // timers/promises rejects with a generic AbortError; the reason says what stopped the run.
    throw signal.aborted ? signal.reason : err;
  }
}

/** Waits until the time `t` (see `now`). */
export const sleepUntil = (t: number, signal: AbortSignal) => sleep(Math.max(0, t - now()), signal);
