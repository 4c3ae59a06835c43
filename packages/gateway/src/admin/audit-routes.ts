import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { envelope, errorResponse, jsonResponse, PageQuery, pageOf } from "../http/openapi.ts";
import { ADMIN_TAG, adminErrorResponses, OrgParam, studioSecurity } from "./admin-openapi.ts";
import { readAuditLog } from "./audit-log.ts";
import type { StudioEnv } from "./studio-auth.ts";
import type { StudioContext } from "./studio-context.ts";

const AuditEntry = z
  .object({
    id: z.string(),
    org_id: z.number().int().nullable(),
    /** The user's email, or "cli". */
    actor: z.string(),
    action: z.string(),
    target: z.string().nullable(),
    before: z.unknown().nullable(),
    after: z.unknown().nullable(),
    ip: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi("StudioAuditEntry");

const orgAuditRoute = createRoute({
  method: "get",
  path: "/v1/admin/orgs/{orgId}/audit",
  tags: [`${ADMIN_TAG}: Audit`],
  summary: "The organisation's audit log, newest first",
  security: studioSecurity,
  request: { params: OrgParam, query: PageQuery },
  responses: {
    200: jsonResponse(envelope(pageOf(AuditEntry)), "One page of the log"),
    ...adminErrorResponses,
    404: errorResponse("Not a member of this organisation (4004)"),
  },
});

const operatorAuditRoute = createRoute({
  method: "get",
  path: "/v1/admin/operator/audit",
  tags: [`${ADMIN_TAG}: Operator`],
  summary: "The whole gateway's audit log (every organisation, accounts, the CLI), newest first",
  security: studioSecurity,
  request: {
    query: PageQuery.extend({
      org_id: z.coerce.number().int().min(1).optional().openapi({
        description: "Only this organisation's entries",
      }),
    }),
  },
  responses: {
    200: jsonResponse(envelope(pageOf(AuditEntry)), "One page of the log"),
    ...adminErrorResponses,
  },
});

export function registerAuditRoutes(app: OpenAPIHono<StudioEnv>, ctx: StudioContext): void {
  app.use("/v1/admin/orgs/:orgId/audit", ctx.auth.requireOrg("audit:read"));
  app.use("/v1/admin/operator/audit", ctx.auth.requireOperator);

  app.openapi(orgAuditRoute, async (c) => {
    const data = await readAuditLog(ctx.db, c.get("org").orgId, c.req.valid("query"));
    return c.json({ code: 0 as const, data }, 200);
  });

  app.openapi(operatorAuditRoute, async (c) => {
    const { org_id, ...page } = c.req.valid("query");
    return c.json({ code: 0 as const, data: await readAuditLog(ctx.db, org_id, page) }, 200);
  });
}
