import {
  BaseError,
  ExecutionRevertedError,
  FeeCapTooLowError,
  InsufficientFundsError,
  NonceTooLowError,
  RpcRequestError,
} from "viem";
import { getNodeError } from "viem/utils";

/** What went wrong with a transaction, in the categories the manager acts on. */
export type TxErrorKind =
  /**
   * The nonce is taken: by this very transaction (the node already has it, or it is mined: find
   * its receipt) or by another one sent with the same key. viem folds the node's "already known"
   * into this one, and the manager treats both alike.
   */
  | "nonce_too_low"
  /** The fee is below what the node accepts, or below the pending version's: raise it. */
  | "underpriced"
  /** The sender cannot pay value + gas: an operator has to fund it. */
  | "insufficient_funds"
  /** The call reverts (at estimation) or reverted (on chain). */
  | "reverted"
  /** The node did not answer or answered with something else: try again later. */
  | "rpc";

const TYPED: Array<[abstract new (...args: never[]) => BaseError, TxErrorKind]> = [
  [NonceTooLowError, "nonce_too_low"],
  [FeeCapTooLowError, "underpriced"],
  [InsufficientFundsError, "insufficient_funds"],
  [ExecutionRevertedError, "reverted"],
];

/**
 * Node answers that viem leaves as UnknownNodeError: anvil's and geth's "(replacement)
 * transaction underpriced", and other clients' wordings of the same two cases. Matched on the
 * node's own message, since there is no typed error or distinct RPC code to go by.
 */
const UNTYPED: Array<[TxErrorKind, RegExp]> = [
  ["underpriced", /underpriced|fee ?too ?low|tip too low|gas price too low/i],
  ["nonce_too_low", /known transaction|already exists/i],
];

/**
 * Classifies an RPC or viem error by viem's typed node errors. estimateGas already hands back
 * the node's answer as one (through getNodeError); sendRawTransaction hands back the bare RPC
 * error, so it goes through getNodeError here. Transport failures (HttpRequestError,
 * TimeoutError) and anything else are "rpc": worth another try later.
 */
export function classifyTxError(error: unknown): { kind: TxErrorKind; message: string } {
  const message = describe(error);
  if (!(error instanceof BaseError)) return { kind: "rpc", message };
  const rpc = error.walk((e) => e instanceof RpcRequestError);
  const typed =
    error.walk((e) => TYPED.some(([type]) => e instanceof type)) ??
    (rpc instanceof BaseError ? getNodeError(rpc, {}) : null);
  for (const [type, kind] of TYPED) if (typed instanceof type) return { kind, message };
  const details = rpc instanceof BaseError ? rpc.details : "";
  for (const [kind, pattern] of UNTYPED) if (pattern.test(details)) return { kind, message };
  return { kind: "rpc", message };
}

/** The error chain's messages on one line, for logs and for the operator's view. */
function describe(error: unknown): string {
  const messages: string[] = [];
  let e: unknown = error;
  for (let depth = 0; e && depth < 8; depth++) {
    if (e instanceof BaseError) messages.push(e.shortMessage, e.details ?? "");
    else if (e instanceof Error) messages.push(e.message);
    e = (e as { cause?: unknown }).cause;
  }
  // First lines only, once each: viem's messages run on with advice, and repeat the node's text
  // at every level, which would push the node's own words out of a one-line message.
  const lines = new Set(messages.map((m) => m.split("\n")[0]?.trim()).filter(Boolean));
  return [...lines].join(" | ").slice(0, 500) || String(error);
}
