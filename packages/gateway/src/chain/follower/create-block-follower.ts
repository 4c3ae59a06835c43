import { getAddress, type Hex } from "viem";
import { sleep } from "../../platform/abort.ts";
import { applyFollowerEvent, assertFollowerState, followerTip } from "./apply-follower-event.ts";
import { FollowerError, LogRangeRefusedError } from "./errors.ts";
import { getBlockHeader, getBlockRef, toBlockRef } from "./get-block-ref.ts";
import { getTransferLogs, type RawTransferLog } from "./get-transfer-logs.ts";
import { type HeadSubscription, subscribeHeads } from "./head-subscription.ts";
import { mayHoldTransfer } from "./logs-bloom.ts";
import { createRpcPool, describeError } from "./rpc-pool.ts";
import type {
  BlockFollower,
  BlockHeader,
  BlockRef,
  CreateBlockFollowerParameters,
  FollowerEvent,
  FollowerState,
  TransferLog,
} from "./types.ts";

const DEFAULT_MAX_LOG_RANGE = 2_000n;
const DEFAULT_BACKFILL_THRESHOLD = 32n;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const DEFAULT_FAILOVER_COOLDOWN_MS = 30_000;
const DEFAULT_MAX_RETRY_DELAY_MS = 30_000;
const DEFAULT_DEEP_REORG_RESCAN_BLOCKS = 256n;
// After this many accepted ranges in a row the range doubles again (up to maxLogRange): a dense
// stretch of the chain should not slow down the rest of a long catch-up.
const RANGE_GROWTH_AFTER = 8;
const RECENT_HEADERS = 32;
const MISS_RETRY_MS = 20;
const EARLY_LOOK_EVERY = 32;
const EARLY_LOOK_MS = 40;
const FIND_PHASE_STEP_MS = 100;
const PHASE_RETRIES = 3;
const LOOK_GUARD_MS = 50;
const MAX_WAIT_POLLS = 10;
const FULL_PASS_EVERY_MISSES = 3;
const SILENT_INTERVALS = 5;
const MAX_PUSHED_HEADS = 64;

/**
 * Follows one chain and yields its watched-token transfers as an ordered stream of events.
 *
 * Each poll reads the head (and the `safe`/`finalized` block for a tag policy), then:
 * - catch-up: when at least `backfillThreshold` already-final blocks wait, it confirms the
 *   processed tip is still canonical, finalises it, and yields `backfill` events over ranges up to
 *   the finalised head (ranged eth_getLogs, halved when a node refuses);
 * - otherwise block by block: header by number, then eth_getLogs by that block's hash, so the logs
 *   always belong to the header reported. A header whose parent is not the processed tip, or a head
 *   that is not one of the processed blocks, starts a reorg: the highest processed block that is
 *   still canonical becomes the common ancestor, the blocks above it are dropped in one `reorg`
 *   event, and the next pass yields the new canonical blocks;
 * - after each block, `finalize` for the highest block that reached the policy (count: tip − N + 1;
 *   tag: the node's tagged block, once the follower has processed that very block).
 *
 * Nothing is thrown for RPC trouble: failures are logged and retried with backoff. A reorg below the
 * last finalised block (a deep reorg) is logged at error level and recovered from: the ancestor is
 * the highest of the consumer's `knownBlocks` that is still canonical, or failing that the block
 * `deepReorgRescanBlocks` below the lost one; a `reorg` event with `deep: true` drops everything
 * above it, and the blocks above it are read again.
 */
