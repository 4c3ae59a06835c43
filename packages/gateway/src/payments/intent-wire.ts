import type { Selectable } from "kysely";
import type { ChainRegistry } from "../chain/chain-registry.ts";
import type { PaymentIntentsTable } from "../platform/database/schema.ts";
import { formatTokenAmount } from "./money.ts";
import type { CheckoutPayment, PaymentIntent } from "./schemas.ts";

// An intent row as the wire shows it, in one place: the API, the checkout page and the status
// callback all start from toPaymentIntentView, so a field cannot be formatted two ways.

export const unixSeconds = (d: Date) => Math.floor(d.getTime() / 1000);

/** The API's payment intent: the reference's fields first, in its order. */
export function toPaymentIntentView(row: Selectable<PaymentIntentsTable>): PaymentIntent {
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
  };
}

/** The checkout page's view (see the CheckoutPayment schema for what it leaves out and why). */
export function toCheckoutPaymentView(
  row: Selectable<PaymentIntentsTable>,
  chains: ChainRegistry,
  at: Date,
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
  };
}
