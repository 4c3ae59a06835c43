/**
 * The follower's errors, viem-style: a one-line `shortMessage` fit for a log line, the full
 * `message` with details, and the underlying `cause`.
 */
export class FollowerError extends Error {
  readonly shortMessage: string;
  readonly chainKey: string;

  constructor(
    shortMessage: string,
    options: { chainKey: string; details?: string | undefined; cause?: unknown },
  ) {
    super(
      options.details ? `${shortMessage}\n\nDetails: ${options.details}` : shortMessage,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "FollowerError";
    this.shortMessage = shortMessage;
    this.chainKey = options.chainKey;
  }
}

export type RpcUnavailableErrorType = RpcUnavailableError & { name: "RpcUnavailableError" };
/** Every RPC URL failed for one call. The follower retries the whole poll with backoff. */
export class RpcUnavailableError extends FollowerError {
  readonly method: string;
  constructor(options: { chainKey: string; method: string; failures: string[]; cause: unknown }) {
    super(`${options.chainKey}: ${options.method} failed on every RPC URL`, {
      chainKey: options.chainKey,
      details: options.failures.join("; "),
      cause: options.cause,
    });
    this.name = "RpcUnavailableError";
    this.method = options.method;
  }
}

export type LogRangeRefusedErrorType = LogRangeRefusedError & { name: "LogRangeRefusedError" };
/**
 * The node refused eth_getLogs for a range (too many results, range too large). Raised to the
 * range splitter, which halves the range; it escapes the splitter only for a single block.
 */
export class LogRangeRefusedError extends FollowerError {
  constructor(options: { chainKey: string; details: string; cause: unknown }) {
    super(`${options.chainKey}: eth_getLogs range refused by the node`, options);
    this.name = "LogRangeRefusedError";
  }
}

export type InvalidFollowerStateErrorType = InvalidFollowerStateError & {
  name: "InvalidFollowerStateError";
};
/** The restored state is not a contiguous chain above its finalised block. Thrown by events(). */
export class InvalidFollowerStateError extends FollowerError {
  constructor(options: { chainKey: string; details: string }) {
    super(`${options.chainKey}: the restored follower state is inconsistent`, options);
    this.name = "InvalidFollowerStateError";
  }
}
