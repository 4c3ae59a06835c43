import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { envelope, jsonResponse } from "../http/openapi.ts";
import { ADMIN_TAG, adminErrorResponses, studioSecurity } from "./admin-openapi.ts";
import { type OrgRole, permissionsOf } from "./roles.ts";
import type { StudioEnv } from "./studio-auth.ts";
import type { StudioContext } from "./studio-context.ts";

const Membership = z.object({
  org_id: z.number().int(),
  org_name: z.string(),
  role: z.enum(["owner", "admin", "developer", "viewer"]),
  permissions: z.array(z.string()),
});

export const SessionInfo = z
  .object({
    user: z.object({
      id: z.number().int(),
      email: z.string(),
      name: z.string(),
      is_operator: z.boolean(),
      totp_enabled: z.boolean(),
    }),
    /** Sent back as X-CSRF-Token on every request that changes something. */
    csrf_token: z.string(),
    expires_at: z.string(),
    memberships: z.array(Membership),
  })
  .openapi("StudioSession");

const getSessionRoute = createRoute({
  method: "get",
  path: "/v1/admin/session",
  tags: [ADMIN_TAG],
  summary: "The signed-in user, their organisations and roles, and the CSRF token",
  security: studioSecurity,
  responses: {
    200: jsonResponse(envelope(SessionInfo), "The session"),
    ...adminErrorResponses,
  },
});

/** The session as Studio reads it at start. */
export async function describeSession(
  ctx: StudioContext,
  session: { csrfToken: string; expiresAt: Date; user: { id: number } },
) {
  const user = await ctx.db
    .selectFrom("users")
    .select(["id", "email", "name", "is_operator", "totp_enabled_at"])
    .where("id", "=", session.user.id)
    .executeTakeFirstOrThrow();
  const memberships = await ctx.db
    .selectFrom("memberships as m")
    .innerJoin("organizations as o", "o.id", "m.org_id")
    .select(["m.org_id", "o.name as org_name", "m.role"])
    .where("m.user_id", "=", user.id)
    .orderBy("o.name")
    .execute();
  return {
    user: {
      id: user.id,
      email: user.email,
      name: user.name,
      is_operator: user.is_operator,
      totp_enabled: user.totp_enabled_at !== null,
    },
    csrf_token: session.csrfToken,
    expires_at: session.expiresAt.toISOString(),
    memberships: memberships.map((m) => ({
      ...m,
      permissions: permissionsOf(m.role as OrgRole),
    })),
  };
}

export function registerSessionRoutes(app: OpenAPIHono<StudioEnv>, ctx: StudioContext): void {
  app.openapi(getSessionRoute, async (c) => {
    const { session } = c.get("studio");
    return c.json({ code: 0 as const, data: await describeSession(ctx, session) }, 200);
  });
}
