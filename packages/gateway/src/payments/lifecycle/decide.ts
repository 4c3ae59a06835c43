// The payment lifecycle as a pure decision: given an intent and the transfers credited to it,
// what is its state now? No I/O here; the lifecycle service loads the facts and stores the
// answer (with the history row) in one transaction.

export const PAYMENT_STATUSES = [
  "pending",
  "success",
  "expired",
  "insufficient_not_refunded",
  "insufficient_refunded",
] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export interface LifecycleTransfer {
  txHash: string;
  logIndex: number;
  blockNumber: bigint;
  from: string;
  amount: bigint;
  /** When the block that includes it was mined. */
  minedAt: Date;
  /** Only confirmed transfers (at the chain's confirmation policy) are credited. */
  confirmed: boolean;
}

export interface LifecycleIntent {
  status: PaymentStatus;
  cryptoAmount: bigint;
  deadline: Date;
}

export interface LifecycleDecision {
  status: PaymentStatus;
  /** Confirmed transfers mined at or before the deadline, summed. */
  receivedAmount: bigint;
  /** The transfer that completed the payment (success only). */
  completing: LifecycleTransfer | undefined;
  /** On-time amount above crypto_amount. */
  excessAmount: bigint;
  /** Confirmed transfers mined after the deadline, summed: to be refunded, never credited. */
  lateAmount: bigint;
}

/**
 * Decides an intent's status.
 * - success: on-time confirmed transfers reach crypto_amount; the one that gets there completes
 *   it, even if it was confirmed after the deadline.
 * - after the deadline plus `graceSeconds`, or after the deadline with no on-time transfer still
 *   waiting for confirmations: expired (nothing received) or insufficient_not_refunded.
 * - a status other than pending never changes here (refunds move insufficient_* on).
 */
export function decidePaymentStatus(
  intent: LifecycleIntent,
  transfers: readonly LifecycleTransfer[],
  now: Date,
  graceSeconds: number,
): LifecycleDecision {
  const ordered = [...transfers].sort(
    (a, b) =>
      (a.blockNumber < b.blockNumber ? -1 : a.blockNumber > b.blockNumber ? 1 : 0) ||
      a.logIndex - b.logIndex,
  );
  const onTime = (t: LifecycleTransfer) => t.minedAt.getTime() <= intent.deadline.getTime();
  let received = 0n;
  let late = 0n;
  let completing: LifecycleTransfer | undefined;
  for (const t of ordered) {
    if (!t.confirmed) continue;
    if (!onTime(t)) {
      late += t.amount;
      continue;
    }
    received += t.amount;
    if (completing === undefined && received >= intent.cryptoAmount) completing = t;
  }
  const excessAmount = received > intent.cryptoAmount ? received - intent.cryptoAmount : 0n;
  const base = { receivedAmount: received, completing, excessAmount, lateAmount: late };

  if (intent.status !== "pending") return { ...base, status: intent.status };
  if (completing) return { ...base, status: "success" };
  if (now.getTime() <= intent.deadline.getTime()) return { ...base, status: "pending" };
  const waiting = ordered.some((t) => !t.confirmed && onTime(t));
  const graceOver = now.getTime() > intent.deadline.getTime() + graceSeconds * 1000;
  if (waiting && !graceOver) return { ...base, status: "pending" };
  return { ...base, status: received === 0n ? "expired" : "insufficient_not_refunded" };
}
