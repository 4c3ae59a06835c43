import type { ColumnType, Generated } from "kysely";
import type { PaymentStatus } from "../../payments/lifecycle/decide.ts";
import type { Fiat } from "../../payments/quote.ts";

// numeric columns come back from both drivers as strings; token amounts are base units.
type Numeric = ColumnType<string, string | bigint, string | bigint>;
// bigint columns: pg returns them as strings, PGlite as numbers; read through BigInt(...).
type Int8 = ColumnType<string | number, string | bigint | number, string | bigint | number>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type DefaultTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface OrganizationsTable {
  id: Generated<number>;
  name: string;
  default_chain_id: string;
  default_token_symbol: string;
  created_at: DefaultTimestamp;
}

export interface ClientsTable {
  client_id: string;
  org_id: number;
  name: string;
  allowed_origins: ColumnType<string[], string[], string[]>;
  created_at: DefaultTimestamp;
}

export interface ApiKeysTable {
  id: Generated<number>;
  org_id: number;
  name: string;
  /** sha256 of the whole secret: keys are 256-bit random, so a slow hash buys nothing. */
  secret_hash: string;
  /** first characters of the secret, so a person can tell keys apart in a list. */
  prefix: string;
  created_at: DefaultTimestamp;
  revoked_at: Timestamp | null;
}

