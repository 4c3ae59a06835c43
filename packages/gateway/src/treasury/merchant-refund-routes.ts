import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import {
  type AppEnv,
  envelope,
  errorResponse,
  intentNotFoundResponse,
  jsonResponse,
  tooManyRequestsResponse,
} from "../http/openapi.ts";
import type { Caller } from "../organizations/tenancy-service.ts";
import { IntentIdParam } from "../payments/schemas.ts";
import { invalidApiKey } from "../platform/errors.ts";
import { Refund, RefundBody, RefundList } from "./merchant-refund-schemas.ts";
import type { MerchantRefundService } from "./merchant-refund-service.ts";

const ApiKeyHeaders = z.object({
  "x-studio-api-key": z.string().optional().openapi({ description: "Server-side API key." }),
});

const RefundHeaders = ApiKeyHeaders.extend({
  "idempotency-key": z.string().optional().openapi({
    description:
      "Required. The same key and body within 24 hours return the first refund (sent once); the same key with another body is refused (409 / 4018).",
    example: "order-1042-refund-1",
  }),
});

const authErrors = {
  401: errorResponse("Missing or invalid API key (4002)"),
  ...tooManyRequestsResponse,
} as const;

const refundRoute = createRoute({
  method: "post",
  path: "/v1/studio/api/payment/intent/{id}/refund",
  tags: ["Refunds"],
  summary: "Refund a payment",
  description:
    "An extension (KryptoGO has no refund endpoint). Refunds all or part of a successful payment from its deposit address, before it is collected into the treasury, to the payer or to_address. Answers once the refund is recorded (status pending); the treasury worker sends it through the transaction manager, and refund.sent / refund.confirmed callbacks follow. Several partial refunds may be made, never more than received in total.",
  request: {
    headers: RefundHeaders,
    params: IntentIdParam,
    body: { required: true, content: { "application/json": { schema: RefundBody } } },
  },
  responses: {
    200: jsonResponse(
      envelope(Refund),
      "The refund (the first one, for a repeated Idempotency-Key)",
    ),
    400: errorResponse(
      "Invalid request or missing Idempotency-Key (4000); no to_address and the payer is unknown or not one address (4072, data.payer_addresses)",
    ),
    ...authErrors,
    ...intentNotFoundResponse,
    409: errorResponse(
      "Not refundable now (4070: not a success, already collected into the treasury, refunded in full), amount over what is refundable (4071, data.refundable_amount), Idempotency-Key used for another refund (4018)",
    ),
  },
});

const listRoute = createRoute({
  method: "get",
  path: "/v1/studio/api/payment/intent/{id}/refunds",
  tags: ["Refunds"],
  summary: "List a payment's refunds",
  description: "The merchant refunds of an intent, oldest first, and what is still refundable.",
  request: { headers: ApiKeyHeaders, params: IntentIdParam },
  responses: {
    200: jsonResponse(envelope(RefundList), "The refunds"),
    400: errorResponse("Invalid request (4000): the path id holds a NUL or a lone surrogate"),
    ...authErrors,
    ...intentNotFoundResponse,
  },
});

function apiKeyCaller(caller: Caller) {
  if (caller.kind !== "api_key") throw invalidApiKey("this endpoint requires X-STUDIO-API-KEY");
  return caller;
}

/** Merchant refunds for servers (API key). Authentication (API key only) runs before them. */
export function registerMerchantRefundRoutes(
  app: OpenAPIHono<AppEnv>,
  refunds: MerchantRefundService,
): void {
  app.openapi(refundRoute, async (c) => {
    const caller = apiKeyCaller(c.get("caller"));
    const refund = await refunds.refund(
      { orgId: caller.orgId, requestedBy: `api_key:${caller.apiKeyId}` },
      c.req.valid("param").id,
      c.req.valid("json"),
      c.req.header("idempotency-key"),
    );
    return c.json({ code: 0 as const, data: refund }, 200);
  });
  app.openapi(listRoute, async (c) => {
    const caller = apiKeyCaller(c.get("caller"));
    const list = await refunds.list(caller.orgId, c.req.valid("param").id);
    return c.json({ code: 0 as const, data: list }, 200);
  });
}
