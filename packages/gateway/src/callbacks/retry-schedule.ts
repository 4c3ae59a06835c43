// The retry schedule of docs/callbacks.md. Pure: the dispatcher passes its clock and randomness.

/** A failed delivery is retried until this long after its run (first try or resend) began. */
export const RETRY_WINDOW_MS = 3 * 24 * 3600 * 1000;

const FIRST_RETRY_MS = 30_000;
const LONGEST_WAIT_MS = 6 * 3600 * 1000;
/** Each wait is spread over ±20 % so that receivers coming back up are not hit in lockstep. */
export const JITTER = 0.2;

/** The nominal wait after the n-th failed attempt (n >= 1): 30 s, doubling, at most 6 h. */
export function nominalRetryDelayMs(failedAttempts: number): number {
  const doubled = FIRST_RETRY_MS * 2 ** Math.min(Math.max(failedAttempts - 1, 0), 30);
  return Math.min(doubled, LONGEST_WAIT_MS);
}

/**
 * When to try again after `failedAttempts` failures, or null once the retry window is over.
 * `retryAfterMs` (from a 429's or 503's Retry-After) lengthens the wait, up to the longest wait.
 */
export function nextAttemptAt(options: {
  runStartedAt: Date;
  now: Date;
  failedAttempts: number;
  random: () => number;
  retryAfterMs?: number | undefined;
}): Date | null {
  const nominal = nominalRetryDelayMs(options.failedAttempts);
  let delay = nominal * (1 - JITTER + 2 * JITTER * options.random());
  if (options.retryAfterMs !== undefined)
    delay = Math.max(delay, Math.min(options.retryAfterMs, LONGEST_WAIT_MS));
  const at = options.now.getTime() + Math.round(delay);
  const deadline = options.runStartedAt.getTime() + RETRY_WINDOW_MS;
  if (options.now.getTime() >= deadline) return null;
  // The last attempt happens at the end of the window rather than being skipped.
  return new Date(Math.min(at, deadline));
}
