import {
  applyFollowerEvent,
  type BlockFollower,
  type CreateBlockFollowerParameters,
  createBlockFollower,
  type FollowerEvent,
  type FollowerState,
} from "../chain/follower/index.ts";
import type { ManualChain } from "./manual-chain.ts";
import { createTestLogger } from "./test-logger.ts";

export interface FollowerRecorder {
  /** Every event so far, in order. */
  events: FollowerEvent[];
  /** The state a consumer would have persisted after the events so far. */
  state(): FollowerState;
  /** Resolves once `predicate` holds for the events so far; rejects after `timeoutMs`. */
  waitFor(predicate: (events: FollowerEvent[]) => boolean, timeoutMs?: number): Promise<void>;
  /** Aborts the follower and resolves once its generator has ended. */
  stop(): Promise<void>;
  /** Resolves when the generator ends by itself; rejects if it throws. */
  done: Promise<void>;
}

/** Consumes a follower's events in the background, as the real consumer would. */
export function recordFollower(follower: BlockFollower, initial: FollowerState): FollowerRecorder {
  const controller = new AbortController();
  const events: FollowerEvent[] = [];
  const listeners = new Set<() => void>();
  let failure: unknown;
  let ended = false;

  const done = (async () => {
    try {
      for await (const event of follower.events(controller.signal)) {
        events.push(event);
        for (const l of listeners) l();
      }
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      ended = true;
      for (const l of listeners) l();
    }
  })();
  // Surfaced through waitFor and stop; avoid an unhandled rejection in between.
  done.catch(() => {});

  return {
    events,
    done,
    state: () => events.reduce(applyFollowerEvent, initial),
    waitFor(predicate, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (predicate(events)) return finish(resolve);
          if (ended) {
            finish(() =>
              reject(
                new Error(`the follower stopped before the condition held: ${String(failure)}`),
              ),
            );
          }
        };
        const timer = setTimeout(
          () =>
            finish(() =>
              reject(
                new Error(
                  `condition not met within ${timeoutMs} ms; events so far:\n${describeEvents(events)}`,
                ),
              ),
            ),
          timeoutMs,
        );
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      });
    },
    async stop() {
      controller.abort();
      await done;
    },
  };
}

/** One line per event, e.g. `block 12 (2 logs)`, for failure messages and assertions. */
export function describeEvents(events: FollowerEvent[]): string {
  return events.map(describeEvent).join("\n");
}

export function describeEvent(event: FollowerEvent): string {
  switch (event.type) {
    case "block":
      return `block ${event.block.number} (${event.logs.length} logs)`;
    case "finalize":
      return `finalize ${event.block.number}`;
    case "reorg":
      return `reorg to ${event.commonAncestor.number} dropping ${event.dropped.map((b) => b.number).join(",")}`;
    case "backfill":
      return `backfill ${event.from}-${event.to} (${event.logs.length} logs)`;
  }
}

/** A log sink that keeps what was logged, for asserting on warnings and errors. */
export function recordingLog() {
  const entries: { level: "info" | "warn" | "error"; obj: object; msg: string }[] = [];
  return {
    entries,
    warnings: () => entries.filter((e) => e.level === "warn"),
    errors: () => entries.filter((e) => e.level === "error"),
    log: {
      info: (obj: object, msg?: string) => entries.push({ level: "info", obj, msg: msg ?? "" }),
      warn: (obj: object, msg?: string) => entries.push({ level: "warn", obj, msg: msg ?? "" }),
      error: (obj: object, msg?: string) => entries.push({ level: "error", obj, msg: msg ?? "" }),
    },
  };
}

/**
 * A follower of a manual chain's test token from an empty state (1 confirmation, 20 ms polls
 * unless `options` say otherwise), recorded and added to `running` for the file's clean-up.
 */
export function followManualChain(
  m: ManualChain,
  running: FollowerRecorder[],
  options: Partial<CreateBlockFollowerParameters> = {},
): FollowerRecorder {
  const state: FollowerState = { window: [], finalized: undefined };
  const recorder = recordFollower(
    createBlockFollower({
      chainKey: "anvil",
      rpcUrls: [m.chain.rpcUrl],
      tokens: [m.chain.tokenAddress],
      confirmations: 1,
      pollingIntervalMs: 20,
      log: createTestLogger(),
      ...options,
      state,
    }),
    state,
  );
  running.push(recorder);
  return recorder;
}
