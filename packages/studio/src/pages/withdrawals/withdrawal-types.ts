// The admin API's withdrawal shapes (payouts/withdrawal-schemas.ts on the gateway).

export type WithdrawalStatus =
  | "awaiting_approval"
  | "rejected"
  | "submitted"
  | "confirmed"
  | "failed";

export interface Withdrawal {
  id: string;
  source: "studio" | "api";
  chain_id: string;
  token: string;
  contract_address: string;
  amount: string;
  to_address: string;
  status: WithdrawalStatus;
  requested_by: string | null;
  approved_by: string | null;
  rejected_by: string | null;
  reject_reason: string | null;
  transfer_id: string | null;
  tx_hash: string | null;
  explorer_url: string | null;
  error: string | null;
  created_at: string;
}

export interface WithdrawalRequest {
  chain_id: string;
  token: string;
  amount: string;
  to_address: string;
}

export interface WithdrawalPreview {
  balance: string | null;
  in_flight: string;
  fee_estimate: string | null;
  gas_balance: string | null;
  hot_wallet_address: string;
  needs_approval: boolean;
  limits: {
    max_transfer_amount: string | null;
    daily_transfer_cap: string | null;
    withdrawal_approval_threshold: string | null;
    sent_today: string;
    remaining_today: string | null;
  };
  problems: { code: number; message: string }[];
}

/** The query key of the organisation's withdrawal lists (invalidated after each change). */
export const withdrawalsKey = (orgId: number) => ["org", orgId, "withdrawals"] as const;
