import { BaseError } from "viem";

/** What went wrong with a transaction, in the categories the manager acts on. */
export type TxErrorKind =
  /** The node has it already: as good as a successful broadcast. */
  | "already_known"
  /** The nonce was used: ours was mined (find its receipt) or someone else used the key. */
  | "nonce_too_low"
  /** The fee is below what the node accepts, or below the pending version's: raise it. */
  | "underpriced"
  /** The sender cannot pay value + gas: an operator has to fund it. */
  | "insufficient_funds"
  /** The call reverts (at estimation) or reverted (on chain). */
  | "reverted"
  /** The node did not answer or answered with something else: try again later. */
  | "rpc";

const PATTERNS: Array<[TxErrorKind, RegExp]> = [
  [
    "already_known",
    /already known|known transaction|already imported|ALREADY_EXISTS|tx already exists/i,
  ],
  ["nonce_too_low", /nonce too low|nonce has already been used|NONCE_EXPIRED|invalid nonce/i],
  [
    "underpriced",
    /underpriced|fee too low|max fee per gas less than block base fee|feecap|gas price too low|tip too low/i,
  ],
  ["insufficient_funds", /insufficient funds|insufficient balance|exceeds balance/i],
  ["reverted", /revert|execution reverted|invalid opcode|out of gas/i],
];

/** Classifies an RPC or viem error by its message chain (nodes word these differently). */
export function classifyTxError(error: unknown): { kind: TxErrorKind; message: string } {
  const messages: string[] = [];
  let e: unknown = error;
  for (let depth = 0; e && depth < 8; depth++) {
    if (e instanceof BaseError) messages.push(e.shortMessage, e.details ?? "");
    else if (e instanceof Error) messages.push(e.message);
    e = (e as { cause?: unknown }).cause;
  }
  const text = messages.filter(Boolean).join(" | ");
  for (const [kind, pattern] of PATTERNS)
    if (pattern.test(text)) return { kind, message: firstLine(text) };
  return { kind: "rpc", message: firstLine(text) || String(error) };
}

function firstLine(text: string): string {
  return text.split("\n")[0]?.slice(0, 500) ?? "";
}
