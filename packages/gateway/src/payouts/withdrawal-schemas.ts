import { z } from "@hono/zod-openapi";
import { pageOf } from "../http/openapi.ts";

// Studio's withdrawals on the wire (/v1/admin/orgs/{orgId}/withdrawals). The service's types are
// inferred from these.

const requiredString = (example: string, description: string) =>
  z
    .string({
      error: (issue) => (issue.input === undefined ? "is required" : "must be a string"),
    })
    .openapi({ example, description });

const TotpCode = z.string({ error: "must be a string of 6 digits" }).optional().openapi({
  example: "123456",
  description: "The member's current TOTP code; owners must give it (see docs/studio.md).",
});

export const WithdrawalRequest = z
  .object({
    chain_id: requiredString("arb", "The chain to send on."),
    token: requiredString(
      "USDT",
      "The token's symbol on that chain (USDT, USDC), or its contract address.",
    ),
    amount: requiredString("250.5", "Decimal token amount, greater than 0."),
    to_address: requiredString(
      "0x3fE5aC82B997255b8226abb6aEfd91f405fe2e8e",
      "The recipient: lower case or EIP-55 checksummed.",
    ),
  })
  .openapi("WithdrawalRequest");
export type WithdrawalRequest = z.infer<typeof WithdrawalRequest>;

export const CreateWithdrawalBody = WithdrawalRequest.extend({
  idempotency_key: requiredString(
    "b3f1c2d4-withdrawal",
    "Chosen by the client (Studio: one per form). The same key and request return the first withdrawal; another request with it is refused (409 / 4018).",
  ),
  totp_code: TotpCode,
}).openapi("CreateWithdrawal");
export type CreateWithdrawalBody = z.infer<typeof CreateWithdrawalBody>;

export const ApproveWithdrawalBody = z.object({ totp_code: TotpCode }).openapi("ApproveWithdrawal");

export const RejectWithdrawalBody = z
  .object({
    reason: requiredString("wrong recipient", "Why, for the requester and the audit log.").max(
      500,
      "must be at most 500 characters",
    ),
  })
  .openapi("RejectWithdrawal");

export const WITHDRAWAL_STATUSES = [
  "awaiting_approval",
  "rejected",
  "submitted",
  "confirmed",
  "failed",
] as const;
export type WithdrawalState = (typeof WITHDRAWAL_STATUSES)[number];

export const WithdrawalView = z
  .object({
    id: z.string().openapi({
      example: "12",
      description:
        "A Studio withdrawal's number, or an API transfer's id (`<org>-<unix time>-<sequence>`).",
    }),
    source: z.enum(["studio", "api"]),
    chain_id: z.string(),
    token: z.string().openapi({ example: "USDT" }),
    contract_address: z.string(),
    amount: z.string().openapi({ example: "250.5" }),
    to_address: z.string(),
    status: z.enum(WITHDRAWAL_STATUSES).openapi({
      description:
        "awaiting_approval and rejected: nothing was signed; then the transfer's own state: submitted, confirmed, failed.",
    }),
    requested_by: z.string().nullable().openapi({
      description: "The member's email, or `API key <name>` for an API transfer.",
    }),
    approved_by: z.string().nullable(),
    rejected_by: z.string().nullable(),
    reject_reason: z.string().nullable(),
    transfer_id: z
      .string()
      .nullable()
      .openapi({ description: "The transfer (payout) that sent it, once sent." }),
    tx_hash: z.string().nullable(),
    explorer_url: z.string().nullable(),
    error: z.string().nullable(),
    created_at: z.string().openapi({ example: "2026-11-27T10:00:00.000Z" }),
  })
  .openapi("Withdrawal");
export type WithdrawalView = z.infer<typeof WithdrawalView>;

export const WithdrawalList = pageOf(WithdrawalView).openapi("WithdrawalList");
export type WithdrawalList = z.infer<typeof WithdrawalList>;

const Problem = z.object({
  code: z.number().int(),
  message: z.string(),
  data: z.record(z.string(), z.unknown()).optional(),
});

export const WithdrawalPreview = z
  .object({
    balance: z
      .string()
      .nullable()
      .openapi({ description: "The hot wallet's token balance on chain (null: RPC down)." }),
    in_flight: z.string().openapi({ description: "Sent, not yet mined: already spoken for." }),
    fee_estimate: z
      .string()
      .nullable()
      .openapi({ description: "The most the transfer can cost in gas, in the native coin." }),
    gas_balance: z.string().nullable().openapi({ description: "The hot wallet's native coin." }),
    hot_wallet_address: z.string(),
    needs_approval: z.boolean(),
    limits: z.object({
      max_transfer_amount: z.string().nullable(),
      daily_transfer_cap: z.string().nullable(),
      withdrawal_approval_threshold: z.string().nullable(),
      sent_today: z.string().openapi({ description: "Since 00:00 UTC, every transfer counted." }),
      remaining_today: z.string().nullable(),
    }),
    problems: z.array(Problem).openapi({
      description:
        "What would refuse it now, with the code and message the create would answer; empty when it would go through.",
    }),
  })
  .openapi("WithdrawalPreview");
export type WithdrawalPreview = z.infer<typeof WithdrawalPreview>;

const LimitValue = z
  .string({ error: 'must be a decimal string like "1000.5", or null' })
  .nullable()
  .optional();

export const OrgLimits = z
  .object({
    max_transfer_amount: z.string().nullable(),
    daily_transfer_cap: z.string().nullable(),
    withdrawal_approval_threshold: z.string().nullable().openapi({
      description:
        "A Studio withdrawal above this needs a second member's approval; null: never needed.",
    }),
  })
  .openapi("OrgLimits");

export const OrgLimitsPatch = z
  .object({
    max_transfer_amount: LimitValue,
    daily_transfer_cap: LimitValue,
    withdrawal_approval_threshold: LimitValue,
  })
  .openapi("OrgLimitsPatch");
