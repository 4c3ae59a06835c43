import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../http/openapi.ts";
import {
  envelope,
  errorResponse,
  intentNotFoundResponse,
  jsonResponse,
  malformedIdResponse,
} from "../http/openapi.ts";
import { IntentIdParam } from "../payments/schemas.ts";
import type { CallbackService } from "./callback-service.ts";
import { CallbackEvent, CallbackEventList, CallbackPayload } from "./schemas.ts";

const errors = {
  ...malformedIdResponse,
  401: errorResponse("Missing or invalid API key (4002)"),
  ...intentNotFoundResponse,
} as const;

const listRoute = createRoute({
  method: "get",
  path: "/v1/studio/api/payment/intent/{id}/callbacks",
  tags: ["Callbacks"],
  summary: "List an intent's callback events and their delivery attempts",
  description: "Requires X-STUDIO-API-KEY. Oldest event first, each with every attempt.",
  request: { params: IntentIdParam },
  responses: {
    200: jsonResponse(envelope(CallbackEventList), "The intent's callback events"),
    ...errors,
  },
});

const resendRoute = createRoute({
  method: "post",
  path: "/v1/studio/api/payment/intent/{id}/callbacks/resend",
  tags: ["Callbacks"],
  summary: "Deliver the intent's latest callback event again",
  description:
    "Requires X-STUDIO-API-KEY. The same event id and body, delivered now and retried on the usual schedule.",
  request: { params: IntentIdParam },
  responses: {
    200: jsonResponse(envelope(CallbackEvent), "The event, pending again"),
    ...errors,
    409: errorResponse("The intent has no callback event to resend (4016)"),
  },
});

// What the gateway sends to an intent's callback_url: published as an OpenAPI 3.1 webhook so the
// SDK's verifyWebhook gets its payload type from the same schema the gateway serialises with.
const statusWebhook = createRoute({
  method: "post",
  path: "payment-status",
  tags: ["Callbacks"],
  summary: "A payment intent's status changed",
  description:
    "Sent to the intent's callback_url on every status change (not at creation), at least once: retried until your server answers 2xx or the retry window ends (docs/callbacks.md). Verify the signature over the raw body before trusting it (verifyWebhook in @stablegate/sdk) and deduplicate by event_id. The same body with an `event` field (and `refund`, `late_payment` or `collection`) reports an event that leaves the status unchanged: a merchant refund sent, confirmed or failed, a late payment and its refund, and (opt-in) a collection.",
  request: {
    headers: z.object({
      "x-stablegate-signature": z.string().openapi({
        description:
          't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>"> with your webhook secret.',
      }),
      "x-stablegate-event-id": z.string().openapi({ description: "The payload's event_id." }),
    }),
    body: { content: { "application/json": { schema: CallbackPayload } } },
  },
  responses: {
    200: { description: "Received. Any 2xx ends the retries; see docs/callbacks.md for the rest." },
  },
});

export function registerCallbackRoutes(app: OpenAPIHono<AppEnv>, callbacks: CallbackService): void {
  app.openAPIRegistry.registerWebhook(statusWebhook);
  app.openapi(listRoute, async (c) => {
    const items = await callbacks.list(c.get("caller"), c.req.valid("param").id);
    return c.json({ code: 0 as const, data: { items } }, 200);
  });
  app.openapi(resendRoute, async (c) => {
    const event = await callbacks.resend(c.get("caller"), c.req.valid("param").id);
    return c.json({ code: 0 as const, data: event }, 200);
  });
}
