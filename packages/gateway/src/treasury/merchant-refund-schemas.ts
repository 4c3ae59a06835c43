import { z } from "@hono/zod-openapi";

// The wire shapes of merchant refunds (an extension of the KryptoGO API: it has none).

export const RefundBody = z
  .object({
    amount: z.string().optional().openapi({
      description:
        "A decimal string in the intent's token. Omitted: everything still refundable (docs/refunds.md).",
      example: "2.5",
    }),
    to_address: z.string().optional().openapi({
      description:
        "Where the refund goes. Omitted: the payer (the sender of the payment); refused when the payment came from more than one address.",
      example: "0x52908400098527886E0F7030069857D2E4169EE7",
    }),
  })
  .strict()
  .openapi("RefundBody");
export type RefundBody = z.infer<typeof RefundBody>;

export const Refund = z
  .object({
    refund_id: z.string().openapi({ example: "rf_9sKd02LmQpXv7RtY3bNc4WzA" }),
    payment_intent_id: z.string(),
    status: z.enum(["pending", "sent", "confirmed", "failed"]).openapi({
      description:
        "pending: accepted, not yet signed; sent: on its way (tx_hash set); confirmed: on chain with the chain's confirmations; failed: the transaction reverted, nothing moved (the amount is refundable again).",
    }),
    amount: z.string().openapi({ example: "2.5" }),
    symbol: z.string().openapi({ example: "USDT" }),
    chain_id: z.string().openapi({ example: "arb" }),
    from_address: z
      .string()
      .openapi({ description: "The intent's deposit address, where the refund is sent from." }),
    to_address: z.string(),
    tx_hash: z.string().nullable().openapi({
      description: "Set once sent; may change while sent if a stuck transaction is replaced.",
    }),
    error: z.string().nullable(),
    created_at: z.number().int().openapi({ description: "Unix seconds" }),
    updated_at: z.number().int().openapi({ description: "Unix seconds" }),
  })
  .openapi("Refund");
export type Refund = z.infer<typeof Refund>;

export const RefundList = z
  .object({
    items: z.array(Refund),
    refundable_amount: z.string().openapi({
      description:
        "What a refund may still take now: received on time, still on the deposit address, not refunded or being refunded. 0 once collected into the treasury.",
      example: "7.5",
    }),
  })
  .openapi("RefundList");
export type RefundList = z.infer<typeof RefundList>;
