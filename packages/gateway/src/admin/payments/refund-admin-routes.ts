import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { envelope, errorResponse, jsonResponse } from "../../http/openapi.ts";
import { Refund, RefundBody, RefundList } from "../../treasury/merchant-refund-schemas.ts";
import {
  ADMIN_TAG,
  adminErrorResponses,
  OrgIntentParams,
  studioSecurity,
} from "../admin-openapi.ts";
import { recordAudit } from "../audit-log.ts";
import type { StudioEnv } from "../studio-auth.ts";
import type { StudioContext } from "../studio-context.ts";

// Studio's side of merchant refunds: the same service as POST /v1/studio/api/payment/intent/{id}/refund
// (treasury/merchant-refund-service.ts), for an owner or admin, audited.

const TAG = `${ADMIN_TAG}: Payments`;
const notFound = { 404: errorResponse("Unknown organisation (4004) or payment intent (4006)") };

const listRoute = createRoute({
  method: "get",
  path: "/v1/admin/orgs/{orgId}/payments/{id}/refunds",
  tags: [TAG],
  summary: "The intent's merchant refunds and what is still refundable",
  security: studioSecurity,
  request: { params: OrgIntentParams },
  responses: {
    200: jsonResponse(envelope(RefundList), "The refunds, oldest first"),
    ...adminErrorResponses,
    ...notFound,
  },
});

const createRefundRoute = createRoute({
  method: "post",
  path: "/v1/admin/orgs/{orgId}/payments/{id}/refunds",
  tags: [TAG],
  summary: "Refund all or part of a payment (owner, admin)",
  description:
    "As POST /v1/studio/api/payment/intent/{id}/refund: Idempotency-Key required (Studio sends one per dialog), the same codes.",
  security: studioSecurity,
  request: {
    params: OrgIntentParams,
    headers: z.object({
      "idempotency-key": z.string().optional().openapi({ description: "Required." }),
    }),
    body: { required: true, content: { "application/json": { schema: RefundBody } } },
  },
  responses: {
    200: jsonResponse(envelope(Refund), "The refund (the first one, for a repeated key)"),
    ...adminErrorResponses,
    ...notFound,
    409: errorResponse(
      "Not refundable now (4070), more than refundable (4071), Idempotency-Key used for another refund (4018)",
    ),
  },
});

export function registerRefundAdminRoutes(app: OpenAPIHono<StudioEnv>, ctx: StudioContext): void {
  const { auth, db } = ctx;
  app.on("GET", "/v1/admin/orgs/:orgId/payments/:id/refunds", auth.requireOrg("read"));
  app.on("POST", "/v1/admin/orgs/:orgId/payments/:id/refunds", auth.requireOrg("refunds:write"));

  app.openapi(listRoute, async (c) => {
    const data = await ctx.merchantRefunds.list(c.get("org").orgId, c.req.valid("param").id);
    return c.json({ code: 0 as const, data }, 200);
  });

  app.openapi(createRefundRoute, async (c) => {
    const { orgId } = c.get("org");
    const { id } = c.req.valid("param");
    const actor = c.get("studio").actor;
    const data = await ctx.merchantRefunds.refund(
      { orgId, requestedBy: actor.kind === "user" ? `member:${actor.userId}` : "cli" },
      id,
      c.req.valid("json"),
      c.req.header("idempotency-key"),
    );
    await recordAudit(db, actor, {
      orgId,
      action: "refund.requested",
      target: `payment_intent:${id}`,
      after: { refund_id: data.refund_id, amount: data.amount, to_address: data.to_address },
    });
    return c.json({ code: 0 as const, data }, 200);
  });
}
