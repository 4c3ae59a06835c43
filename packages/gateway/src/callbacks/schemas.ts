import { z } from "@hono/zod-openapi";
import { PaymentStatus } from "../payments/schemas.ts";

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
    payload: z
      .record(z.string(), z.unknown())
      .openapi({ description: "The body as sent (docs/callbacks.md)." }),
    attempts: z.array(CallbackAttempt),
  })
  .openapi("CallbackEvent");

export const CallbackEventList = z
  .object({ items: z.array(CallbackEvent) })
  .openapi("CallbackEventList");
