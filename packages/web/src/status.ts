export type PaymentStatus =
  | "pending"
  | "success"
  | "expired"
  | "insufficient_not_refunded"
  | "insufficient_refunded";

/** No status leaves these; the page stops following. */
export function isFinalStatus(status: PaymentStatus): boolean {
  return status === "success" || status === "expired" || status === "insufficient_refunded";
}
