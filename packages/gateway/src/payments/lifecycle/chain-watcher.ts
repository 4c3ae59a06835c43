import type { Logger } from "pino";
import type { Address } from "viem";
import type { RegisteredChain } from "../../chain/chain-registry.ts";
import { applyFollowerEvent, followerTip } from "../../chain/follower/apply-follower-event.ts";
import { describeError } from "../../chain/follower/rpc-pool.ts";
import type {
  BlockFollower,
  ConfirmationPolicy,
  CreateBlockFollowerParameters,
  FollowerEvent,
  FollowerState,
} from "../../chain/follower/types.ts";
import type { ChainMetrics } from "../../observability/metrics.ts";
import { LeaseLostError, type Leases } from "../../platform/lease.ts";
import { createWorker, type Worker } from "../../platform/worker.ts";
import {
  type ChainHealth,
  type ChainTracker,
  type ChainWatchStatus,
  newTracker,
  trackerStatus,
} from "./chain-health.ts";
import { type ChainIngestService, StaleFollowerStateError } from "./chain-ingest-service.ts";
import { SETTLER_MAX_SLEEP_MS } from "./deadline-wakeup.ts";
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
  /**
   * How often the settler looks again while a pending intent is past its deadline (waiting for a
   * block past it or its grace period). Otherwise it sleeps until the earliest deadline, at most
   * SETTLER_MAX_SLEEP_MS, and is woken by `nudgeSettler` and by a stored block past that deadline.
   */
  settleIntervalMs?: number;
  /** Called after a committed status change (the callback dispatcher delivers at once). */
  onStatusChange?: () => void;
  /** Where each chain's head, RPC calls and reorgs are counted (/metrics). */
  metrics?: ((chainKey: string) => ChainMetrics) | undefined;
  /** Where each chain's health is published for /readyz on every process; none: kept in memory. */
  health?: ChainHealth;
  /** How often the health is published (default 1000 ms). */
  publishIntervalMs?: number;
  /** The follower's deepReorgRescanBlocks. */
  deepReorgRescanBlocks?: bigint;
}

export interface ChainWatchers {
  /** Each watched chain's head, progress and reorg counts, for metrics. */
  status(): ChainWatchStatus[];
  /** An intent was created whose deadline may come before the settler's next look. */
  nudgeSettler(): void;
  stop(): Promise<void>;
}

/**
 * Runs one follower per chain that has RPC URLs, applying each event through the ingest service,
 * and settles deadlines on a timer; each is a worker, and each runs only in the process holding
 * its lease (the others try again every standbyIntervalMs, quietly). The follower stops as soon
 * as its lease is lost, and every event is applied under the lease's fencing token. If applying
 * fails (the database is away), the follower is rebuilt from the state the database last
 * committed, so nothing is skipped or counted twice.
 */
