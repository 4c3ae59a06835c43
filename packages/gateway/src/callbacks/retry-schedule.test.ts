import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nextAttemptAt, nominalRetryDelayMs, RETRY_WINDOW_MS } from "./retry-schedule.ts";

const start = new Date("2026-11-21T00:00:00Z");

describe("retry schedule", () => {
  it("doubles from 30 s up to 6 h", () => {
    expect([1, 2, 3, 4, 10, 11, 12, 40].map((n) => nominalRetryDelayMs(n) / 1000)).toEqual([
      30, 60, 120, 240, 15_360, 21_600, 21_600, 21_600,
    ]);
  });

  it("keeps every wait within ±20 % of the nominal one and inside the 3-day window", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: RETRY_WINDOW_MS - 1 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (failed, elapsed, r) => {
          const now = new Date(start.getTime() + elapsed);
          const at = nextAttemptAt({
            runStartedAt: start,
            now,
            failedAttempts: failed,
            random: () => r,
          });
          expect(at).not.toBeNull();
          const wait = (at as Date).getTime() - now.getTime();
          const nominal = nominalRetryDelayMs(failed);
          const end = start.getTime() + RETRY_WINDOW_MS;
          expect(wait).toBeLessThanOrEqual(Math.ceil(nominal * 1.2));
          expect((at as Date).getTime()).toBeLessThanOrEqual(end);
          if (now.getTime() + nominal * 1.2 < end)
            expect(wait).toBeGreaterThanOrEqual(Math.floor(nominal * 0.8));
        },
      ),
    );
  });

  it("gives up once the window is over, and honours a longer Retry-After", () => {
    const over = new Date(start.getTime() + RETRY_WINDOW_MS);
    expect(
      nextAttemptAt({ runStartedAt: start, now: over, failedAttempts: 3, random: () => 0.5 }),
    ).toBeNull();
    const at = nextAttemptAt({
      runStartedAt: start,
      now: start,
      failedAttempts: 1,
      random: () => 0.5,
      retryAfterMs: 3_600_000,
    });
    expect(at?.getTime()).toBe(start.getTime() + 3_600_000);
  });

  it("a receiver down for the whole window gets about 22 attempts", () => {
    let now = start;
    let attempts = 1;
    for (;;) {
      const at = nextAttemptAt({
        runStartedAt: start,
        now,
        failedAttempts: attempts,
        random: () => 0.5,
      });
      if (at === null) break;
      now = at;
      attempts++;
    }
    expect(attempts).toBe(22);
    expect(now.getTime()).toBe(start.getTime() + RETRY_WINDOW_MS);
  });
});
