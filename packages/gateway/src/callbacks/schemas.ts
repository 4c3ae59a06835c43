import { z } from "@hono/zod-openapi";
import { PaymentIntent, PaymentStatus } from "../payments/schemas.ts";

const intent = PaymentIntent.shape;

/** The events a callback may report besides a status change (docs/callbacks.md). */
export const CALLBACK_EVENTS = [
  "refund.sent",
  "refund.confirmed",
  "refund.failed",
  "late_payment.detected",
  "late_payment.refund_sent",
  "late_payment.refunded",
  "collection.confirmed",
] as const;
export type CallbackEventName = (typeof CALLBACK_EVENTS)[number];

export const CallbackRefund = z
  .object({
    refund_id: z.string().nullable().openapi({
      description: "The merchant refund's id; null for the automatic refund of a late payment.",
      example: "rf_9sKd02LmQpXv7RtY3bNc4WzA",
    }),
    kind: z.enum(["merchant", "late"]),
    amount: z.string().openapi({ example: "2.5" }),
    to_address: z.string(),
    tx_hash: z.string().nullable(),
    status: z.enum(["pending", "sent", "confirmed", "failed"]),
  })
  .openapi("CallbackRefund");

export const CallbackLatePayment = z
  .object({
    tx_hash: z.string(),
    from_address: z.string(),
    amount: z.string().openapi({ example: "2" }),
  })
  .openapi("CallbackLatePayment");

export const CallbackCollection = z
  .object({
    amount: z.string().openapi({ description: "Collected into the treasury.", example: "2.5" }),
    fee: z.string().openapi({ description: "The operator's fee.", example: "0.03" }),
    treasury_address: z.string(),
    tx_hash: z.string().nullable(),
    fee_tx_hash: z.string().nullable(),
  })
  .openapi("CallbackCollection");

/**
 * The body of a status callback: the reference's callback sample field for field (names, order
 * and types, taken from the intent's own schema), plus `callback_url` and the event's id and
 * time. Published as the OpenAPI document's `webhooks` (callback-routes.ts).
 */
export const CallbackPayload = z
  .object({
    payment_intent_id: intent.payment_intent_id,
    client_id: intent.client_id,
    fiat_amount: intent.fiat_amount,
    fiat_currency: intent.fiat_currency,
    payment_deadline: intent.payment_deadline,
    status: intent.status,
    payment_chain_id: intent.payment_chain_id,
    symbol: intent.symbol,
    crypto_amount: intent.crypto_amount,
    payment_tx_hash: intent.payment_tx_hash,
    refund_tx_hash: intent.refund_tx_hash,
    received_amount: intent.received_amount,
    aggregated_amount: intent.aggregated_amount,
    refund_amount: intent.refund_amount,
    order_data: intent.order_data,
    callback_url: intent.callback_url,
    group_key: intent.group_key,
    event_id: z.string().openapi({
      description: "Also in the X-Stablegate-Event-Id header; the same on every retry and resend.",
      example: "evt_3kTzQvP9dYw1LmA0bC7xRsE2",
    }),
    event_time: z
      .number()
      .int()
      .openapi({ description: "Unix seconds when the status changed.", example: 1715462400 }),
    // Extensions (docs/callbacks.md): absent on a status change, so its body is KryptoGO's.
    event: z.enum(CALLBACK_EVENTS).optional().openapi({
      description:
        "Absent on a status change. Otherwise what happened; `status` is then the intent's current status, unchanged.",
      example: "refund.confirmed",
    }),
    refund: CallbackRefund.optional().openapi({
      description: "On refund.* and late_payment.refund_sent / late_payment.refunded.",
    }),
    late_payment: CallbackLatePayment.optional().openapi({
      description: "On late_payment.*: the payment that arrived after the deadline.",
    }),
    collection: CallbackCollection.optional().openapi({ description: "On collection.confirmed." }),
  })
  .openapi("CallbackPayload");
export type CallbackPayload = z.infer<typeof CallbackPayload>;

export const CallbackAttempt = z
  .object({
    attempted_at: z.number().int().openapi({ description: "Unix seconds" }),
    http_status: z.number().int().nullable().openapi({ description: "null: no HTTP answer" }),
    duration_ms: z.number().int(),
    outcome: z.enum(["delivered", "retry", "failed"]),
    error: z.string().nullable().openapi({ example: "HTTP 503" }),
    response_excerpt: z
      .string()
      .nullable()
      .openapi({ description: "The first 4 KB of the receiver's answer." }),
  })
  .openapi("CallbackAttempt");

export const CallbackEvent = z
  .object({
    event_id: z.string().openapi({ example: "evt_3kTzQvP9dYw1LmA0bC7xRsE2" }),
    status: PaymentStatus.openapi({ description: "The intent status this event reports." }),
    event: z
      .enum(CALLBACK_EVENTS)
      .nullable()
      .openapi({ description: "null: a status change; else the event (payload.event)." }),
    callback_url: z.string(),
    state: z.enum(["pending", "delivered", "failed"]),
    created_at: z.number().int().openapi({ description: "Unix seconds" }),
    next_attempt_at: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "Unix seconds; set while pending." }),
    delivered_at: z.number().int().nullable(),
    failed_at: z.number().int().nullable(),
    last_error: z
      .string()
      .nullable()
      .openapi({ description: "Why the last attempt did not deliver; the reason once failed." }),
    // The body as sent (docs/callbacks.md).
    payload: CallbackPayload,
    attempts: z.array(CallbackAttempt),
  })
  .openapi("CallbackEvent");
export type CallbackEvent = z.infer<typeof CallbackEvent>;

export const CallbackEventList = z
  .object({ items: z.array(CallbackEvent) })
  .openapi("CallbackEventList");