export interface PaymentIntentsTable {
  id: string;
  org_id: number;
  client_id: string;
  payment_chain_id: string;
  payment_address: string;
  deposit_index: number;
  token_address: string;
  symbol: string;
  decimals: number;
  crypto_amount: Numeric;
  fiat_amount: string;
  fiat_currency: Fiat;
  rate: string;
  rate_source: string;
  payment_deadline: Timestamp;
  status: PaymentStatus;
  payment_tx_hash: string | null;
  payment_tx_timestamp: Timestamp | null;
  payer_address: string | null;
  received_amount: Numeric | null;
  refund_tx_hash: string | null;
  refund_amount: Numeric | null;
  aggregated_amount: Numeric | null;
  aggregation_tx_hash: string | null;
  /** On-time payments above crypto_amount (an overpayment). */
  excess_amount: Numeric | null;
  /** Payments mined after the deadline: recorded, handed to refunds, never change the status. */
  late_amount: Numeric | null;
  /** `json`, not `jsonb`: the merchant's text is returned byte for byte, key order included. */
  order_data: ColumnType<unknown, string | null, string | null> | null;
  callback_url: string | null;
  group_key: string | null;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

export interface PaymentIntentStatusHistoryTable {
  id: Generated<number>;
  payment_intent_id: string;
  from_status: PaymentStatus | null;
  to_status: PaymentStatus;
  cause: string;
  created_at: DefaultTimestamp;
}

export interface ChainBlocksTable {
  chain_id: string;
  number: Int8;
  hash: string;
  parent_hash: string;
  timestamp: Int8;
  finalized: ColumnType<boolean, boolean | undefined, boolean>;
}

export type TransferState = "seen" | "confirmed" | "orphaned";

export interface TransfersTable {
  chain_id: string;
  tx_hash: string;
  log_index: number;
  token_address: string;
  from_address: string;
  to_address: string;
  amount: Numeric;
  block_number: Int8;
  block_hash: string;
  block_timestamp: Timestamp;
  state: TransferState;
  payment_intent_id: string;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

export interface WebhookSecretsTable {
  id: Generated<number>;
  org_id: number;
  secret: string;
  created_at: DefaultTimestamp;
  expires_at: Timestamp | null;
}

export type CallbackState = "pending" | "delivered" | "failed";

export interface CallbackEventsTable {
  id: string;
  position: Generated<Int8>;
  payment_intent_id: string;
  org_id: number;
  /** The intent status this event reports. */
  status: PaymentStatus;
  url: string;
  /** The exact bytes sent: every attempt (and a resend) signs and sends the same body. */
  body: string;
  state: ColumnType<CallbackState, CallbackState | undefined, CallbackState>;
  /** Attempts since the run (first delivery or resend) started: the backoff's exponent. */
  run_attempts: ColumnType<number, number | undefined, number>;
  /** The 3-day retry window counts from here. */
  run_started_at: Timestamp;
  next_attempt_at: Timestamp;
  /** A worker's lease while it delivers; a crashed worker's lease runs out and another retries. */
  locked_until: Timestamp | null;
  last_error: string | null;
  created_at: Timestamp;
  delivered_at: Timestamp | null;
  failed_at: Timestamp | null;
}

export type CallbackOutcome = "delivered" | "retry" | "failed";

export interface CallbackAttemptsTable {
  id: Generated<Int8>;
  event_id: string;
  attempted_at: Timestamp;
  duration_ms: number;
  http_status: number | null;
  outcome: CallbackOutcome;
  error: string | null;
  response_excerpt: string | null;
}

export interface ChainSendersTable {
  chain_id: string;
  sender: string;
  next_nonce: Int8;
}

export type ChainTxState = "signed" | "broadcast" | "mined" | "confirmed" | "failed";
export type ChainTxPurpose =
  | "payout"
  | "refund"
  | "collection"
  | "fee"
  | "gas_topup"
  | "sweep_batch"
  | "deploy_sweeper";

export interface ChainTxsTable {
  id: Generated<number>;
  idempotency_key: string;
  purpose: ChainTxPurpose;
  chain_id: string;
  sender: string;
  nonce: Int8;
  to_address: string;
  value: Numeric;
  data: string;
  gas_limit: Numeric;
  max_fee_per_gas: Numeric;
  max_priority_fee_per_gas: Numeric;
  /** The current signed version's hash (a replacement changes it). */
  tx_hash: string;
  raw_tx: string;
  state: ChainTxState;
  /** The head when it was (last) broadcast: how long it has waited, for replacement. */
  broadcast_block: Int8 | null;
  block_number: Int8 | null;
  block_hash: string | null;
  gas_used: Numeric | null;
  effective_gas_price: Numeric | null;
  error_kind: string | null;
  error: string | null;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

export interface ChainTxAttemptsTable {
  id: Generated<Int8>;
  chain_tx_id: number;
  tx_hash: string;
  raw_tx: string;
  max_fee_per_gas: Numeric;
  max_priority_fee_per_gas: Numeric;
  created_at: DefaultTimestamp;
}

/** migrations/2026-11-27-leases.ts: who runs a single job (platform/lease.ts). */
export interface LeasesTable {
  name: string;
  holder: string;
  until: Timestamp;
  /** The fencing token: raised on every takeover, never on a renewal. */
  token: Int8;
}

// ---- Transfers (withdrawals) and risk limits: migrations/2026-11-25-payouts.ts ----

/** One transfer from an organisation's hot wallet; reserved before its chain transaction exists. */
export interface PayoutsTable {
  /** "<org>-<unix time>-<sequence>", the reference's transfer id. */
  id: string;
  org_id: number;
  seq: number;
  /** null for a withdrawal made in Studio (its `withdrawals` row names the person). */
  api_key_id: number | null;
  chain_id: string;
  token_address: string;
  symbol: string;
  decimals: number;
  amount: Numeric;
  from_address: string;
  to_address: string;
  idempotency_key: string | null;
  /** sha256 of the normalised request: the same Idempotency-Key with another body is refused. */
  request_hash: string;
  chain_tx_id: Int8 | null;
  created_at: Timestamp;
}

// The risk-limit columns, merged into the tables declared above (TypeScript merges interfaces):
// decimal token amounts, null = no limit.
export interface OrganizationsTable {
  max_transfer_amount: ColumnType<string | null, string | null | undefined, string | null>;
  daily_transfer_cap: ColumnType<string | null, string | null | undefined, string | null>;
  last_payout_seq: ColumnType<number, number | undefined, number>;
}

export interface ApiKeysTable {
  max_transfer_amount: ColumnType<string | null, string | null | undefined, string | null>;
  daily_transfer_cap: ColumnType<string | null, string | null | undefined, string | null>;
}

// ---- end of transfers ----

export interface Database {
  payouts: PayoutsTable;
  leases: LeasesTable;
  chain_senders: ChainSendersTable;
  chain_txs: ChainTxsTable;
  chain_tx_attempts: ChainTxAttemptsTable;
  webhook_secrets: WebhookSecretsTable;
  callback_events: CallbackEventsTable;
  callback_attempts: CallbackAttemptsTable;
  chain_blocks: ChainBlocksTable;
  transfers: TransfersTable;
  organizations: OrganizationsTable;
  clients: ClientsTable;
  api_keys: ApiKeysTable;
  payment_intents: PaymentIntentsTable;
  payment_intent_status_history: PaymentIntentStatusHistoryTable;
}

// ---- Treasury (refunds, collections, gas top-ups): migration 2026-11-26-treasury. ----
// Declared as interface extensions so this block stays apart from the tables above.

export interface OrganizationsTable {
  /** Where successful payments are collected; null: collections wait until one is set. */
  treasury_address: string | null;
  /** The operator's fee on each collection, in basis points. */
  fee_bps: ColumnType<number, number | undefined, number>;
}

export interface PaymentIntentsTable {
  /** Confirmed refunds of late payments, summed (the status does not change for them). */
  late_refund_amount: Numeric | null;
  late_refund_tx_hash: string | null;
}

export type RefundKind = "insufficient" | "late";
export type RefundState = "pending" | "submitted" | "confirmed" | "failed";

export interface RefundsTable {
  id: Generated<Int8>;
  payment_intent_id: string;
  /** The refunded transfer. */
  chain_id: string;
  tx_hash: string;
  log_index: number;
  kind: RefundKind;
  token_address: string;
  /** The deposit address the refund is sent from. */
  from_address: string;
  /** The refunded transfer's sender. */
  to_address: string;
  amount: Numeric;
  chain_tx_id: Int8 | null;
  state: ColumnType<RefundState, RefundState | undefined, RefundState>;
  error: string | null;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

export type CollectionState = "waiting_treasury" | "pending" | "submitted" | "confirmed" | "failed";

export interface CollectionsTable {
  id: Generated<Int8>;
  payment_intent_id: string;
  chain_id: string;
  token_address: string;
  from_address: string;
  treasury_address: string | null;
  fee_address: string | null;
  /** To the treasury: the intent's aggregated_amount. */
  amount: Numeric | null;
  fee: Numeric | null;
  chain_tx_id: Int8 | null;
  fee_chain_tx_id: Int8 | null;
  state: CollectionState;
  error: string | null;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

export interface GasTopupsTable {
  id: Generated<Int8>;
  chain_tx_id: Int8;
  chain_id: string;
  deposit_address: string;
  /** Idempotency key of the token transfer this top-up pays for. */
  for_key: string;
  funded_chain_tx_id: Int8 | null;
  /** Native coin sent, in wei. */
  amount: Numeric;
  /** gas used x effective price of the top-up itself, once mined. */
  topup_cost: Numeric | null;
  /** gas used x effective price of the token transfer it funded, once mined. */
  transfer_cost: Numeric | null;
  created_at: DefaultTimestamp;
}

export interface TreasuryWorkTable {
  payment_intent_id: string;
  next_attempt_at: Timestamp;
  /** Moved on every enqueue: a worker finishing an older claim leaves newer work in place. */
  enqueued_at: Timestamp;
  locked_until: Timestamp | null;
  attempts: ColumnType<number, number | undefined, number>;
  last_error: string | null;
  created_at: DefaultTimestamp;
}

export interface Database {
  refunds: RefundsTable;
  collections: CollectionsTable;
  gas_topups: GasTopupsTable;
  treasury_work: TreasuryWorkTable;
}

// ---- Per-client callback hosts: migration 2026-11-27-limits. ----

export interface ClientsTable {
  /** Hosts a browser create may send callback_url to; '*' any, empty none. */
  allowed_callback_hosts: ColumnType<string[], string[] | undefined, string[]>;
}

// ---- Deep reorgs and chain health: migration 2026-11-27-reorg-recovery. ----

export interface PaymentIntentsTable {
  /** When a confirmed transfer credited to the decided intent vanished in a deep reorg. */
  reversed_at: Timestamp | null;
  reversal_reason: string | null;
}

export interface GatewayEventsTable {
  id: Generated<Int8>;
  /** e.g. `payment.reversed`. */
  type: string;
  chain_id: string | null;
  payment_intent_id: string | null;
  data: ColumnType<Record<string, unknown>, string | undefined, never>;
  created_at: DefaultTimestamp;
}

export interface ChainStatusTable {
  chain_id: string;
  head_number: Int8 | null;
  processed_number: Int8 | null;
  finalized_number: Int8 | null;
  /** The follower's last successful read of the node's head. */
  polled_at: Timestamp | null;
  /** When the processed block last changed. */
  progressed_at: Timestamp | null;
  /** Set while polls fail; null once one succeeds. */
  failing_since: Timestamp | null;
  last_error: string | null;
  reorgs: ColumnType<
    string | number,
    string | number | bigint | undefined,
    string | number | bigint
  >;
  deep_reorgs: ColumnType<
    string | number,
    string | number | bigint | undefined,
    string | number | bigint
  >;
  updated_at: DefaultTimestamp;
}

export interface Database {
  gateway_events: GatewayEventsTable;
  chain_status: ChainStatusTable;
}

// ---- Studio's accounts: migrations/2026-11-27-studio-accounts.ts ----

export type OrgRole = "owner" | "admin" | "developer" | "viewer";

export interface UsersTable {
  id: Generated<number>;
  /** Lower-cased. */
  email: string;
  name: ColumnType<string, string | undefined, string>;
  /** argon2id, PHC string. */
  password_hash: string;
  is_operator: ColumnType<boolean, boolean | undefined, boolean>;
  totp_secret: string | null;
  totp_enabled_at: Timestamp | null;
  created_at: DefaultTimestamp;
  disabled_at: Timestamp | null;
}

export interface MembershipsTable {
  org_id: number;
  user_id: number;
  role: OrgRole;
  created_at: DefaultTimestamp;
}

export interface StudioSessionsTable {
  /** sha256 (hex) of the cookie's token. */
  id: string;
  user_id: number;
  csrf_token: string;
  created_at: DefaultTimestamp;
  last_seen_at: DefaultTimestamp;
  /** The absolute expiry; the idle one is last_seen_at + the idle timeout. */
  expires_at: Timestamp;
  revoked_at: Timestamp | null;
  ip: string | null;
  user_agent: string | null;
}

export interface InvitationsTable {
  /** sha256 (hex) of the link's token. */
  id: string;
  org_id: number;
  email: string;
  role: OrgRole;
  invited_by: number | null;
  created_at: DefaultTimestamp;
  expires_at: Timestamp;
  accepted_at: Timestamp | null;
  accepted_by: number | null;
  revoked_at: Timestamp | null;
}

export interface LoginFailuresTable {
  key: string;
  failures: ColumnType<number, number | undefined, number>;
  first_failed_at: DefaultTimestamp;
  locked_until: Timestamp | null;
}

export interface AuditLogTable {
  id: Generated<Int8>;
  org_id: number | null;
  actor_user_id: number | null;
  /** Who, readable: the user's email, or "cli". */
  actor: string;
  /** e.g. `api_key.created`. */
  action: string;
  target: string | null;
  before: ColumnType<unknown, string | null | undefined, never> | null;
  after: ColumnType<unknown, string | null | undefined, never> | null;
  ip: string | null;
  created_at: DefaultTimestamp;
}

export interface Database {
  users: UsersTable;
  memberships: MembershipsTable;
  studio_sessions: StudioSessionsTable;
  invitations: InvitationsTable;
  login_failures: LoginFailuresTable;
  audit_log: AuditLogTable;
}

// ---- The operator's routes: migrations/2026-11-27-studio-operator.ts ----

export interface OrganizationsTable {
  /** Set by an operator: the organisation's API keys and clients are refused (403 4065). */
  suspended_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export interface UsersTable {
  /** The last TOTP time step accepted for this user: a code is good once. */
  totp_last_step: ColumnType<string | number | null, never, string | number | bigint | null>;
}

// ---- Studio's withdrawals: migrations/2026-11-27-studio-withdrawals.ts ----

export type WithdrawalStatus = "awaiting_approval" | "rejected" | "sent";

export interface OrganizationsTable {
  /** Decimal token amount above which a Studio withdrawal needs a second member; null: never. */
  withdrawal_approval_threshold: ColumnType<
    string | null,
    string | null | undefined,
    string | null
  >;
}

export interface WithdrawalsTable {
  /** bigserial: pg returns it as a string, PGlite as a number. */
  id: Generated<string | number>;
  org_id: number;
  chain_id: string;
  token_address: string;
  symbol: string;
  decimals: number;
  amount: Numeric;
  to_address: string;
  status: WithdrawalStatus;
  requested_by: number;
  approved_by: number | null;
  rejected_by: number | null;
  reject_reason: string | null;
  decided_at: Timestamp | null;
  idempotency_key: string;
  request_hash: string;
  payout_id: string | null;
  created_at: DefaultTimestamp;
}

export interface Database {
  withdrawals: WithdrawalsTable;
}

// ---- Studio's developers, settings and payment links: migrations/2026-11-27-studio-settings.ts ----

export interface ApiKeysTable {
  /** Written at most once a minute per key. */
  last_used_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export interface OrganizationsTable {
  /** Checkout branding; null: the organisation's name, the default logo and colour. */
  display_name: ColumnType<string | null, string | null | undefined, string | null>;
  logo_url: ColumnType<string | null, string | null | undefined, string | null>;
  /** `#rrggbb`. */
  accent_color: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface PaymentLinksTable {
  id: string;
  org_id: number;
  fiat_amount: string;
  fiat_currency: Fiat;
  description: ColumnType<string, string | undefined, string>;
  reusable: boolean;
  active: ColumnType<boolean, boolean | undefined, boolean>;
  uses: ColumnType<number, number | undefined, number>;
  /** A one-time link's intent; a reusable link's latest. */
  intent_id: string | null;
  created_by: number | null;
  created_at: DefaultTimestamp;
}

export interface Database {
  payment_links: PaymentLinksTable;
}

// ---- The ledger: migrations/2026-11-28-ledger.ts (ledger/) ----

export type LedgerAccountKind =
  | "deposit"
  | "hot"
  | "gas"
  | "fee"
  | "treasury"
  | "payer"
  | "payee"
  | "funding"
  | "gas_burnt"
  | "external";

export interface LedgerAccountsTable {
  id: Generated<Int8>;
  key: string;
  kind: LedgerAccountKind;
  chain_id: string;
  /** 'native' or the token's lower-case address. */
  asset: string;
  address: string | null;
  org_id: number | null;
  payment_intent_id: string | null;
}

export interface LedgerEntriesTable {
  id: Generated<Int8>;
  ref: string;
  kind: string;
  chain_id: string;
  /** The block of the on-chain event the entry records: balances are read at a height. */
  block_number: Int8;
  tx_hash: string | null;
  org_id: number | null;
  payment_intent_id: string | null;
  memo: string;
  created_at: DefaultTimestamp;
}

export interface LedgerPostingsTable {
  id: Generated<Int8>;
  entry_id: Int8;
  account_id: Int8;
  /** Base units (wei for native), signed: what the account gains. An entry's sum is 0 per asset. */
  amount: Numeric;
}

export interface WalletDepositsTable {
  chain_id: string;
  tx_hash: string;
  log_index: number;
  token_address: string;
  from_address: string;
  to_address: string;
  amount: Numeric;
  block_number: Int8;
  block_hash: string;
  state: "seen" | "confirmed" | "orphaned";
}

export interface LedgerBackfillTable {
  done_at: Timestamp | null;
}

export interface Database {
  ledger_backfill: LedgerBackfillTable;
  ledger_accounts: LedgerAccountsTable;
  ledger_entries: LedgerEntriesTable;
  ledger_postings: LedgerPostingsTable;
  wallet_deposits: WalletDepositsTable;
}

// ---- Idempotency-Key beyond transfers: migration 2026-11-29-idempotency. ----

export interface PaymentIntentsTable {
  /** The create's Idempotency-Key (unique per organisation while set); null without one. */
  idempotency_key: ColumnType<string | null, string | null | undefined, string | null>;
  /** requestHash of the create (platform/idempotency.ts): another body under the key is a 409. */
  idempotency_request_hash: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface IdempotencyKeysTable {
  /** "org:<id>", "client:<id>" or "user:<id>": whose key it is. */
  scope: string;
  key: string;
  method: string;
  path: string;
  request_hash: string;
  state: "running" | "done";
  locked_until: Timestamp | null;
  response_status: number | null;
  response_content_type: string | null;
  response_body: string | null;
  created_at: Timestamp;
}

export interface Database {
  idempotency_keys: IdempotencyKeysTable;
}

// ---- accepted assets and the payer's choice: migrations/2026-11-29-accepted-assets.ts ----

export interface OrganizationsTable {
  /** "chain/SYMBOL" pairs; null: the default pair alone. */
  accepted_assets: ColumnType<string[] | null, string[] | null | undefined, string[] | null>;
}

export interface PaymentIntentsTable {
  /** The merchant fixed chain and token on create: the payer may not choose. */
  asset_fixed: ColumnType<boolean, boolean | undefined, boolean>;
}

export interface PaymentIntentAssetChangesTable {
  id: Generated<string | number>;
  payment_intent_id: string;
  payment_address: string;
  chain_id: string;
  token_address: string;
  symbol: string;
  decimals: number;
  crypto_amount: Numeric;
  rate: string;
  rate_source: string;
  created_at: DefaultTimestamp;
}

export interface Database {
  payment_intent_asset_changes: PaymentIntentAssetChangesTable;
}

// ---- The branded checkout: migrations/2026-11-29-checkout-branding.ts ----

export type LogoContentType = "image/png" | "image/jpeg" | "image/gif" | "image/webp";

export interface CheckoutLogosTable {
  /** Hex sha256 of `bytes`: the logo's URL is /v1/checkout/logos/<sha256>. */
  sha256: string;
  content_type: LogoContentType;
  bytes: Uint8Array;
  created_at: DefaultTimestamp;
}

export interface OrganizationsTable {
  /** The stored copy of a data: logo_url; null: no logo on the checkout. */
  logo_sha256: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface PaymentIntentsTable {
  /** Extension of create: the order summary shown on the checkout. */
  description: ColumnType<string | null, string | null | undefined, string | null>;
  /** Extension of create: where the checkout's "Back to shop" goes. */
  return_url: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface Database {
  checkout_logos: CheckoutLogosTable;
}

// ---- Merchant refunds and callback events: migration 2026-11-28-merchant-refunds. ----

export type MerchantRefundStatus = "pending" | "sent" | "confirmed" | "failed";

export interface MerchantRefundsTable {
  /** `rf_` and 24 random characters. */
  id: string;
  payment_intent_id: string;
  org_id: number;
  chain_id: string;
  token_address: string;
  /** The intent's deposit address: the refund is sent from it. */
  from_address: string;
  to_address: string;
  /** Base units of the intent's token. */
  amount: Numeric;
  idempotency_key: string | null;
  /** sha256 of the request's amount and to_address as given: a reused key must match it. */
  request_hash: string;
  /** `api_key:<id>` or `member:<account id>`. */
  requested_by: string;
  chain_tx_id: number | null;
  status: ColumnType<MerchantRefundStatus, MerchantRefundStatus | undefined, MerchantRefundStatus>;
  error: string | null;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

export interface CallbackEventsTable {
  /** null: a status change; else the event's name, as in the body's `event`. */
  event: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface OrganizationsTable {
  /** Opt-in: collection.confirmed callbacks. */
  callback_collection_events: ColumnType<boolean, boolean | undefined, boolean>;
}

export interface Database {
  merchant_refunds: MerchantRefundsTable;
}

// ---- Gasless batch sweeps (EIP-7702): migration 2026-11-30-sweeps. ----

export interface ChainTxsTable {
  /** A type-4 transaction's signed authorizations (JSON), re-signed with it when replaced. */
  authorization_list: string | null;
}

export interface SweepBatchesTable {
  id: Generated<number>;
  chain_id: string;
  /** The sweepMany transaction, once submitted (key `sweep-batch:<id>`). */
  chain_tx_id: number | null;
  /** Why it cannot be sent now (the gas wallet lacks coin): told to each member's caller. */
  error: string | null;
  created_at: DefaultTimestamp;
}

export type SweepState = "open" | "batched" | "stopped" | "confirmed" | "failed";

export interface SweepsTable {
  id: Generated<number>;
  chain_id: string;
  deposit_index: number;
  deposit_address: string;
  token_address: string;
  to_address: string;
  amount: Numeric;
  purpose: ChainTxPurpose;
  /** The caller's key: a retried transfer() finds its sweep. */
  idempotency_key: string;
  /** The caller gave a precondition: the batch is not signed without it in this process. */
  batch_id: number | null;
  /** Its position in the batch's sweepMany call (SweepResult.index), written where it is signed. */
  batch_index: number | null;
  state: SweepState;
  /** Why it failed or was stopped. */
  result: string | null;
  /** Its share of the batch's gas (wei), once settled. */
  gas_cost: Numeric | null;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

export interface Database {
  sweep_batches: SweepBatchesTable;
  sweeps: SweepsTable;
}

// ---- The list at a million intents: migrations/2026-12-01-list-indexes.ts ----

/** Each organisation's distinct group keys, kept by an insert trigger on payment_intents. */
export interface PaymentIntentGroupKeysTable {
  org_id: number;
  group_key: string;
}

export interface Database {
  payment_intent_group_keys: PaymentIntentGroupKeysTable;
}
