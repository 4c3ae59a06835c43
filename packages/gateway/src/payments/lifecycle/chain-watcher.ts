import type { Logger } from "pino";
import type { Address } from "viem";
import type { RegisteredChain } from "../../chain/chain-registry.ts";
import { applyFollowerEvent } from "../../chain/follower/apply-follower-event.ts";
import type {
  BlockFollower,
  ConfirmationPolicy,
  CreateBlockFollowerParameters,
} from "../../chain/follower/types.ts";
import { LeaseLostError, type Leases } from "../../platform/lease.ts";
import { createWorker, type Worker } from "../../platform/worker.ts";
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
  /** Leadership: `chain:<key>` per follower, `deadline-settler` for the sweep. */
  leases: Leases;
  /** How often a process that is not the leader tries to take a lease over (LEASE_RENEW_MS). */
  standbyIntervalMs: number;
  /** How often pending intents past their deadline are settled. */
  settleIntervalMs?: number;
  /** Called after a committed status change (the callback dispatcher delivers at once). */
  onStatusChange?: () => void;
}

/**
 * Runs one follower per chain that has RPC URLs, applying each event through the ingest service,
 * and settles deadlines on a timer; each is a worker, and each runs only in the process holding
 * its lease (the others try again every standbyIntervalMs, quietly). The follower stops as soon
 * as its lease is lost, and every event is applied under the lease's fencing token. If applying
 * fails (the database is away), the follower is rebuilt from the state the database last
 * committed, so nothing is skipped or counted twice.
 */
export function startChainWatchers(options: ChainWatcherOptions): { stop(): Promise<void> } {
  const { ingest, lifecycle, log, leases } = options;

  function watcher(chain: RegisteredChain): Worker {
    const chainLog = log.child({ chain: chain.key });
    return createWorker({
      name: "chain watcher",
      log: chainLog,
      // Between sessions, and while another process leads this chain.
      intervalMs: options.standbyIntervalMs,
      backoff: { initialMs: 1000, maxMs: 30_000 },
      // One pass is one follower session: it runs until it fails, its lease is lost or the
      // watcher stops.
      async run(stop) {
        const lease = await leases.claim(`chain:${chain.key}`);
        if (!lease) return "idle";
        const signal = AbortSignal.any([stop, lease.signal]);
        let applied = 0;
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
          for await (const event of follower.events(signal)) {
            const changes = await ingest.apply(chain.key, event, state, lease);
            state = applyFollowerEvent(state, event);
            applied += 1;
            for (const c of changes)
              chainLog.info(
                { payment_intent_id: c.id, status: c.to },
                "payment intent status changed",
              );
            if (changes.length > 0) options.onStatusChange?.();
          }
          return "idle";
        } catch (err) {
          // Lost the lease: the new leader follows from what is stored ("lost a lease" is logged).
          if (signal.aborted || err instanceof LeaseLostError) return "idle";
          if (err instanceof StaleFollowerStateError) {
            chainLog.info("another process advanced this chain; continuing from the stored state");
            return "more";
          }
          // A session that made progress before failing starts the backoff afresh: a database
          // that goes away now and then must not leave every later restart at the longest pause.
          if (applied === 0) throw err;
          chainLog.error({ err }, "chain watcher failed; will retry");
          return "idle";
        }
      },
    });
  }

  const settleIntervalMs = options.settleIntervalMs ?? 5000;
  const settler = createWorker({
    name: "deadline settler",
    log,
    intervalMs: settleIntervalMs,
    backoff: { initialMs: settleIntervalMs, maxMs: Math.max(30_000, settleIntervalMs) },
    async run() {
      if (!(await leases.claim("deadline-settler"))) return "idle";
      const changed = await lifecycle.settleDue();
      if (changed > 0) {
        log.info({ changed }, "settled payment intents past their deadline");
        options.onStatusChange?.();
      }
      return "idle";
    },
  });

  const workers = [...options.chains.filter((c) => c.rpcUrls.length > 0).map(watcher), settler];
  for (const worker of workers) worker.start();
  return {
    async stop() {
      await Promise.all(workers.map((worker) => worker.stop()));
    },
  };
}
