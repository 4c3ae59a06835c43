import type { components } from "../../api/schema";

// The admin API's withdrawal shapes (payouts/withdrawal-schemas.ts on the gateway), from the
// OpenAPI document.

export type Withdrawal = components["schemas"]["Withdrawal"];
export type WithdrawalStatus = Withdrawal["status"];
export type WithdrawalRequest = components["schemas"]["WithdrawalRequest"];
export type WithdrawalPreview = components["schemas"]["WithdrawalPreview"];

/** The query key of the organisation's withdrawal lists (invalidated after each change). */
export const withdrawalsKey = (orgId: number) => ["org", orgId, "withdrawals"] as const;
