import { InvalidFollowerStateError } from "./errors.ts";
import type { BlockRef, FollowerEvent, FollowerState } from "./types.ts";

/**
 * The state after `event`: what a consumer persists, in the same transaction as the event's
 * effects, and passes back as `state` on restart. The follower uses this same function, so the
 * two cannot disagree.
 *
 * A `reorg` whose ancestor lies below everything processed (it reached under the first block the
 * follower started at, before any block was final) records that ancestor as `finalized`: it is
 * the only anchor left, and without it a restart would jump to the head and leave a gap.
 */
export function applyFollowerEvent(state: FollowerState, event: FollowerEvent): FollowerState {
  switch (event.type) {
    case "block":
      return { window: [...state.window, event.block], finalized: state.finalized };
    case "reorg": {
      const ancestor = event.commonAncestor;
      const window = state.window.filter((b) => b.number <= ancestor.number);
      const anchored = window.length > 0 || state.finalized?.hash === ancestor.hash;
      return { window, finalized: anchored ? state.finalized : ancestor };
    }
    case "finalize":
      return {
        window: state.window.filter((b) => b.number > event.block.number),
        finalized: event.block,
      };
    case "backfill":
      return { window: [], finalized: event.toBlock };
  }
}

/** The highest block processed, or undefined before the first one. */
export function followerTip(state: FollowerState): BlockRef | undefined {
  return state.window.at(-1) ?? state.finalized;
}

/** Throws InvalidFollowerStateError unless the window is a hash chain right above `finalized`. */
export function assertFollowerState(chainKey: string, state: FollowerState): void {
  let previous = state.finalized;
  for (const block of state.window) {
    if (previous !== undefined) {
      if (block.number !== previous.number + 1n || block.parentHash !== previous.hash) {
        throw new InvalidFollowerStateError({
          chainKey,
          details: `block ${block.number} (${block.hash}, parent ${block.parentHash}) does not follow block ${previous.number} (${previous.hash})`,
        });
      }
    }
    previous = block;
  }
}
