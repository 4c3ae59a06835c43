import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createWorker } from "./worker.ts";

function recordingLogger() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: "debug" }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { log, lines };
}

const HOUR = 3_600_000;

describe("createWorker", () => {
  it("runs again at once after a pass that reports more, then waits for the interval or a nudge", async () => {
    const { log } = recordingLogger();
    let passes = 0;
    const worker = createWorker({
      name: "test",
      log,
      intervalMs: HOUR,
      run: async () => {
        passes += 1;
        return passes < 3 ? "more" : "idle";
      },
    });
    worker.start();
    await expect.poll(() => passes).toBe(3);
    worker.nudge();
    await expect.poll(() => passes).toBe(4);
    await worker.stop();
    expect(passes).toBe(4);
  });

  it("a pass that reports { idleMs } pauses that long instead of the interval; a nudge still ends it", async () => {
    const { log } = recordingLogger();
    const starts: number[] = [];
    const worker = createWorker({
      name: "timed",
      log,
      intervalMs: HOUR,
      // The first pass knows work is due in 30 ms; the second, in an hour.
      run: async () => {
        starts.push(Date.now());
        return { idleMs: starts.length === 1 ? 30 : HOUR };
      },
    });
    worker.start();
    await expect.poll(() => starts.length).toBe(2);
    expect((starts[1] as number) - (starts[0] as number)).toBeGreaterThanOrEqual(29);
    worker.nudge();
    await expect.poll(() => starts.length).toBe(3);
    await worker.stop();
  });

  it("backs off with doubling, jittered pauses after failures, and resets after a success", async () => {
    const { log, lines } = recordingLogger();
    let passes = 0;
    const worker = createWorker({
      name: "flaky",
      log,
      intervalMs: HOUR,
      backoff: { initialMs: 4, maxMs: 16 },
      random: () => 1,
      run: async () => {
        passes += 1;
        if (passes <= 4) throw new Error(`boom ${passes}`);
        return "idle";
      },
    });
    worker.start();
    await expect.poll(() => passes).toBe(5);
    expect(worker.failures).toBe(0);
    const retries = lines.filter((l) => l.worker === "flaky").map((l) => l.retry_in_ms);
    expect(retries).toEqual([4, 8, 16, 16]);
    expect(lines[0]?.msg).toBe("flaky failed; will retry");
    await worker.stop();
  });

  it("stop() ends the pause at once and waits for the pass in flight", async () => {
    const { log } = recordingLogger();
    let finished = false;
    let started = false;
    const worker = createWorker({
      name: "slow",
      log,
      intervalMs: HOUR,
      run: async (signal): Promise<undefined> => {
        started = true;
        await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve()));
        finished = true;
      },
    });
    worker.start();
    await expect.poll(() => started).toBe(true);
    await worker.stop();
    expect(finished).toBe(true);
    await worker.stop();
  });
});
