import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { envelope, errorResponse, jsonResponse, tooManyRequestsResponse } from "../http/openapi.ts";
import { clientIp } from "../http/rate-limits.ts";
import { createAccountService } from "./account-service.ts";
import { ADMIN_TAG, adminErrorResponses, studioSecurity } from "./admin-openapi.ts";
import { recordAudit } from "./audit-log.ts";
import { createLoginThrottle } from "./login-throttle.ts";
import type { StudioEnv } from "./studio-auth.ts";
import type { StudioContext } from "./studio-context.ts";
import { describeSession, SESSION_COOKIE } from "./studio-sessions.ts";

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

const SignInBody = z
  .object({
    email: z.string().min(1).max(320),
    password: z.string().min(1).max(1024),
    totp_code: z.string().max(16).optional(),
  })
  .openapi("StudioSignIn");

const signInRoute = createRoute({
  method: "post",
  path: "/v1/admin/session",
  tags: [ADMIN_TAG],
  summary: "Sign in to Studio: sets the session cookie",
  // Public: the document's default security (an API key or client id) is not what it takes.
  security: [],
  description:
    "A wrong email and a wrong password get the same answer (401 4034). With two-factor authentication on and no `totp_code`: 401 4035 with `data.totp_required`. After 5 failures for an email or 20 for an address within 15 minutes, every attempt is refused for 15 minutes (429 4029 with Retry-After), a right password included.",
  request: { body: { content: { "application/json": { schema: SignInBody } }, required: true } },
  responses: {
    200: jsonResponse(envelope(SessionInfo), "Signed in; the cookie is set"),
    400: errorResponse("Invalid request (4000)"),
    401: errorResponse("Email or password wrong (4034), or the TOTP code is needed (4035)"),
    ...tooManyRequestsResponse,
  },
});

const Ended = z.object({ ended_sessions: z.number().int() });

const signOutRoute = createRoute({
  method: "delete",
  path: "/v1/admin/session",
  tags: [ADMIN_TAG],
  summary: "Sign out: ends this session and clears the cookie",
  security: studioSecurity,
  responses: {
    200: jsonResponse(envelope(Ended), "Signed out"),
    ...adminErrorResponses,
  },
});

const revokeAllRoute = createRoute({
  method: "post",
  path: "/v1/admin/session/revoke-all",
  tags: [ADMIN_TAG],
  summary: "Sign out everywhere: ends every session of the signed-in user, this one included",
  security: studioSecurity,
  responses: {
    200: jsonResponse(envelope(Ended), "Every session ended"),
    ...adminErrorResponses,
  },
});

/** Sets the session cookie, lasting until the session's absolute expiry. */
export function setSessionCookie(
  c: Context,
  ctx: StudioContext,
  session: { token: string; expiresAt: Date },
): void {
  setCookie(c, SESSION_COOKIE, session.token, {
    httpOnly: true,
    sameSite: "Strict",
    path: "/",
    secure: ctx.secureCookies,
    maxAge: Math.max(0, Math.floor((session.expiresAt.getTime() - Date.now()) / 1000)),
  });
}

function clearSessionCookie(c: Context, ctx: StudioContext): void {
  deleteCookie(c, SESSION_COOKIE, {
    path: "/",
    secure: ctx.secureCookies,
    httpOnly: true,
    sameSite: "Strict",
  });
}

export function registerSessionRoutes(app: OpenAPIHono<StudioEnv>, ctx: StudioContext): void {
  app.openapi(getSessionRoute, async (c) => {
    const { session } = c.get("studio");
    return c.json({ code: 0 as const, data: await describeSession(ctx.db, session) }, 200);
  });

  const accounts = createAccountService({
    db: ctx.db,
    sessions: ctx.sessions,
    throttle: createLoginThrottle({ db: ctx.db }),
  });

  app.openapi(signInRoute, async (c) => {
    const body = c.req.valid("json");
    const started = await accounts.signIn({
      email: body.email,
      password: body.password,
      totpCode: body.totp_code,
      ip: clientIp(c, ctx.trustProxy),
      userAgent: c.req.header("user-agent") ?? null,
    });
    setSessionCookie(c, ctx, started);
    return c.json({ code: 0 as const, data: await describeSession(ctx.db, started) }, 200);
  });

  app.openapi(signOutRoute, async (c) => {
    await ctx.sessions.end(c.get("studio").session.id);
    clearSessionCookie(c, ctx);
    return c.json({ code: 0 as const, data: { ended_sessions: 1 } }, 200);
  });

  app.openapi(revokeAllRoute, async (c) => {
    const { session, actor } = c.get("studio");
    // Sessions are not audited one by one; ending them all is a change the user may look for.
    const ended = await ctx.sessions.endAll(session.user.id);
    await recordAudit(ctx.db, actor, {
      orgId: null,
      action: "user.signed_out_everywhere",
      target: `user:${session.user.id}`,
      after: { ended_sessions: ended },
    });
    clearSessionCookie(c, ctx);
    return c.json({ code: 0 as const, data: { ended_sessions: ended } }, 200);
  });
}
