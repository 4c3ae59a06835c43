import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import {
  ADMIN_TAG,
  adminAnswers,
  adminErrorResponses,
  OrgParam,
  studioSecurity,
} from "../admin/admin-openapi.ts";
import { recordAudit } from "../admin/audit-log.ts";
import type { StudioEnv } from "../admin/studio-auth.ts";
import type { StudioContext } from "../admin/studio-context.ts";
import { envelope, errorResponse, jsonResponse, PageQuery } from "../http/openapi.ts";
import { refineText } from "../http/well-formed-text.ts";
import { changeOrgLimits, readOrgLimits } from "../organizations/transfer-limits.ts";
import { validationError } from "../platform/errors.ts";
import {
  ApproveWithdrawalBody,
  CreateWithdrawalBody,
  OrgLimits,
  OrgLimitsPatch,
  RejectWithdrawalBody,
  WITHDRAWAL_STATUSES,
  WithdrawalList,
  WithdrawalPreview,
  WithdrawalRequest,
  type WithdrawalState,
  WithdrawalView,
} from "./withdrawal-schemas.ts";
import type { Member } from "./withdrawal-service.ts";

const TAG = `${ADMIN_TAG}: Withdrawals`;

const WithdrawalParams = OrgParam.extend({
  id: z
    .string()
    .superRefine(refineText)
    .openapi({ param: { name: "id", in: "path" }, example: "12" }),
});

const ListQuery = PageQuery.extend({
  status: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .openapi({
      description: `Repeatable, or a comma list: ${WITHDRAWAL_STATUSES.join(", ")}.`,
      example: "awaiting_approval",
    }),
});

const moneyErrors = {
  ...adminErrorResponses,
  400: errorResponse(
    "Invalid request (4000, the message names the field), balance not enough (4015), native coin not enough for gas (4017)",
  ),
  403: errorResponse(
    "Role may not (4032), CSRF (4033), second factor missing (4036) or wrong (4037), the requester approving (4046), a limit (4019, 4020)",
  ),
  404: errorResponse("Unknown organisation (4004) or withdrawal (4045)"),
  409: errorResponse(
    "idempotency_key used for another withdrawal (4018); not awaiting approval (4047)",
  ),
  503: errorResponse("The chain's RPC did not answer (5031)"),
};

const json = <T extends z.ZodType>(schema: T) => ({
  body: { required: true, content: { "application/json": { schema } } },
});

function parseStatuses(raw: string | string[] | undefined): WithdrawalState[] | undefined {
  if (raw === undefined) return undefined;
  const values = (Array.isArray(raw) ? raw : [raw]).flatMap((v) => v.split(",")).filter(Boolean);
  for (const v of values) {
    if (!(WITHDRAWAL_STATUSES as readonly string[]).includes(v)) {
      throw validationError("status", `must be one of ${WITHDRAWAL_STATUSES.join(", ")}`);
    }
  }
  return values as WithdrawalState[];
}

function memberOf(c: Context<StudioEnv>): Member {
  const { session, actor } = c.get("studio");
  return { userId: session.user.id, role: c.get("org").role, actor };
}