export function startChainWatchers(options: ChainWatcherOptions): ChainWatchers {
  // The settler's earliest pending deadline (unix ms), and the one a stored block already woke
  // it for: a block whose timestamp passes the deadline wakes the settler once, so a deadline
  // is settled as soon as its chain time has come, not a settleIntervalMs later.
  let nextDeadlineAt: number | undefined;
  let wokenFor: number | undefined;
  const passedDeadline = (batch: FollowerEvent[]) => {
    if (nextDeadlineAt === undefined || wokenFor === nextDeadlineAt) return;
    for (const e of batch) {
      const block = e.type === "block" ? e.block : e.type === "backfill" ? e.toBlock : undefined;
      if (block !== undefined && Number(block.timestamp) * 1000 > nextDeadlineAt) {
        wokenFor = nextDeadlineAt;
        settler.nudge();
        return;
      }
    }
  };
  const { ingest, lifecycle, log, leases } = options;
  const watched = options.chains.filter((c) => c.rpcUrls.length > 0);
  const trackers = new Map<string, ChainTracker>(
    watched.map((c) => [c.key, newTracker(Date.now())]),
  );

  /** The tracker once the stored state is `state` (loaded, or after an event). */
  function progressed(t: ChainTracker, state: FollowerState) {
    const tip = followerTip(state);
    if (tip?.number !== t.processed) t.progressedAt = Date.now();
    t.processed = tip?.number;
    t.finalized = state.finalized?.number;
  }

  function watcher(chain: RegisteredChain): Worker {
    const chainLog = log.child({ chain: chain.key });
    const tracker = trackers.get(chain.key) as ChainTracker;
    const metrics = options.metrics?.(chain.key);
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
          tracker.following = true;
          let state = await ingest.loadState(chain.key);
          progressed(tracker, state);
          const follower = options.createFollower({
            chainKey: chain.key,
            // A ws(s) URL among the RPC URLs serves the subscription; the calls go over http(s).
            rpcUrls: chain.rpcUrls,
            wsUrl: chain.wsUrl,
            tokens: chain.tokens.map((t) => t.address as Address),
            trustLogsBloom: chain.bloomIncomplete !== true,
            confirmations: options.confirmations(chain.key),
            pollingIntervalMs: options.pollingIntervalMs(chain.key),
            state,
            log: chainLog,
            knownBlocks: (from, to) => ingest.knownBlocks(chain.key, from, to),
            ...(options.deepReorgRescanBlocks === undefined
              ? {}
              : { deepReorgRescanBlocks: options.deepReorgRescanBlocks }),
            onHead: (head) => {
              // The first report of a session is published at once: /readyz waits for it.
              if (tracker.polledAt === undefined) publisher?.nudge();
              tracker.head = head.number;
              tracker.polledAt = Date.now();
            },
            onPoll: (outcome) => {
              if (outcome.ok) {
                tracker.failingSince = undefined;
                tracker.lastError = undefined;
              } else {
                tracker.failingSince ??= Date.now();
                tracker.lastError = describeError(outcome.error);
              }
            },
            metrics,
          });
          // A block and the finalize it brings commit together: one transaction per block.
          for await (const batch of follower.batches(signal)) {
            const { changes, reversals } = await ingest.applyAll(chain.key, batch, state, lease);
            for (const event of batch) {
              state = applyFollowerEvent(state, event);
              if (event.type !== "reorg") continue;
              metrics?.reorg(event.dropped.length);
              if (event.deep) metrics?.deepReorg();
              tracker.reorgs += 1;
              if (event.deep) tracker.deepReorgs += 1;
            }
            progressed(tracker, state);
            applied += 1;
            passedDeadline(batch);
            for (const r of reversals) {
              tracker.reversals += 1;
              metrics?.paymentReversed();
              chainLog.error(
                {
                  payment_intent_id: r.paymentIntentId,
                  status: r.status,
                  common_ancestor: r.commonAncestor,
                  transfers: r.transfers.map((t) => ({
                    tx_hash: t.tx_hash,
                    log_index: t.log_index,
                    block_number: String(t.block_number),
                    block_hash: t.block_hash,
                  })),
                  stopped: r.stopped,
                },
                "payment reversed: a confirmed transfer it was decided on left the canonical chain in a deep reorg; the intent is flagged (reversed_at) and needs a person",
              );
            }
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
        } finally {
          // Another process may lead the chain now: it publishes the chain's health from here on.
          tracker.following = false;
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
      // A standby tries the lease every interval, to take over soon after the leader goes.
      if (!(await leases.claim("deadline-settler"))) return "idle";
      const changed = await lifecycle.settleDue();
      if (changed > 0) {
        log.info({ changed }, "settled payment intents past their deadline");
        options.onStatusChange?.();
      }
      const next = await lifecycle.nextDeadline();
      nextDeadlineAt = next?.at.getTime();
      // Past it already: waiting for a block past the deadline (a stored one nudges) or for a
      // grace period, so look again after the interval.
      if (next !== undefined && next.inMs <= 0) return "idle";
      // The deadline itself is not yet past it (`payment_deadline < now`): a millisecond after.
      return { idleMs: Math.min((next?.inMs ?? SETTLER_MAX_SLEEP_MS) + 1, SETTLER_MAX_SLEEP_MS) };
    },
  });

  const { health } = options;
  const publisher =
    health === undefined
      ? undefined
      : createWorker({
          name: "chain health publisher",
          log,
          intervalMs: options.publishIntervalMs ?? 1000,
          backoff: { initialMs: 1000, maxMs: 30_000 },
          async run() {
            for (const [key, t] of trackers) {
              if (t.following && (t.polledAt !== undefined || t.failingSince !== undefined))
                await health.publish(key, t);
            }
            return "idle";
          },
        });
  const workers = [...watched.map(watcher), settler, ...(publisher ? [publisher] : [])];
  for (const worker of workers) worker.start();
  return {
    status: () => [...trackers].map(([key, t]) => trackerStatus(key, t, Date.now())),
    nudgeSettler: () => settler.nudge(),
    async stop() {
      await Promise.all(workers.map((worker) => worker.stop()));
    },
  };
}
