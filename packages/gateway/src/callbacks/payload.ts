import type { Selectable } from "kysely";
import { toPaymentIntentView, unixSeconds } from "../payments/intent-wire.ts";
import type { PaymentIntentsTable } from "../platform/database/schema.ts";
import type { CallbackEventName, CallbackPayload } from "./schemas.ts";

/** What an event adds to the intent's fields (an extension: a status callback has none). */
export type CallbackExtension = Pick<CallbackPayload, "refund" | "late_payment" | "collection"> & {
  event: CallbackEventName;
};

/**
 * The body of a status callback (the CallbackPayload schema), built from the same wire view as
 * the API's intent so both show the same values. It is serialised once, when the event is
 * written, and every attempt sends those same bytes; the keys go out in the schema's order.
 */
export function callbackBody(
  row: Selectable<PaymentIntentsTable>,
  event: { id: string; createdAt: Date },
  extension?: CallbackExtension,
): string {
  const view = toPaymentIntentView(row);
  const payload: CallbackPayload = {
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
    event_time: unixSeconds(event.createdAt),
    ...(extension
      ? {
          event: extension.event,
          ...(extension.refund ? { refund: extension.refund } : {}),
          ...(extension.late_payment ? { late_payment: extension.late_payment } : {}),
          ...(extension.collection ? { collection: extension.collection } : {}),
        }
      : {}),
  };
  return JSON.stringify(payload);
}
