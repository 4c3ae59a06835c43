import { type Kysely, sql } from "kysely";
import type { Database } from "../../platform/database/schema.ts";

/** What a chain watcher knows about its chain, kept in memory and published to chain_status. */
export interface ChainTracker {
  /** This process runs the chain's follower now (holds its lease): only then is it published. */
  following: boolean;
  /** The node's latest block at the last successful poll. */
  head: bigint | undefined;
  /** Date.now() of the last successful poll. */
  polledAt: number | undefined;
  /** The highest block processed (stored), and the last final one. */
  processed: bigint | undefined;
  finalized: bigint | undefined;
  /** Date.now() when `processed` last changed (or the watcher started). */
  progressedAt: number;
  /** Date.now() of the first failed poll since the last successful one. */
  failingSince: number | undefined;
  lastError: string | undefined;
  reorgs: number;
  deepReorgs: number;
  reversals: number;
  /**
   * How many of `reorgs` / `deepReorgs` chain_status already counts. The stored counters are the
   * chain's, added to by whichever process leads it; this process's own count starts at 0.
   */
  published: { reorgs: number; deepReorgs: number };
}

/** A chain's health as `watchers.status()` reports it (for metrics and logs). */
export interface ChainWatchStatus {
  chain: string;
  /** Whether this process follows the chain now (it holds the chain's lease). */
  following: boolean;
  head: number | null;
  processed: number | null;
  finalized: number | null;
  /** head − processed; null until both are known. */
  lagBlocks: number | null;
  /** How long the chain has made no progress while behind the head or failing; null when fine. */
  stalledSinceMs: number | null;
  /** How long ago the node last answered a poll (a hanging RPC shows here first); null before. */
  sincePollMs: number | null;
  /** The last poll error while polls fail; null otherwise. */
  failing: string | null;
  reorgs: number;
  deepReorgs: number;
  reversals: number;
}

export function newTracker(now: number): ChainTracker {
  return {
    following: false,
    head: undefined,
    polledAt: undefined,
    processed: undefined,
    finalized: undefined,
    progressedAt: now,
    failingSince: undefined,
    lastError: undefined,
    reorgs: 0,
    deepReorgs: 0,
    reversals: 0,
    published: { reorgs: 0, deepReorgs: 0 },
  };
}

export function trackerStatus(chain: string, t: ChainTracker, now: number): ChainWatchStatus {
  const lag = t.head !== undefined && t.processed !== undefined ? t.head - t.processed : undefined;
  const stalledSince =
    t.failingSince ?? (lag !== undefined && lag > 0n ? t.progressedAt : undefined);
  return {
    chain,
    following: t.following,
    head: t.head === undefined ? null : Number(t.head),
    processed: t.processed === undefined ? null : Number(t.processed),
    finalized: t.finalized === undefined ? null : Number(t.finalized),
    lagBlocks: lag === undefined ? null : Number(lag),
    stalledSinceMs: stalledSince === undefined ? null : now - stalledSince,
    sincePollMs: t.polledAt === undefined ? null : now - t.polledAt,
    failing: t.failingSince === undefined ? null : (t.lastError ?? "unknown error"),
    reorgs: t.reorgs,
    deepReorgs: t.deepReorgs,
    reversals: t.reversals,
  };
}

export interface ChainReadiness {
  chain: string;
  ready: boolean;
  /** Why not: no process reports the chain, it is stalled, or it lags the node's head. */
  problem?: "not_followed" | "stalled" | "lagging";
  message?: string;
  head: number | null;
  processed: number | null;
  lag_blocks: number | null;
}

/**
 * Chain health through the database, so every process answers /readyz the same way whether or
 * not it runs the chain's watcher: the watcher publishes its tracker to chain_status (times as
 * ages on the database's clock, so processes' clocks need not agree), and check() judges the rows.
 */
