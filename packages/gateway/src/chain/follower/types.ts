import type { Address, Hex } from "viem";

/** The parts of a block header the follower and its consumer need. */
export interface BlockRef {
  number: bigint;
  hash: Hex;
  parentHash: Hex;
  /** Unix seconds. */
  timestamp: bigint;
}

/**
 * A header as read from the node: a BlockRef and, when the node sent it, the bloom of every log
 * in the block (it lets the follower skip eth_getLogs for a block that cannot hold a transfer).
 */
export interface BlockHeader extends BlockRef {
  logsBloom?: Hex | undefined;
  /** Whether the block holds any transaction; undefined when the node did not say. */
  hasTransactions?: boolean | undefined;
}

/** One ERC-20 `Transfer` log of a watched token. Keyed by (txHash, logIndex) within a chain. */
export interface TransferLog {
  txHash: Hex;
  logIndex: number;
  /** The emitting contract, checksummed; always one of the follower's `tokens`. */
  token: Address;
  from: Address;
  to: Address;
  /** Base units. Zero-value transfers are reported too: the consumer decides to ignore them. */
  value: bigint;
  blockNumber: bigint;
  blockHash: Hex;
  blockTimestamp: bigint;
}

export type FollowerEvent =
  /** A new unfinalised block on the canonical chain, with the watched tokens' Transfer logs in it. */
  | { type: "block"; block: BlockRef; logs: TransferLog[] }
  /**
   * Blocks above `commonAncestor` are no longer canonical; `block` (or `backfill`) events for the
   * new ones follow. `deep`: blocks already reported final were dropped too (see deepReorg).
   */
  | { type: "reorg"; commonAncestor: BlockRef; dropped: BlockRef[]; deep?: true }
  /** `block` and every block below it reached the confirmation policy. */
  | { type: "finalize"; block: BlockRef }
  /** Blocks [from, to] were already final when read: their logs, and the header of `to`. */
  | { type: "backfill"; from: bigint; to: bigint; logs: TransferLog[]; toBlock: BlockRef };

export interface FollowerState {
  /** Unfinalised blocks processed so far, ascending and contiguous (each the parent of the next). */
  window: BlockRef[];
  /**
   * The last finalised block processed: the follower's floor, below which it never reorgs. See
   * applyFollowerEvent for the one case where it is set without a `finalize` event.
   */
  finalized: BlockRef | undefined;
}

/**
 * A block count (1 = final as soon as seen; N = final once N − 1 blocks are built on it) or the
 * node's own `safe` / `finalized` block tag.
 */
export type ConfirmationPolicy = number | "safe" | "finalized";

export interface FollowerLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  /** A deep reorg; `warn` when absent. */
  error?(obj: object, msg?: string): void;
}

/** Where a follower reports what it sees, for /metrics (observability/metrics.ts implements it). */
export interface FollowerMetrics {
  /** The node's latest block, each time the follower reads it. */
  head(blockNumber: bigint): void;
  /** One RPC call on the `index`-th URL (1-based), named by its host only: URLs carry API keys. */
  rpcCall(endpoint: { index: number; host: string }, ok: boolean): void;
}

export interface CreateBlockFollowerParameters {
  /** Only for log lines and error messages. */
  chainKey: string;
  /**
   * Tried in order. A failing URL (network error, timeout, HTTP 429/5xx, JSON-RPC error) is set
   * aside for `failoverCooldownMs` and the next one is used; once the cooldown ends it is
   * preferred again. Never logged in full: URLs often carry API keys.
   */
  rpcUrls: string[];
  /**
   * A `ws://` or `wss://` endpoint of the same chain: new heads are then pushed
   * (`eth_subscribe("newHeads")`) instead of polled, and each block costs one eth_getLogs over
   * `rpcUrls`. While the socket is down the follower polls, and it subscribes again on its own.
   */
  wsUrl?: string | undefined;
  /** Only Transfer logs emitted by these contracts are reported. An empty list reports none. */
  tokens: Address[];
  /**
   * Skip eth_getLogs for a block whose header's logsBloom shows no Transfer of any token (the
   * block is still yielded, with no logs). Default true. False for a chain whose header bloom
   * does not cover every log eth_getLogs returns (Polygon PoS: state-sync logs, such as bridged
   * deposits, are left out of it).
   */
  trustLogsBloom?: boolean;
  confirmations: ConfirmationPolicy;
  pollingIntervalMs: number;
  /** Largest eth_getLogs block range tried during backfill; halved when a node refuses. Default 2000. */
  maxLogRange?: bigint;
  /** First block to process when `state` is empty. Default: the head at start. */
  startBlock?: bigint;
  /** Restored by the consumer (see applyFollowerEvent); the follower resumes right after it. */
  state: FollowerState;
  log: FollowerLog;
  /** Bound on each RPC call. Default 10 000 ms. */
  requestTimeoutMs?: number;
  /** How long a failed RPC URL is set aside before it is preferred again. Default 30 000 ms. */
  failoverCooldownMs?: number;
  /**
   * Catch up with `backfill` events (ranged eth_getLogs) instead of block by block when at least
   * this many blocks that are already final wait to be processed. Default 32.
   */
  backfillThreshold?: bigint;
  /** Upper bound of the retry delay after a failed poll (it starts at pollingIntervalMs). Default 30 000 ms. */
  maxRetryDelayMs?: number;
  /**
   * Blocks the consumer stored as processed in [from, to] (the chain's transfers' blocks), any
   * order. After a reorg below the finalised block, the highest one still canonical is the common
   * ancestor. Default: none.
   */
  knownBlocks?: (from: bigint, to: bigint) => Promise<Array<{ number: bigint; hash: Hex }>>;
  /**
   * After a reorg below the finalised block, how far below the lost block to look for the common
   * ancestor, and to read again from when no known block is canonical there. Default 256.
   */
  deepReorgRescanBlocks?: bigint;
  /** Each poll's `latest` block as soon as it is read (the node answers), for health reports. */
  onHead?: (head: BlockRef) => void;
  /** Each poll's end: done, or failed (it is retried), for health reports. */
  onPoll?: (outcome: { ok: true } | { ok: false; error: unknown }) => void;
  metrics?: FollowerMetrics | undefined;
}

export interface BlockFollower {
  /**
   * The chain as an ordered stream of events. Runs until `signal` aborts (then the generator
   * simply ends) or the consumer stops iterating; RPC failures are logged and retried, never
   * thrown. Only one `events()` iteration may run at a time; a later call resumes where the
   * previous one stopped.
   */
  events(signal?: AbortSignal): AsyncGenerator<FollowerEvent, void, undefined>;
  /**
   * The same stream, in the groups that belong together: a `block` and the `finalize` it brought
   * (a consumer commits each group in one transaction). `events()` is this, flattened.
   */
  batches(signal?: AbortSignal): AsyncGenerator<FollowerEvent[], void, undefined>;
  /** The state after the last event yielded (what the consumer should have persisted). */
  getState(): FollowerState;
}
