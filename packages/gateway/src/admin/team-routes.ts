import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { envelope, errorResponse, jsonResponse, tooManyRequestsResponse } from "../http/openapi.ts";
import { clientIp } from "../http/rate-limits.ts";
import { normaliseEmail } from "./account-service.ts";
import { ADMIN_TAG, adminErrorResponses, OrgParam, studioSecurity } from "./admin-openapi.ts";
import { emailInvitation } from "./invitation-mail.ts";
import { createLoginThrottle } from "./login-throttle.ts";
import { ORG_ROLES } from "./roles.ts";
import { SessionInfo, setSessionCookie } from "./session-routes.ts";
import type { StudioEnv } from "./studio-auth.ts";
import type { StudioContext } from "./studio-context.ts";
import { describeSession } from "./studio-sessions.ts";
import { createTeamService } from "./team-service.ts";

const TAGS = [`${ADMIN_TAG}: Team`];
const Role = z.enum(ORG_ROLES);
const json = <T extends z.ZodType>(schema: T) => ({
  body: { content: { "application/json": { schema } }, required: true },
});
const Done = envelope(z.object({ ok: z.literal(true) }));
const orgErrors = {
  ...adminErrorResponses,
  404: errorResponse("Not a member of this organisation, or no such member (4004)"),
};

const MemberParams = OrgParam.extend({
  userId: z
    .string()
    .regex(/^[0-9]{1,9}$/, "must be a user id")
    .openapi({ param: { name: "userId", in: "path" } }),
});
const InvitationParams = OrgParam.extend({
  id: z
    .string()
    .regex(/^[0-9a-f]{64}$/, "must be an invitation id")
    .openapi({ param: { name: "id", in: "path" } }),
});
const TokenParam = z.object({
  token: z
    .string()
    .regex(/^[A-Za-z0-9_-]{43}$/, "must be an invitation token")
    .openapi({ param: { name: "token", in: "path" } }),
});

const Member = z
  .object({
    user_id: z.number().int(),
    email: z.string(),
    name: z.string(),
    role: Role,
    totp_enabled: z.boolean(),
    created_at: z.string(),
  })
  .openapi("StudioMember");

const PendingInvitation = z
  .object({
    id: z.string(),
    email: z.string(),
    role: Role,
    invited_by: z.number().int().nullable(),
    created_at: z.string(),
    expires_at: z.string(),
  })
  .openapi("StudioInvitation");

const NewInvitation = z
  .object({
    id: z.string(),
    email: z.string(),
    role: Role,
    /** The link to send the invitee; shown once. */
    url: z.string(),
    expires_at: z.string(),
    email_sent: z.boolean().openapi({
      description:
        "Whether the link was also emailed to the invitee: SMTP_URL is set and its server took the message. Otherwise send the link yourself.",
    }),
  })
  .openapi("StudioNewInvitation");

const listMembersRoute = createRoute({
  method: "get",
  path: "/v1/admin/orgs/{orgId}/members",
  tags: TAGS,
  summary: "The organisation's members and their roles",
  security: studioSecurity,
  request: { params: OrgParam },
  responses: { 200: jsonResponse(envelope(z.array(Member)), "The members"), ...orgErrors },
});

const changeRoleRoute = createRoute({
  method: "patch",
  path: "/v1/admin/orgs/{orgId}/members/{userId}",
  tags: TAGS,
  summary: "Change a member's role (never the last owner's)",
  security: studioSecurity,
  request: { params: MemberParams, ...json(z.object({ role: Role })) },
  responses: {
    200: jsonResponse(Done, "Changed"),
    ...orgErrors,
    409: errorResponse("The organisation's last owner (4038)"),
  },
});

const removeMemberRoute = createRoute({
  method: "delete",
  path: "/v1/admin/orgs/{orgId}/members/{userId}",
  tags: TAGS,
  summary: "Remove a member (never the last owner)",
  security: studioSecurity,
  request: { params: MemberParams },
  responses: {
    200: jsonResponse(Done, "Removed"),
    ...orgErrors,
    409: errorResponse("The organisation's last owner (4038)"),
  },
});

const inviteRoute = createRoute({
  method: "post",
  path: "/v1/admin/orgs/{orgId}/invitations",
  tags: TAGS,
  summary: "Invite someone by email: a one-time link, valid 7 days, shown once",
  security: studioSecurity,
  request: {
    params: OrgParam,
    ...json(z.object({ email: z.string().email().max(320), role: Role })),
  },
  responses: {
    200: jsonResponse(envelope(NewInvitation), "The invitation and its link"),
    ...orgErrors,
    409: errorResponse("Already a member (4066)"),
  },
});

const listInvitationsRoute = createRoute({
  method: "get",
  path: "/v1/admin/orgs/{orgId}/invitations",
  tags: TAGS,
  summary: "Pending invitations (their links are never shown again)",
  security: studioSecurity,
  request: { params: OrgParam },
  responses: {
    200: jsonResponse(envelope(z.array(PendingInvitation)), "Pending invitations"),
    ...orgErrors,
  },
});

const revokeInvitationRoute = createRoute({
  method: "delete",
  path: "/v1/admin/orgs/{orgId}/invitations/{id}",
  tags: TAGS,
  summary: "Revoke a pending invitation",
  security: studioSecurity,
  request: { params: InvitationParams },
  responses: {
    200: jsonResponse(Done, "Revoked"),
    ...orgErrors,
    404: errorResponse("No such pending invitation (4039)"),
  },
});