export function createBlockFollower(parameters: CreateBlockFollowerParameters): BlockFollower {
  const { chainKey, confirmations, pollingIntervalMs } = parameters;
  const { log } = parameters;
  const maxLogRange = parameters.maxLogRange ?? DEFAULT_MAX_LOG_RANGE;
  const backfillThreshold = parameters.backfillThreshold ?? DEFAULT_BACKFILL_THRESHOLD;
  const maxRetryDelayMs = parameters.maxRetryDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS;
  const deepReorgRescanBlocks =
    parameters.deepReorgRescanBlocks ?? DEFAULT_DEEP_REORG_RESCAN_BLOCKS;
  validate(parameters, maxLogRange, backfillThreshold);

  const tokens = [...new Set(parameters.tokens.map((t) => getAddress(t)))];
  const trustLogsBloom = parameters.trustLogsBloom ?? true;
  const pool = createRpcPool({
    chainKey,
    rpcUrls: parameters.rpcUrls,
    requestTimeoutMs: parameters.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    cooldownMs: parameters.failoverCooldownMs ?? DEFAULT_FAILOVER_COOLDOWN_MS,
    log,
    metrics: parameters.metrics,
  });

  let state: FollowerState = {
    window: [...parameters.state.window],
    finalized: parameters.state.finalized,
  };
  let logRange = maxLogRange;
  let running = false;

  // The polling rhythm (see `nextProbeDelay`). `probing`: the last pass reached the node's head,
  // so the next one only asks for the block after the tip, which is both the head check and the
  // header; a full pass (the `latest` header) runs at the start, after an error, a reorg or a
  // backfill, and when the follower finds itself behind.
  let probing = false;
  /** Upper bound of the local time the tip arrived at the node (ms), when known. */
  let arrivedBy: number | undefined;
  let misses = 0;
  /** When the last look that found nothing was made: the next block arrived after it. */
  let missedAt: number | undefined;
  let sinceEarlyLook = 0;
  /** A look found the tip right after one that found nothing: arrivedBy is within a retry. */
  let phaseKnown = false;
  /** Headers pushed by the websocket subscription, not yet looked at, with their arrival. */
  const pushedHeads: Array<{ block: BlockHeader; at: number }> = [];
  let wake: (() => void) | undefined;
  let subscription: HeadSubscription | undefined;

  /** Sleeps `ms`, or less when a head is pushed or the signal aborts. */
  const waitForHead = (ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise((resolve) => {
      if (signal?.aborted || pushedHeads.length > 0) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener("abort", done, { once: true });
      wake = done;
    });

  /**
   * The pause after a pass. With the websocket subscription up, the next head is pushed, so
   * nothing is asked until then; a look is still made if the socket stays silent for several
   * block intervals (a subscription can die without the socket closing).
   */
  const pauseAfter = (delay: number): number => {
    if (!subscription?.up || !probing) return delay;
    const interval = blockIntervalMs();
    return Math.max(
      delay,
      pollingIntervalMs,
      interval === undefined ? pollingIntervalMs * MAX_WAIT_POLLS : interval * SILENT_INTERVALS,
    );
  };

  /** The last few processed headers, for the chain's block interval. */
  const recent: Array<{ number: bigint; timestamp: bigint }> = [];

  /** Every event passes here on its way out, so `state` is always what the consumer has seen. */
  const commit = <E extends FollowerEvent>(event: E): E => {
    state = applyFollowerEvent(state, event);
    if (event.type === "block") {
      recent.push({ number: event.block.number, timestamp: event.block.timestamp });
      if (recent.length > RECENT_HEADERS) recent.shift();
    } else if (event.type !== "finalize") {
      recent.length = 0;
      arrivedBy = undefined;
      phaseKnown = false;
    }
    return event;
  };

  /**
   * The chain's block interval (ms) from the timestamps of the last headers; undefined until they
   * span at least two seconds (timestamps are whole seconds).
   */
  const blockIntervalMs = (): number | undefined => {
    const first = recent[0];
    const last = recent.at(-1);
    if (first === undefined || last === undefined || last.number === first.number) return undefined;
    const seconds = Number(last.timestamp - first.timestamp);
    if (seconds < 2) return undefined;
    return (seconds * 1000) / Number(last.number - first.number);
  };

  /**
   * A look made at `askedAt` found the block after the tip: its arrival is bounded by the look,
   * and by the rhythm's estimate unless a look that found nothing contradicts that estimate.
   */
  const learnArrival = (askedAt: number): void => {
    const interval = blockIntervalMs();
    const expected =
      arrivedBy !== undefined && interval !== undefined ? arrivedBy + interval : askedAt;
    const consistent = missedAt === undefined || expected > missedAt;
    // Known once the look that found it came soon after one that did not: a few short retries
    // (20, 40, 80 ms) into a known rhythm, not a long wait while the rhythm was still unknown.
    if (missedAt !== undefined && interval !== undefined && misses <= PHASE_RETRIES)
      phaseKnown = true;
    missedAt = undefined;
    arrivedBy = consistent ? Math.min(askedAt, expected) : askedAt;
  };

  /**
   * The watched tokens' Transfer logs of one block, by its hash; none, without a call, when the
   * header's logsBloom shows the block holds no Transfer log of any watched token.
   */
  const blockLogs = (block: BlockHeader, signal?: AbortSignal): Promise<RawTransferLog[]> =>
    trustLogsBloom && !mayHoldTransfer(block, tokens)
      ? Promise.resolve([])
      : getTransferLogs(pool, { chainKey, tokens, log, signal, blockHash: block.hash });

  /**
   * How long to wait before asking for the block after the tip. HTTP polling costs one call per
   * look, so a look is timed for when the next block is due (the tip's arrival plus the chain's
   * block interval) instead of every pollingIntervalMs; a look that finds nothing is repeated
   * at short, growing intervals (up to pollingIntervalMs) while the block is late. The arrival
   * time only tightens (each found block bounds it from above), so once in 32 blocks the look is
   * made a little early to learn whether the rhythm drifted later than the chain.
   */
  const nextProbeDelay = (found: boolean): number => {
    const interval = blockIntervalMs();
    const now = Date.now();
    if (!found) {
      misses += 1;
      if (interval === undefined) return pollingIntervalMs;
      return Math.min(pollingIntervalMs, MISS_RETRY_MS * 2 ** Math.min(misses - 1, 8));
    }
    misses = 0;
    if (interval === undefined || arrivedBy === undefined) return 0;
    sinceEarlyLook += 1;
    // Until a look has missed the next block by little, the arrival is only known to within a
    // polling interval: look a quarter interval early each block until one misses.
    const early = !phaseKnown
      ? Math.min(interval / 4, FIND_PHASE_STEP_MS)
      : sinceEarlyLook >= EARLY_LOOK_EVERY
        ? EARLY_LOOK_MS
        : 0;
    if (early > 0) sinceEarlyLook = 0;
    // A little after the block is due: a look that lands just before it costs a call for nothing.
    const due = arrivedBy + interval - early + (early > 0 ? 0 : LOOK_GUARD_MS) - now;
    // Bounded so a chain that stopped and restarted (or a test mining by hand) is not waited for
    // a whole long interval.
    return Math.max(0, Math.min(due, pollingIntervalMs * MAX_WAIT_POLLS));
  };

  const windowBlockAt = (blockNumber: bigint): BlockRef | undefined => {
    const first = state.window[0];
    return first === undefined ? undefined : state.window[Number(blockNumber - first.number)];
  };

  const isCanonical = async (block: BlockRef, signal?: AbortSignal): Promise<boolean> =>
    (await getBlockRef(pool, { blockNumber: block.number }, signal))?.hash === block.hash;

  /** The highest window block that reached the policy and is not yet reported final. */
  const newlyFinal = (tagBlock: BlockRef | undefined): BlockRef | undefined => {
    const tip = state.window.at(-1);
    if (tip === undefined) return undefined;
    if (typeof confirmations === "number") {
      const finalNumber = tip.number - BigInt(confirmations) + 1n;
      const first = state.window[0];
      if (first === undefined || finalNumber < first.number) return undefined;
      return windowBlockAt(finalNumber);
    }
    if (tagBlock === undefined) return undefined;
    // Only the tagged block itself can be checked against the node; a window block below it is
    // final because it is that block's ancestor, one above it is not final yet.
    const ours = windowBlockAt(tagBlock.number);
    if (ours === undefined) return undefined;
    if (ours.hash !== tagBlock.hash) {
      log.warn(
        { chainKey, blockNumber: ours.number, ours: ours.hash, tagged: tagBlock.hash },
        `the node's ${confirmations} block is not the processed one; waiting for the reorg to show`,
      );
      return undefined;
    }
    return ours;
  };

  /** Yields a `reorg` event unless every processed block is still canonical; returns whether it did. */
  async function* reorg(signal?: AbortSignal): AsyncGenerator<FollowerEvent[], boolean> {
    const window = state.window;
    // Canonical-ness is monotone along the window (a hash chain), so gallop down from the tip,
    // where reorgs nearly always end, then bisect: O(log n) calls for a deep window.
    let lo = -1;
    let hi = window.length;
    for (let step = 1; hi - 1 > lo; step *= 2) {
      const i = Math.max(lo + 1, hi - step);
      if (await isCanonical(window[i] as BlockRef, signal)) {
        lo = i;
        break;
      }
      hi = i;
    }
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (await isCanonical(window[mid] as BlockRef, signal)) lo = mid;
      else hi = mid;
    }

    let ancestor = window[lo];
    if (ancestor === undefined) {
      if (state.finalized !== undefined) {
        if (!(await isCanonical(state.finalized, signal)))
          return yield* deepReorg(state.finalized, signal);
        ancestor = state.finalized;
      } else {
        // Nothing is final yet: the anchor is the parent of the first block processed.
        const first = window[0];
        if (first === undefined) return false;
        const parent = { number: first.number - 1n, hash: first.parentHash };
        const canonical =
          parent.number < 0n
            ? undefined
            : await getBlockRef(pool, { blockNumber: parent.number }, signal);
        if (canonical === undefined || canonical.hash !== parent.hash) {
          return yield* deepReorg(parent, signal);
        }
        ancestor = canonical;
      }
    }

    const ancestorNumber = ancestor.number;
    const dropped = window.filter((b) => b.number > ancestorNumber);
    // The mismatch came from a block that is itself gone again (or from two RPC URLs that
    // disagree); nothing processed changed. The caller waits a polling interval before looking again.
    if (dropped.length === 0) return false;
    log.warn(
      {
        chainKey,
        commonAncestor: ancestorNumber,
        dropped: dropped.length,
        from: dropped[0]?.number,
        to: dropped.at(-1)?.number,
      },
      "chain reorganised; dropping blocks above the common ancestor",
    );
    yield [commit({ type: "reorg", commonAncestor: ancestor, dropped })];
    return true;
  }

  /**
   * `lost`, a block reported final (or the block the follower started after), is no longer
   * canonical. The ancestor is the highest of the consumer's known blocks at most
   * deepReorgRescanBlocks below it that is still canonical (every processed block under a canonical
   * one is canonical too: they form a hash chain), else the node's block that far below (or its
   * head, if shorter). Everything above is dropped in one `deep` reorg event and read again.
   */
  async function* deepReorg(
    lost: { number: bigint; hash: Hex },
    signal?: AbortSignal,
  ): AsyncGenerator<FollowerEvent[], boolean> {
    const floor = lost.number > deepReorgRescanBlocks ? lost.number - deepReorgRescanBlocks : 0n;
    let ancestor: BlockRef | undefined;
    const known = ((await parameters.knownBlocks?.(floor, lost.number)) ?? [])
      .filter((b) => b.number >= floor && b.number <= lost.number)
      .sort((a, b) => (a.number < b.number ? -1 : a.number > b.number ? 1 : 0));
    // Canonical-ness is monotone along processed blocks: bisect for the highest canonical one.
    let lo = -1;
    let hi = known.length;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      const block = known[mid] as { number: bigint; hash: Hex };
      const canonical = await getBlockRef(pool, { blockNumber: block.number }, signal);
      if (canonical?.hash === block.hash) {
        lo = mid;
        ancestor = canonical;
      } else hi = mid;
    }
    let source = "a stored block";
    if (ancestor === undefined) {
      const head = await getBlockRef(pool, { blockTag: "latest" }, signal);
      const at = head === undefined || head.number > floor ? floor : head.number;
      ancestor = await getBlockRef(pool, { blockNumber: at }, signal);
      if (ancestor === undefined) {
        throw new FollowerError(`${chainKey}: block ${at} is missing on the node`, { chainKey });
      }
      source = `${lost.number - at} blocks below the lost one (deepReorgRescanBlocks)`;
    }
    const above = ancestor.number;
    const dropped = [
      ...(state.finalized !== undefined && state.finalized.number > above ? [state.finalized] : []),
      ...state.window.filter((b) => b.number > above),
    ];
    (log.error ?? log.warn).call(
      log,
      {
        chainKey,
        lostBlock: lost.number,
        lostHash: lost.hash,
        commonAncestor: above,
        ancestorFrom: source,
        dropped: dropped.length,
      },
      "reorg deeper than the finalised block: dropping final blocks above the common ancestor and reading them again",
    );
    yield [commit({ type: "reorg", commonAncestor: ancestor, dropped, deep: true })];
    return true;
  }

  async function withTimestamps(
    logs: RawTransferLog[],
    known: BlockRef,
    signal?: AbortSignal,
  ): Promise<TransferLog[]> {
    const timestamps = new Map<string, bigint>([[known.hash, known.timestamp]]);
    for (const l of logs) {
      if (l.blockTimestamp !== undefined || timestamps.has(l.blockHash)) continue;
      const header = await getBlockRef(pool, { blockHash: l.blockHash }, signal);
      if (header === undefined) {
        throw new FollowerError(
          `${chainKey}: block ${l.blockHash} of a log is unknown to the node`,
          {
            chainKey,
          },
        );
      }
      timestamps.set(l.blockHash, header.timestamp);
    }
    return logs.map((l) => ({
      ...l,
      blockTimestamp: l.blockTimestamp ?? (timestamps.get(l.blockHash) as bigint),
    }));
  }

  async function* backfill(
    from: bigint,
    to: bigint,
    tagBlock: BlockRef | undefined,
    signal?: AbortSignal,
  ): AsyncGenerator<FollowerEvent[], void> {
    let start = from;
    let accepted = 0;
    while (start <= to) {
      if (signal?.aborted) return;
      const end = min(to, start + logRange - 1n);
      let logs: RawTransferLog[];
      try {
        logs = await getTransferLogs(pool, {
          chainKey,
          tokens,
          log,
          signal,
          fromBlock: start,
          toBlock: end,
        });
      } catch (error) {
        if (error instanceof LogRangeRefusedError && end > start) {
          logRange = max(1n, (end - start + 1n) / 2n);
          accepted = 0;
          log.info(
            { chainKey, from: start, to: end, nextRange: logRange, error: error.message },
            "eth_getLogs range refused; splitting it",
          );
          continue;
        }
        throw error;
      }
      const toBlock = await getBlockRef(pool, { blockNumber: end }, signal);
      if (toBlock === undefined) {
        throw new FollowerError(`${chainKey}: final block ${end} is missing on the node`, {
          chainKey,
        });
      }
      const inconsistent =
        (tagBlock !== undefined && end === tagBlock.number && tagBlock.hash !== toBlock.hash) ||
        logs.some((l) => l.blockNumber === end && l.blockHash !== toBlock.hash);
      if (inconsistent) {
        throw new FollowerError(`${chainKey}: the node's answers for final block ${end} disagree`, {
          chainKey,
        });
      }
      const full = await withTimestamps(logs, toBlock, signal);
      log.info({ chainKey, from: start, to: end, logs: full.length }, "backfilled final blocks");
      yield [commit({ type: "backfill", from: start, to: end, logs: full, toBlock })];
      start = end + 1n;
      accepted += 1;
      if (logRange < maxLogRange && accepted >= RANGE_GROWTH_AFTER) {
        logRange = min(maxLogRange, logRange * 2n);
        accepted = 0;
      }
    }
  }

  /**
   * The steady state: one call for the block after the tip (absent: nothing new, the head check
   * cost one call), and on a new block one eth_getLogs by its hash. Returns the delay before the
   * next pass.
   */
  async function* probe(
    tip: BlockRef,
    signal?: AbortSignal,
    pushed?: { block: BlockHeader; at: number },
  ): AsyncGenerator<FollowerEvent[], number> {
    const askedAt = pushed?.at ?? Date.now();
    const block =
      pushed?.block ?? (await getBlockHeader(pool, { blockNumber: tip.number + 1n }, signal));
    if (block === undefined) {
      missedAt = askedAt;
      parameters.onHead?.(tip);
      return nextProbeDelay(false);
    }
    parameters.onHead?.(block);
    parameters.metrics?.head(block.number);
    if (block.parentHash !== tip.hash) {
      probing = false;
      return (yield* reorg(signal)) ? 0 : pollingIntervalMs;
    }
    const tagBlock =
      typeof confirmations === "string"
        ? await getBlockRef(pool, { blockTag: confirmations }, signal)
        : undefined;
    const logs = await blockLogs(block, signal);
    learnArrival(askedAt);
    yield groupWithFinal(block, logs, tagBlock);
    const interval = blockIntervalMs();
    // Found a block older than the rhythm allows: the follower fell behind (a slow consumer, a
    // lagging node); a full pass decides between catching up block by block and a backfill.
    if (interval !== undefined && Number(block.timestamp) * 1000 < askedAt - interval - 1000) {
      probing = false;
      return 0;
    }
    return nextProbeDelay(true);
  }

  /** A `block` event and, when it brought a block to the policy, the `finalize` that follows. */
  function groupWithFinal(
    block: BlockHeader,
    logs: RawTransferLog[],
    tagBlock: BlockRef | undefined,
  ): FollowerEvent[] {
    const group: FollowerEvent[] = [
      commit({
        type: "block",
        block: toBlockRef(block),
        // The header's timestamp, so every log of a block carries the same one.
        logs: logs.map((l) => ({ ...l, blockTimestamp: block.timestamp })),
      }),
    ];
    const final = newlyFinal(tagBlock);
    if (final !== undefined) group.push(commit({ type: "finalize", block: final }));
    return group;
  }

  async function* pass(signal?: AbortSignal): AsyncGenerator<FollowerEvent[], number> {
    const tip = followerTip(state);
    const head = pushedHeads.shift();
    if (head !== undefined && probing && tip !== undefined) {
      // Pushed over the websocket: the header is here, only its logs cost a call.
      if (head.block.number === tip.number + 1n) return yield* probe(tip, signal, head);
      const ours =
        head.block.number === state.finalized?.number
          ? state.finalized
          : windowBlockAt(head.block.number);
      if (head.block.number <= tip.number && ours?.hash === head.block.hash) return 0;
      // A gap (missed heads) or another fork: a full pass sorts it out.
      probing = false;
    }
    // A block this late may never come on this fork: the chain may have switched forks without
    // growing, which only the `latest` header shows. So every third look is a full pass.
    if (
      probing &&
      tip !== undefined &&
      misses % FULL_PASS_EVERY_MISSES !== FULL_PASS_EVERY_MISSES - 1
    )
      return yield* probe(tip, signal);
    const askedAt = Date.now();
    const again = yield* poll(signal);
    if (again) return 0;
    const tipAfter = followerTip(state);
    if (probing && tipAfter?.hash === tip?.hash) return nextProbeDelay(false);
    // The rhythm's own full pass (every third look while a block is late) that found just the
    // next block, now the head: a look like the others, so the rhythm learns from it. Starting
    // over here made every miss during the phase search cost a new phase search.
    if (
      probing &&
      tip !== undefined &&
      tipAfter?.parentHash === tip.hash &&
      tipAfter.number === lastHead?.number
    ) {
      learnArrival(askedAt);
      return nextProbeDelay(true);
    }
    probing = true;
    missedAt = undefined;
    phaseKnown = false;
    arrivedBy =
      tipAfter !== undefined && tipAfter.number === lastHead?.number ? askedAt : undefined;
    return nextProbeDelay(true);
  }

  let lastHead: BlockHeader | undefined;

  /** A full pass; returns true when another pass should follow at once (after a reorg or backfill). */
  async function* poll(signal?: AbortSignal): AsyncGenerator<FollowerEvent[], boolean> {
    const head = await getBlockHeader(pool, { blockTag: "latest" }, signal);
    lastHead = head;
    if (head === undefined) throw new FollowerError(`${chainKey}: no latest block`, { chainKey });
    parameters.onHead?.(head);
    parameters.metrics?.head(head.number);
    const tagBlock =
      typeof confirmations === "string"
        ? await getBlockRef(pool, { blockTag: confirmations }, signal)
        : undefined;
    const finalHead =
      typeof confirmations === "number"
        ? head.number - BigInt(confirmations) + 1n
        : (tagBlock?.number ?? -1n);

    // A policy that became stricter or looser since the state was saved takes effect at once.
    const pending = newlyFinal(tagBlock);
    if (pending !== undefined) yield [commit({ type: "finalize", block: pending })];

    const tip = followerTip(state);
    const next = tip === undefined ? (parameters.startBlock ?? head.number) : tip.number + 1n;

    if (finalHead - next + 1n >= backfillThreshold) {
      const windowTip = state.window.at(-1);
      if (windowTip !== undefined) {
        // The window was read while unfinalised; jump past it only once it is known canonical.
        if (!(await isCanonical(windowTip, signal))) return yield* reorg(signal);
        yield [commit({ type: "finalize", block: windowTip })];
      } else if (state.finalized !== undefined && !(await isCanonical(state.finalized, signal))) {
        return yield* deepReorg(state.finalized, signal);
      }
      yield* backfill(next, finalHead, tagBlock, signal);
      return true;
    }

    if (head.number < next) {
      // Nothing new, or the chain switched forks without growing (or the node is behind us).
      if (tip === undefined || head.hash === tip.hash) return false;
      const ours =
        head.number === state.finalized?.number ? state.finalized : windowBlockAt(head.number);
      if (ours === undefined || ours.hash === head.hash) return false;
      return yield* reorg(signal);
    }

    let parent = tip;
    for (let n = next; n <= head.number; n++) {
      if (signal?.aborted) return false;
      const block =
        n === head.number ? head : await getBlockHeader(pool, { blockNumber: n }, signal);
      // Behind the head we were told about: a lagging node after failover. Try again next poll.
      if (block === undefined) return false;
      if (parent !== undefined && block.parentHash !== parent.hash) return yield* reorg(signal);
      const logs = await blockLogs(block, signal);
      yield groupWithFinal(block, logs, tagBlock);
      parent = block;
    }
    return false;
  }

  return {
    getState: () => ({ window: [...state.window], finalized: state.finalized }),

    async *events(signal?: AbortSignal) {
      for await (const group of this.batches(signal)) yield* group;
    },

    async *batches(signal?: AbortSignal) {
      if (running) throw new Error(`${chainKey}: this follower's events() is already running`);
      running = true;
      if (parameters.wsUrl !== undefined) {
        subscription = subscribeHeads({
          chainKey,
          url: parameters.wsUrl,
          log,
          retryMs: Math.min(Math.max(1000, pollingIntervalMs), 5000),
          timeoutMs: parameters.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
          onHead(block) {
            pushedHeads.push({ block, at: Date.now() });
            // A consumer this far behind is better served by one full pass.
            if (pushedHeads.length > MAX_PUSHED_HEADS) {
              pushedHeads.length = 0;
              probing = false;
            }
            wake?.();
          },
          onState(up) {
            if (up) return;
            // Heads pushed before a drop may be followed by a gap: poll from now on.
            pushedHeads.length = 0;
            wake?.();
          },
        });
      }
      try {
        assertFollowerState(chainKey, state);
        let failures = 0;
        while (!signal?.aborted) {
          let delay: number;
          try {
            delay = yield* pass(signal);
            if (failures > 0) log.info({ chainKey, failures }, "block follower recovered");
            failures = 0;
            parameters.onPoll?.({ ok: true });
          } catch (error) {
            if (signal?.aborted) return;
            failures += 1;
            probing = false;
            parameters.onPoll?.({ ok: false, error });
            const retryInMs = Math.min(
              maxRetryDelayMs,
              pollingIntervalMs * 2 ** Math.min(failures - 1, 16),
            );
            log.warn(
              {
                chainKey,
                error: describeError(error),
                errorName: errorName(error),
                failures,
                retryInMs,
              },
              "block follower poll failed; retrying",
            );
            await sleep(retryInMs, signal);
            continue;
          }
          const pause = pauseAfter(delay);
          if (pause > 0) await waitForHead(pause, signal);
        }
      } finally {
        subscription?.close();
        subscription = undefined;
        pushedHeads.length = 0;
        running = false;
      }
    },
  };
}

function validate(
  parameters: CreateBlockFollowerParameters,
  maxLogRange: bigint,
  backfillThreshold: bigint,
): void {
  const { chainKey, confirmations } = parameters;
  const fail = (message: string) => {
    throw new FollowerError(`${chainKey}: ${message}`, { chainKey });
  };
  if (typeof confirmations === "number") {
    if (!Number.isInteger(confirmations) || confirmations < 1) {
      fail(`confirmations must be a whole number of at least 1, got ${confirmations}`);
    }
  } else if (confirmations !== "safe" && confirmations !== "finalized") {
    fail(
      `confirmations must be a block count, "safe" or "finalized", got ${String(confirmations)}`,
    );
  }
  if (!(parameters.pollingIntervalMs > 0)) fail("pollingIntervalMs must be positive");
  if (maxLogRange < 1n) fail("maxLogRange must be at least 1");
  if (backfillThreshold < 1n) fail("backfillThreshold must be at least 1");
  if (parameters.rpcUrls.length === 0) fail("at least one RPC URL is needed");
  if (parameters.startBlock !== undefined && parameters.startBlock < 0n) {
    fail("startBlock must not be negative");
  }
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