export function createChainHealth(options: {
  db: Kysely<Database>;
  /** Not ready when the processed block is more than this many blocks behind the node's head. */
  maxLagBlocks: number;
  /** Not ready after this long without a successful poll, or without progress while behind. */
  stallMs: number;
}) {
  const { db, maxLagBlocks, stallMs } = options;
  const ago = (at: number | undefined, now: number) =>
    at === undefined ? null : sql<Date>`clock_timestamp() - ${now - at} * interval '1 millisecond'`;

  return {
    async publish(chain: string, t: ChainTracker, now = Date.now()): Promise<void> {
      const values = {
        head_number: t.head ?? null,
        processed_number: t.processed ?? null,
        finalized_number: t.finalized ?? null,
        polled_at: ago(t.polledAt, now),
        progressed_at: ago(t.progressedAt, now),
        failing_since: ago(t.failingSince, now),
        last_error: t.failingSince === undefined ? null : (t.lastError ?? null),
        updated_at: sql<Date>`clock_timestamp()`,
      };
      // Added, not written: a process that takes the chain over after a kill counts from 0, and
      // writing its count would take the chain's back (seen in the chaos run).
      const reorgs = t.reorgs;
      const deepReorgs = t.deepReorgs;
      await db
        .insertInto("chain_status")
        .values({
          chain_id: chain,
          ...values,
          reorgs: reorgs - t.published.reorgs,
          deep_reorgs: deepReorgs - t.published.deepReorgs,
        })
        .onConflict((oc) =>
          oc.column("chain_id").doUpdateSet({
            ...values,
            reorgs: sql`chain_status.reorgs + excluded.reorgs`,
            deep_reorgs: sql`chain_status.deep_reorgs + excluded.deep_reorgs`,
          }),
        )
        .execute();
      t.published = { reorgs, deepReorgs };
    },

    async check(chains: readonly string[]): Promise<ChainReadiness[]> {
      if (chains.length === 0) return [];
      const rows = await db
        .selectFrom("chain_status")
        .select(["chain_id", "head_number", "processed_number", "last_error"])
        .select([
          sql<number | null>`extract(epoch from clock_timestamp() - polled_at) * 1000`.as(
            "polled_age_ms",
          ),
          sql<number | null>`extract(epoch from clock_timestamp() - progressed_at) * 1000`.as(
            "progressed_age_ms",
          ),
        ])
        .where("chain_id", "in", chains)
        .execute();
      const byChain = new Map(rows.map((r) => [r.chain_id, r]));
      return chains.map((chain): ChainReadiness => {
        const r = byChain.get(chain);
        if (!r) {
          return {
            chain,
            ready: false,
            problem: "not_followed",
            message: "no process has reported following this chain yet",
            head: null,
            processed: null,
            lag_blocks: null,
          };
        }
        const head = r.head_number === null ? null : Number(r.head_number);
        const processed = r.processed_number === null ? null : Number(r.processed_number);
        const lag = head !== null && processed !== null ? head - processed : null;
        const base = { chain, head, processed, lag_blocks: lag };
        const polledAge = r.polled_age_ms === null ? null : Number(r.polled_age_ms);
        const progressedAge = r.progressed_age_ms === null ? null : Number(r.progressed_age_ms);
        const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;
        // Before a first successful poll, the time since the watcher started.
        const sincePoll = polledAge ?? progressedAge;
        const error = r.last_error ? `; last error: ${r.last_error}` : "";
        if (sincePoll === null || sincePoll > stallMs) {
          const since =
            polledAge === null ? "since the watcher started" : `for ${seconds(polledAge)}`;
          return {
            ...base,
            ready: false,
            problem: "stalled",
            message: `the chain's node has not answered a poll ${since}${error}`,
          };
        }
        if (lag !== null && lag > 0 && progressedAge !== null && progressedAge > stallMs) {
          return {
            ...base,
            ready: false,
            problem: "stalled",
            message: `the node's head is at block ${head} but the processed block ${processed} has not moved for ${seconds(progressedAge)}${error}`,
          };
        }
        if (lag !== null && lag > maxLagBlocks) {
          return {
            ...base,
            ready: false,
            problem: "lagging",
            message: `${lag} blocks behind the node's head (READY_MAX_LAG_BLOCKS is ${maxLagBlocks})`,
          };
        }
        return { ...base, ready: true };
      });
    },
  };
}

export type ChainHealth = ReturnType<typeof createChainHealth>;
