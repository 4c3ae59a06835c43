import type { Logger } from "pino";
import type { Address } from "viem";
import type { RegisteredChain } from "../../chain/chain-registry.ts";
import { applyFollowerEvent } from "../../chain/follower/apply-follower-event.ts";
import type {
  BlockFollower,
  ConfirmationPolicy,
  CreateBlockFollowerParameters,
} from "../../chain/follower/types.ts";
import { sleep as sleepUnlessAborted } from "../../platform/abort.ts";
import { type ChainIngestService, StaleFollowerStateError } from "./chain-ingest-service.ts";
import type { LifecycleService } from "./lifecycle-service.ts";

export interface ChainWatcherOptions {
  chains: RegisteredChain[];
  confirmations: (chainKey: string) => ConfirmationPolicy;
  pollingIntervalMs: (chainKey: string) => number;
  createFollower: (parameters: CreateBlockFollowerParameters) => BlockFollower;
  ingest: ChainIngestService;
  lifecycle: LifecycleService;
  log: Logger;
  /** How often pending intents past their deadline are settled. */
  settleIntervalMs?: number;
  /** Called after a committed status change (the callback dispatcher delivers at once). */
  onStatusChange?: () => void;
}

/**
 * Runs one follower per chain that has RPC URLs, applying each event through the ingest service,
 * and settles deadlines on a timer. If applying fails (the database is away), the follower is
 * rebuilt from the state the database last committed, so nothing is skipped or counted twice.
 */
export function startChainWatchers(options: ChainWatcherOptions): { stop(): Promise<void> } {
  const { ingest, lifecycle, log } = options;
  const abort = new AbortController();
  const sleep = (ms: number) => sleepUnlessAborted(ms, abort.signal);

  async function watch(chain: RegisteredChain): Promise<void> {
    const chainLog = log.child({ chain: chain.key });
    let delay = 1000;
    while (!abort.signal.aborted) {
      try {
        let state = await ingest.loadState(chain.key);
        const follower = options.createFollower({
          chainKey: chain.key,
          rpcUrls: chain.rpcUrls,
          tokens: chain.tokens.map((t) => t.address as Address),
          confirmations: options.confirmations(chain.key),
          pollingIntervalMs: options.pollingIntervalMs(chain.key),
          state,
          log: chainLog,
        });
        for await (const event of follower.events(abort.signal)) {
          const changes = await ingest.apply(chain.key, event, state);
          state = applyFollowerEvent(state, event);
          for (const c of changes)
            chainLog.info(
              { payment_intent_id: c.id, status: c.to },
              "payment intent status changed",
            );
          if (changes.length > 0) options.onStatusChange?.();
          delay = 1000;
        }
      } catch (err) {
        if (abort.signal.aborted) return;
        if (err instanceof StaleFollowerStateError) {
          chainLog.info("another process advanced this chain; continuing from the stored state");
          continue;
        }
        chainLog.error({ err }, "chain watcher failed; restarting from the stored state");
        await sleep(delay);
        delay = Math.min(delay * 2, 30_000);
      }
    }
  }

  async function settleLoop(): Promise<void> {
    while (!abort.signal.aborted) {
      try {
        const changed = await lifecycle.settleDue();
        if (changed > 0) {
          log.info({ changed }, "settled payment intents past their deadline");
          options.onStatusChange?.();
        }
      } catch (err) {
        log.error({ err }, "settling deadlines failed; will retry");
      }
      await sleep(options.settleIntervalMs ?? 5000);
    }
  }

  const running = [...options.chains.filter((c) => c.rpcUrls.length > 0).map(watch), settleLoop()];
  return {
    async stop() {
      abort.abort();
      await Promise.allSettled(running);
    },
  };
}
