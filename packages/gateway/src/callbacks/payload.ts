import type { Selectable } from "kysely";
import { toPaymentIntentView } from "../payments/intent-wire.ts";
import type { PaymentIntentsTable } from "../platform/database/schema.ts";

/**
 * The body of a status callback: the reference's callback sample field for field (names, order
 * and types), plus `callback_url` and the event's id and time. It is serialised once, when the
 * event is written, and every attempt sends those same bytes.
 */
export function callbackBody(
  row: Selectable<PaymentIntentsTable>,
  event: { id: string; createdAt: Date },
): string {
  const view = toPaymentIntentView(row);
  return JSON.stringify({
    payment_intent_id: view.payment_intent_id,
    client_id: view.client_id,
    fiat_amount: view.fiat_amount,
    fiat_currency: view.fiat_currency,
    payment_deadline: view.payment_deadline,
    status: view.status,
    payment_chain_id: view.payment_chain_id,
    symbol: view.symbol,
    crypto_amount: view.crypto_amount,
    payment_tx_hash: view.payment_tx_hash,
    refund_tx_hash: view.refund_tx_hash,
    received_amount: view.received_amount,
    aggregated_amount: view.aggregated_amount,
    refund_amount: view.refund_amount,
    order_data: view.order_data,
    callback_url: view.callback_url,
    group_key: view.group_key,
    event_id: event.id,
    event_time: Math.floor(event.createdAt.getTime() / 1000),
  });
}