const openInvitationRoute = createRoute({
  method: "get",
  path: "/v1/admin/invitations/{token}",
  tags: TAGS,
  summary: "What an invitation link offers (public)",
  security: [],
  request: { params: TokenParam },
  responses: {
    200: jsonResponse(
      envelope(
        z.object({ org_name: z.string(), role: Role, email: z.string(), expires_at: z.string() }),
      ),
      "The invitation",
    ),
    400: errorResponse("Invalid request (4000)"),
    404: errorResponse("Used, revoked or expired (4039)"),
  },
});

const acceptInvitationRoute = createRoute({
  method: "post",
  path: "/v1/admin/invitations/{token}/accept",
  tags: TAGS,
  summary:
    "Accept an invitation (public): creates the account, or checks an existing one's password; signs in",
  security: [],
  request: {
    params: TokenParam,
    ...json(
      z.object({
        name: z.string().trim().min(1).max(200),
        password: z.string().min(1).max(1024).openapi({
          description: "A new account's (at least 12 characters), or the existing account's",
        }),
      }),
    ),
  },
  responses: {
    200: jsonResponse(envelope(SessionInfo), "Joined and signed in; the cookie is set"),
    400: errorResponse("Invalid request (4000)"),
    401: errorResponse("The existing account's password is wrong (4034)"),
    404: errorResponse("Used, revoked or expired (4039)"),
    ...tooManyRequestsResponse,
  },
});

/**
 * The origin the browser reached us at: the Host it sent, and behind a trusted proxy the scheme
 * the proxy saw (X-Forwarded-Proto), so a link made behind TLS termination is https.
 */
export function publicOrigin(c: Context, trustProxy: number): string {
  const url = new URL(c.req.url);
  const proto = c.req.header("x-forwarded-proto")?.split(",")[0]?.trim();
  if (trustProxy > 0 && (proto === "https" || proto === "http")) url.protocol = `${proto}:`;
  return url.origin;
}

export function registerTeamRoutes(app: OpenAPIHono<StudioEnv>, ctx: StudioContext): void {
  const { auth } = ctx;
  const throttle = createLoginThrottle({ db: ctx.db });
  const team = createTeamService({ db: ctx.db, throttle });
  const ok = { code: 0 as const, data: { ok: true as const } };

  app.use("/v1/admin/orgs/:orgId/members", auth.requireOrg("read"));
  app.on(
    ["PATCH", "DELETE"],
    "/v1/admin/orgs/:orgId/members/:userId",
    auth.requireOrg("team:write"),
  );
  app.use("/v1/admin/orgs/:orgId/invitations", (c, next) =>
    auth.requireOrg(c.req.method === "GET" ? "read" : "team:write")(c, next),
  );
  app.use("/v1/admin/orgs/:orgId/invitations/:id", auth.requireOrg("team:write"));

  app.openapi(listMembersRoute, async (c) =>
    c.json({ code: 0 as const, data: await team.listMembers(c.get("org").orgId) }, 200),
  );

  app.openapi(changeRoleRoute, async (c) => {
    const { userId } = c.req.valid("param");
    const { role } = c.req.valid("json");
    await team.changeRole(c.get("studio").actor, c.get("org").orgId, Number(userId), role);
    return c.json(ok, 200);
  });

  app.openapi(removeMemberRoute, async (c) => {
    const { userId } = c.req.valid("param");
    await team.removeMember(c.get("studio").actor, c.get("org").orgId, Number(userId));
    return c.json(ok, 200);
  });

  app.openapi(inviteRoute, async (c) => {
    const body = c.req.valid("json");
    const invitation = await ctx.db.transaction().execute((trx) =>
      team.invite(trx, c.get("studio").actor, {
        orgId: c.get("org").orgId,
        email: normaliseEmail(body.email),
        role: body.role,
      }),
    );
    const url = `${publicOrigin(c, ctx.trustProxy)}/studio/invite/${invitation.token}`;
    const { orgId } = c.get("org");
    const emailSent = await emailInvitation(ctx.invitationMailer, {
      to: invitation.email,
      orgName: (await ctx.tenancy.getOrganization(orgId)).name,
      role: invitation.role,
      url,
      expiresAt: invitation.expiresAt,
      actor: c.get("studio").actor,
    });
    const data = {
      id: invitation.id,
      email: invitation.email,
      role: invitation.role,
      url,
      expires_at: invitation.expiresAt.toISOString(),
      email_sent: emailSent,
    };
    return c.json({ code: 0 as const, data }, 200);
  });

  app.openapi(listInvitationsRoute, async (c) =>
    c.json({ code: 0 as const, data: await team.listInvitations(c.get("org").orgId) }, 200),
  );

  app.openapi(revokeInvitationRoute, async (c) => {
    await team.revokeInvitation(c.get("studio").actor, c.get("org").orgId, c.req.valid("param").id);
    return c.json(ok, 200);
  });

  app.openapi(openInvitationRoute, async (c) =>
    c.json({ code: 0 as const, data: await team.openInvitation(c.req.valid("param").token) }, 200),
  );

  app.openapi(acceptInvitationRoute, async (c) => {
    const { token } = c.req.valid("param");
    const body = c.req.valid("json");
    const ip = clientIp(c, ctx.trustProxy);
    const { userId } = await team.acceptInvitation(token, { ...body, ip });
    const session = await ctx.sessions.start(userId, {
      ip,
      userAgent: c.req.header("user-agent") ?? null,
    });
    setSessionCookie(c, ctx, session);
    return c.json(
      {
        code: 0 as const,
        data: await describeSession(ctx.db, { ...session, user: { id: userId } }),
      },
      200,
    );
  });
}
