import type { components } from "../../sdk/src/openapi.d.ts";

export type PaymentStatus = components["schemas"]["PaymentStatus"];

/** No status leaves these; the page stops following. */
export function isFinalStatus(status: PaymentStatus): boolean {
  return status === "success" || status === "expired" || status === "insufficient_refunded";
}