/** Studio's withdrawals (with approval above the threshold) and the organisation's limits. */
export function registerWithdrawalRoutes(app: OpenAPIHono<StudioEnv>, ctx: StudioContext): void {
  const { auth, withdrawals } = ctx;
  const base = "/v1/admin/orgs/{orgId}";

  const listRoute = createRoute({
    method: "get",
    path: `${base}/withdrawals`,
    tags: [TAG],
    summary: "Withdrawals: those made in Studio and the API's transfers, newest first",
    security: studioSecurity,
    middleware: [auth.requireOrg("read")] as const,
    request: { params: OrgParam, query: ListQuery },
    responses: { 200: jsonResponse(envelope(WithdrawalList), "A page"), ...moneyErrors },
  });
  app.openapi(listRoute, async (c) => {
    const { status, ...page } = c.req.valid("query");
    const list = await withdrawals.list(c.get("org").orgId, {
      ...page,
      ...(status === undefined ? {} : { status: parseStatuses(status) }),
    });
    return c.json({ code: 0 as const, data: list }, 200);
  });

  const getRoute = createRoute({
    method: "get",
    path: `${base}/withdrawals/{id}`,
    tags: [TAG],
    summary: "One withdrawal",
    security: studioSecurity,
    middleware: [auth.requireOrg("read")] as const,
    request: { params: WithdrawalParams },
    responses: { 200: jsonResponse(envelope(WithdrawalView), "The withdrawal"), ...moneyErrors },
  });
  app.openapi(getRoute, async (c) => {
    const view = await withdrawals.get(c.get("org").orgId, c.req.valid("param").id);
    return c.json({ code: 0 as const, data: view }, 200);
  });

  const previewRoute = createRoute({
    method: "post",
    path: `${base}/withdrawals/preview`,
    tags: [TAG],
    summary: "What a withdrawal would meet now (balance, gas, limits, approval); changes nothing",
    security: studioSecurity,
    middleware: [auth.requireOrg("withdrawals:create")] as const,
    request: { params: OrgParam, ...json(WithdrawalRequest) },
    responses: { 200: jsonResponse(envelope(WithdrawalPreview), "The preview"), ...moneyErrors },
  });
  app.openapi(previewRoute, async (c) => {
    const preview = await withdrawals.preview(c.get("org").orgId, memberOf(c), c.req.valid("json"));
    return c.json({ code: 0 as const, data: preview }, 200);
  });

  const createWithdrawalRoute = createRoute({
    method: "post",
    path: `${base}/withdrawals`,
    tags: [TAG],
    summary: "Make a withdrawal: sent at once, or awaiting approval above the threshold",
    description:
      "At or below the organisation's withdrawal_approval_threshold it is sent at once through the same checks as an API transfer. Above it, it waits with nothing signed until another member approves it; an owner must give totp_code.",
    security: studioSecurity,
    middleware: [auth.requireOrg("withdrawals:create")] as const,
    request: { params: OrgParam, ...json(CreateWithdrawalBody) },
    responses: { 200: jsonResponse(envelope(WithdrawalView), "The withdrawal"), ...moneyErrors },
  });
  app.openapi(createWithdrawalRoute, async (c) => {
    const view = await withdrawals.create(c.get("org").orgId, memberOf(c), c.req.valid("json"));
    return c.json({ code: 0 as const, data: view }, 200);
  });

  const approveRoute = createRoute({
    method: "post",
    path: `${base}/withdrawals/{id}/approve`,
    tags: [TAG],
    summary: "Approve another member's withdrawal: it is sent",
    security: studioSecurity,
    middleware: [auth.requireOrg("withdrawals:approve")] as const,
    request: { params: WithdrawalParams, ...json(ApproveWithdrawalBody) },
    responses: { 200: jsonResponse(envelope(WithdrawalView), "Sent"), ...moneyErrors },
  });
  app.openapi(approveRoute, async (c) => {
    const { orgId } = c.get("org");
    const view = await withdrawals.approve(
      orgId,
      c.req.valid("param").id,
      memberOf(c),
      c.req.valid("json").totp_code,
    );
    return c.json({ code: 0 as const, data: view }, 200);
  });

  const rejectRoute = createRoute({
    method: "post",
    path: `${base}/withdrawals/{id}/reject`,
    tags: [TAG],
    summary: "Reject a withdrawal awaiting approval: nothing is sent",
    security: studioSecurity,
    middleware: [auth.requireOrg("withdrawals:approve")] as const,
    request: { params: WithdrawalParams, ...json(RejectWithdrawalBody) },
    responses: { 200: jsonResponse(envelope(WithdrawalView), "Rejected"), ...moneyErrors },
  });
  app.openapi(rejectRoute, async (c) => {
    const view = await withdrawals.reject(
      c.get("org").orgId,
      c.req.valid("param").id,
      memberOf(c),
      c.req.valid("json").reason,
    );
    return c.json({ code: 0 as const, data: view }, 200);
  });

  const getLimitsRoute = createRoute({
    method: "get",
    path: `${base}/limits`,
    tags: [`${ADMIN_TAG}: Limits`],
    summary: "The organisation's transfer limits and withdrawal approval threshold",
    security: studioSecurity,
    middleware: [auth.requireOrg("read")] as const,
    request: { params: OrgParam },
    responses: adminAnswers(OrgLimits, "The limits"),
  });
  app.openapi(getLimitsRoute, async (c) => {
    const limits = await readOrgLimits(ctx.db, c.get("org").orgId);
    return c.json({ code: 0 as const, data: limits }, 200);
  });

  const patchLimitsRoute = createRoute({
    method: "patch",
    path: `${base}/limits`,
    tags: [`${ADMIN_TAG}: Limits`],
    summary: "Change the limits (decimal token amounts; null removes one)",
    description:
      "They bind API transfers and Studio withdrawals alike; per-key limits are on PATCH /keys/{id}.",
    security: studioSecurity,
    middleware: [auth.requireOrg("limits:write")] as const,
    request: { params: OrgParam, ...json(OrgLimitsPatch) },
    responses: adminAnswers(OrgLimits, "The limits now"),
  });
  app.openapi(patchLimitsRoute, async (c) => {
    const { orgId } = c.get("org");
    const patch = c.req.valid("json");
    const limits = await ctx.db.transaction().execute(async (trx) => {
      const { before, after } = await changeOrgLimits(trx, orgId, patch);
      if (JSON.stringify(before) !== JSON.stringify(after)) {
        await recordAudit(trx, c.get("studio").actor, {
          orgId,
          action: "limits.changed",
          target: `organization:${orgId}`,
          before,
          after,
        });
      }
      return after;
    });
    return c.json({ code: 0 as const, data: limits }, 200);
  });
}
