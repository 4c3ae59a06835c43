export { applyFollowerEvent, assertFollowerState, followerTip } from "./apply-follower-event.ts";
export { createBlockFollower } from "./create-block-follower.ts";
export {
  FollowerError,
  InvalidFollowerStateError,
  type InvalidFollowerStateErrorType,
  LogRangeRefusedError,
  type LogRangeRefusedErrorType,
  RpcUnavailableError,
  type RpcUnavailableErrorType,
} from "./errors.ts";
export { isLogRangeError } from "./is-log-range-error.ts";
export type {
  BlockFollower,
  BlockRef,
  ConfirmationPolicy,
  CreateBlockFollowerParameters,
  FollowerEvent,
  FollowerLog,
  FollowerState,
  TransferLog,
} from "./types.ts";
