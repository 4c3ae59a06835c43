import type { Selectable } from "kysely";
import type { ChainRegistry } from "../chain/chain-registry.ts";
import { logoPath } from "../organizations/checkout-logos.ts";
import type { PaymentIntentsTable, TransfersTable } from "../platform/database/schema.ts";
import { formatTokenAmount } from "./money.ts";
import type { CheckoutPayment, PaymentIntent } from "./schemas.ts";

// An intent row as the wire shows it, in one place: the API, the checkout page and the status
// callback all start from toPaymentIntentView, so a field cannot be formatted two ways.

export const unixSeconds = (d: Date) => Math.floor(d.getTime() / 1000);

/** The columns toPaymentIntentView reads: what a read for the API selects, and nothing more. */
export const INTENT_VIEW_COLUMNS = [
  "id",
  "payment_chain_id",
  "payment_address",
  "token_address",
  "symbol",
  "decimals",
  "crypto_amount",
  "fiat_amount",
  "fiat_currency",
  "payment_deadline",
  "status",
  "payment_tx_hash",
  "refund_tx_hash",
  "received_amount",
  "aggregated_amount",
  "refund_amount",
  "order_data",
  "callback_url",
  "group_key",
  "client_id",
  "org_id",
  "payer_address",
  "payment_tx_timestamp",
  "aggregation_tx_hash",
  "excess_amount",
  "late_amount",
  "late_refund_amount",
  "late_refund_tx_hash",
  "description",
  "return_url",
] as const satisfies readonly (keyof PaymentIntentsTable)[];

export type IntentViewRow = Pick<
  Selectable<PaymentIntentsTable>,
  (typeof INTENT_VIEW_COLUMNS)[number]
>;

/** The API's payment intent: the reference's fields first, in its order. */
export function toPaymentIntentView(row: IntentViewRow): PaymentIntent {
  const amount = (v: string | null) =>
    v === null ? null : formatTokenAmount(BigInt(v), row.decimals);
  return {
    payment_intent_id: row.id,
    payment_chain_id: row.payment_chain_id,
    payment_address: row.payment_address,
    token_address: row.token_address,
    symbol: row.symbol,
    decimals: row.decimals,
    crypto_amount: formatTokenAmount(BigInt(row.crypto_amount), row.decimals),
    fiat_amount: row.fiat_amount,
    fiat_currency: row.fiat_currency,
    payment_deadline: unixSeconds(row.payment_deadline),
    status: row.status,
    payment_tx_hash: row.payment_tx_hash,
    refund_tx_hash: row.refund_tx_hash,
    received_amount: amount(row.received_amount),
    aggregated_amount: amount(row.aggregated_amount),
    refund_amount: amount(row.refund_amount),
    order_data: (row.order_data ?? null) as Record<string, unknown> | null,
    callback_url: row.callback_url,
    group_key: row.group_key,
    client_id: row.client_id,
    org_id: row.org_id,
    payer_address: row.payer_address,
    payment_tx_timestamp: row.payment_tx_timestamp ? unixSeconds(row.payment_tx_timestamp) : null,
    aggregation_tx_hash: row.aggregation_tx_hash,
    excess_amount: amount(row.excess_amount),
    late_amount: amount(row.late_amount),
    late_refund_amount: amount(row.late_refund_amount),
    late_refund_tx_hash: row.late_refund_tx_hash,
    description: row.description ?? null,
    return_url: row.return_url ?? null,
  };
}

/** How long after the deadline the checkout keeps watching an unpaid or underpaid payment. */
export const LATE_WATCH_SECONDS = 30 * 60;

/** What the checkout shows beside the intent: its merchant and its confirmed transfers. */
export interface CheckoutContext {
  merchant: {
    name: string;
    display_name: string | null;
    logo_sha256: string | null;
    accent_color: string | null;
  };
  /** Confirmed transfers of the intent, oldest first. */
  transfers: Pick<
    Selectable<TransfersTable>,
    "tx_hash" | "log_index" | "amount" | "block_timestamp"
  >[];
}

/**
 * Whether the payer's page should keep following the payment: it is open, a refund is under
 * way, or (unpaid or underpaid) a payment sent too late may still arrive and must be shown.
 */
export function isCheckoutLive(row: Selectable<PaymentIntentsTable>, at: Date): boolean {
  if (row.status === "pending" || row.status === "insufficient_not_refunded") return true;
  const late = BigInt(row.late_amount ?? "0");
  if (late > 0n && BigInt(row.late_refund_amount ?? "0") < late) return true;
  if (row.status === "success") return false;
  return at.getTime() < row.payment_deadline.getTime() + LATE_WATCH_SECONDS * 1000;
}

/** The checkout page's view (see the CheckoutPayment schema for what it leaves out and why). */
export function toCheckoutPaymentView(
  row: Selectable<PaymentIntentsTable>,
  chains: ChainRegistry,
  at: Date,
  context: CheckoutContext,
): CheckoutPayment {
  const view = toPaymentIntentView(row);
  // A chain removed from the configuration since the intent was made still gets a page.
  const chain = chains.list().find((c) => c.key === row.payment_chain_id);
  return {
    payment_intent_id: view.payment_intent_id,
    status: view.status,
    fiat_amount: view.fiat_amount,
    fiat_currency: view.fiat_currency,
    crypto_amount: view.crypto_amount,
    crypto_amount_base: BigInt(row.crypto_amount).toString(),
    symbol: view.symbol,
    decimals: view.decimals,
    token_address: view.token_address,
    payment_address: view.payment_address,
    payment_chain_id: view.payment_chain_id,
    chain_name: chain?.name ?? view.payment_chain_id,
    evm_chain_id: chain?.evmChainId ?? null,
    explorer_url: chain?.explorerUrl ?? null,
    payment_deadline: view.payment_deadline,
    server_time: unixSeconds(at),
    payment_tx_hash: view.payment_tx_hash,
    received_amount: view.received_amount,
    refund_amount: view.refund_amount,
    refund_tx_hash: view.refund_tx_hash,
    merchant: {
      name: context.merchant.display_name ?? context.merchant.name,
      logo_url: context.merchant.logo_sha256 ? logoPath(context.merchant.logo_sha256) : null,
      accent_color: context.merchant.accent_color,
    },
    description: view.description,
    return_url: view.return_url,
    transfers: context.transfers.map((t) => ({
      tx_hash: t.tx_hash,
      log_index: t.log_index,
      amount: formatTokenAmount(BigInt(t.amount), row.decimals),
      block_time: unixSeconds(t.block_timestamp),
      late: t.block_timestamp.getTime() > row.payment_deadline.getTime(),
    })),
    late_amount: view.late_amount,
    late_refund_amount: view.late_refund_amount,
    late_refund_tx_hash: view.late_refund_tx_hash,
    live: isCheckoutLive(row, at),
  };
}
