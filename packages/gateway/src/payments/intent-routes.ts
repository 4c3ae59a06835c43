import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import {
  type AppEnv,
  envelope,
  errorResponse,
  errorResponses,
  intentNotFoundResponse,
  jsonResponse,
} from "../http/openapi.ts";
import type { PaymentIntentService } from "./payment-intent-service.ts";
import {
  CreatePaymentIntentBody,
  IntentIdParam,
  ListPaymentIntentsQuery,
  PaymentIntent,
  PaymentIntentList,
} from "./schemas.ts";

const createIntentRoute = createRoute({
  method: "post",
  path: "/v1/studio/api/payment/intent",
  tags: ["Payment intents"],
  summary: "Create payment intent",
  description:
    "From a server: X-STUDIO-API-KEY (X-Client-ID optional, must belong to the key's organization). From a browser: X-Client-ID and an allowed Origin.",
  request: {
    body: { required: true, content: { "application/json": { schema: CreatePaymentIntentBody } } },
  },
  responses: {
    200: jsonResponse(envelope(PaymentIntent), "The new payment intent"),
    ...errorResponses,
    409: errorResponse(
      "Idempotency-Key used in the last 24 hours with a different body or client (4018). Never 4090: creates racing with one key all answer with the one intent they make",
    ),
    413: errorResponse("Body too large (4013)"),
  },
});

const getIntentRoute = createRoute({
  method: "get",
  path: "/v1/studio/api/payment/intent/{id}",
  tags: ["Payment intents"],
  summary: "Get payment intent",
  request: { params: IntentIdParam },
  responses: {
    200: jsonResponse(envelope(PaymentIntent), "The payment intent"),
    ...errorResponses,
    ...intentNotFoundResponse,
  },
});

const listIntentsRoute = createRoute({
  method: "get",
  path: "/v1/studio/api/payment/intents",
  tags: ["Payment intents"],
  summary: "List payment intents for organization",
  description: "Requires X-STUDIO-API-KEY. Newest first.",
  request: { query: ListPaymentIntentsQuery },
  responses: {
    200: jsonResponse(envelope(PaymentIntentList), "A page of payment intents"),
    ...errorResponses,
  },
});

/** The KryptoGO intent endpoints: create, get, list. Authentication runs before them. */
export function registerIntentRoutes(app: OpenAPIHono<AppEnv>, intents: PaymentIntentService) {
  app.openapi(createIntentRoute, async (c) => {
    const intent = await intents.create(c.get("caller"), c.req.valid("json"), {
      idempotencyKey: c.req.header("idempotency-key"),
    });
    return c.json({ code: 0 as const, data: intent }, 200);
  });

  app.openapi(getIntentRoute, async (c) => {
    const intent = await intents.get(c.get("caller"), c.req.valid("param").id);
    return c.json({ code: 0 as const, data: intent }, 200);
  });

  app.openapi(listIntentsRoute, async (c) => {
    const page = await intents.list(c.get("caller"), c.req.valid("query"));
    return c.json({ code: 0 as const, data: page }, 200);
  });
}
