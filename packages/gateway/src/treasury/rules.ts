// What the treasury owes, as pure decisions: which transfers are refunded (and why), how a
// collection splits into the merchant's part and the operator's fee, when a refund is complete,
// and how much native coin a deposit address needs. The treasury service does the I/O.

import type { PaymentStatus } from "../payments/lifecycle/decide.ts";
import { validationError } from "../platform/errors.ts";

export const MAX_FEE_BPS = 10_000;

export type RefundKind = "insufficient" | "late";

export interface TreasuryTransfer {
  chainId: string;
  txHash: string;
  logIndex: number;
  from: string;
  amount: bigint;
  minedAt: Date;
  confirmed: boolean;
}

export const transferKey = (t: { chainId: string; txHash: string; logIndex: number }) =>
  `${t.chainId}:${t.txHash.toLowerCase()}:${t.logIndex}`;

/**
 * The transfers to refund now, each once (`refunded` holds transferKey()s already decided):
 * - a confirmed transfer mined after the deadline is late, whatever the status: never credited;
 * - on an insufficient intent every confirmed on-time transfer goes back in full.
 * Nothing is decided while the intent is pending: its on-time transfers may still complete it.
 */
export function refundsDue(
  intent: { status: PaymentStatus; deadline: Date },
  transfers: readonly TreasuryTransfer[],
  refunded: ReadonlySet<string>,
): Array<{ transfer: TreasuryTransfer; kind: RefundKind }> {
  if (intent.status === "pending") return [];
  const insufficient =
    intent.status === "insufficient_not_refunded" || intent.status === "insufficient_refunded";
  const due: Array<{ transfer: TreasuryTransfer; kind: RefundKind }> = [];
  for (const t of transfers) {
    if (!t.confirmed || t.amount <= 0n || refunded.has(transferKey(t))) continue;
    if (t.minedAt.getTime() > intent.deadline.getTime()) due.push({ transfer: t, kind: "late" });
    else if (insufficient) due.push({ transfer: t, kind: "insufficient" });
  }
  return due;
}

export function assertFeeBps(bps: number): number {
  if (!Number.isInteger(bps) || bps < 0 || bps > MAX_FEE_BPS) {
    throw validationError("fee_bps", `must be a whole number of basis points, 0-${MAX_FEE_BPS}`);
  }
  return bps;
}

/**
 * Splits a received amount (base units) into what the treasury gets (`aggregated`) and the
 * operator's fee. With a fee, the merchant's part is received minus fee_bps, rounded down to
 * `quoteDecimals` (the precision amounts are quoted in), and the fee takes the remainder: 2.53
 * at 100 bps is 2.50 aggregated and 0.03 fee, as in the reference. Without a fee nothing is kept.
 */
export function splitCollection(
  received: bigint,
  feeBps: number,
  tokenDecimals: number,
  quoteDecimals: number,
): { aggregated: bigint; fee: bigint } {
  assertFeeBps(feeBps);
  if (received < 0n) throw new RangeError("received amount is negative");
  if (feeBps === 0) return { aggregated: received, fee: 0n };
  const afterFee = (received * BigInt(MAX_FEE_BPS - feeBps)) / BigInt(MAX_FEE_BPS);
  const quantum =
    10n ** BigInt(Math.max(0, tokenDecimals - Math.min(quoteDecimals, tokenDecimals)));
  const aggregated = afterFee - (afterFee % quantum);
  return { aggregated, fee: received - aggregated };
}

export interface RefundRecord {
  kind: RefundKind;
  amount: bigint;
  state: "pending" | "submitted" | "confirmed" | "failed";
  txHash: string | null;
}

/**
 * What the refunds (in the order they were decided) amount to. The insufficient payment counts as
 * refunded once every one of its refunds is confirmed; refund_tx_hash is the last of them.
 */
export function summariseRefunds(refunds: readonly RefundRecord[]): {
  insufficient: { complete: boolean; amount: bigint; lastTxHash: string | null };
  late: { amount: bigint; lastTxHash: string | null };
} {
  const sum = (kind: RefundKind) => {
    const confirmed = refunds.filter((r) => r.kind === kind && r.state === "confirmed");
    return {
      amount: confirmed.reduce((s, r) => s + r.amount, 0n),
      lastTxHash: confirmed.at(-1)?.txHash ?? null,
    };
  };
  const mine = refunds.filter((r) => r.kind === "insufficient");
  return {
    insufficient: {
      complete: mine.length > 0 && mine.every((r) => r.state === "confirmed"),
      ...sum("insufficient"),
    },
    late: sum("late"),
  };
}

/**
 * Native coin (wei) to send so a balance covers `gasLimit` at `maxFeePerGas`, plus headroom for
 * the fee rising before the transaction is signed or being raised by a replacement. 0: enough.
 */
export function gasTopUpAmount(
  balance: bigint,
  gasLimit: bigint,
  maxFeePerGas: bigint,
  headroomPercent: number,
): bigint {
  const need = (gasLimit * maxFeePerGas * BigInt(100 + headroomPercent)) / 100n;
  return balance >= need ? 0n : need - balance;
}

/** The minimum a deposit address must hold to send at `maxFeePerGas` (no headroom). */
export function gasCovered(balance: bigint, gasLimit: bigint, maxFeePerGas: bigint): boolean {
  return balance >= gasLimit * maxFeePerGas;
}
