import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { envelope, errorResponse, jsonResponse } from "../http/openapi.ts";
import { createAccountService } from "./account-service.ts";
import { ADMIN_TAG, adminErrorResponses, studioSecurity } from "./admin-openapi.ts";
import { recordAudit } from "./audit-log.ts";
import { createLoginThrottle } from "./login-throttle.ts";
import { createSecondFactor } from "./second-factor.ts";
import type { StudioEnv } from "./studio-auth.ts";
import type { StudioContext } from "./studio-context.ts";

const TAGS = [`${ADMIN_TAG}: Account`];
const Done = envelope(z.object({ ok: z.literal(true) }));
const CodeBody = z.object({ code: z.string().min(1).max(16) });
const json = <T extends z.ZodType>(schema: T) => ({
  body: { content: { "application/json": { schema } }, required: true },
});
const errors = {
  ...adminErrorResponses,
  409: errorResponse("Two-factor authentication already on, or not set up yet (4067)"),
};

const passwordRoute = createRoute({
  method: "post",
  path: "/v1/admin/me/password",
  tags: TAGS,
  summary: "Change the signed-in user's password; their other sessions end",
  security: studioSecurity,
  request: json(
    z.object({
      current_password: z.string().min(1).max(1024),
      new_password: z.string().max(1024).openapi({ description: "At least 12 characters" }),
    }),
  ),
  responses: { 200: jsonResponse(Done, "Changed"), ...errors },
});

const totpBeginRoute = createRoute({
  method: "post",
  path: "/v1/admin/me/totp",
  tags: TAGS,
  summary: "Start setting up two-factor authentication (TOTP): a secret, pending until confirmed",
  security: studioSecurity,
  responses: {
    200: jsonResponse(
      envelope(z.object({ secret: z.string(), otpauth_url: z.string() })),
      "The secret, as text and as an otpauth:// URL for a QR code",
    ),
    ...errors,
  },
});

const totpConfirmRoute = createRoute({
  method: "post",
  path: "/v1/admin/me/totp/confirm",
  tags: TAGS,
  summary: "Turn two-factor authentication on with a code from the pending secret",
  security: studioSecurity,
  request: json(CodeBody),
  responses: { 200: jsonResponse(Done, "On"), ...errors },
});

const totpDisableRoute = createRoute({
  method: "delete",
  path: "/v1/admin/me/totp",
  tags: TAGS,
  summary: "Turn two-factor authentication off (needs a current code)",
  security: studioSecurity,
  request: json(CodeBody),
  responses: { 200: jsonResponse(Done, "Off"), ...errors },
});

export function registerAccountRoutes(app: OpenAPIHono<StudioEnv>, ctx: StudioContext): void {
  const accounts = createAccountService({
    db: ctx.db,
    sessions: ctx.sessions,
    throttle: createLoginThrottle({ db: ctx.db }),
  });
  const ok = { code: 0 as const, data: { ok: true as const } };

  app.openapi(passwordRoute, async (c) => {
    const body = c.req.valid("json");
    const { actor, session } = c.get("studio");
    if (actor.kind !== "user") throw new Error("a Studio session's actor is a user");
    await accounts.changePassword(actor, session.id, {
      currentPassword: body.current_password,
      newPassword: body.new_password,
    });
    return c.json(ok, 200);
  });

  app.openapi(totpBeginRoute, async (c) => {
    const { user } = c.get("studio").session;
    const started = await createSecondFactor({ db: ctx.db }).begin(user.id, user.email);
    return c.json({ code: 0 as const, data: started }, 200);
  });

  app.openapi(totpConfirmRoute, async (c) => {
    const { code } = c.req.valid("json");
    const { actor, session } = c.get("studio");
    await ctx.db.transaction().execute(async (trx) => {
      await createSecondFactor({ db: trx }).confirm(session.user.id, code);
      await recordAudit(trx, actor, {
        orgId: null,
        action: "user.totp_enabled",
        target: `user:${session.user.id}`,
      });
    });
    return c.json(ok, 200);
  });

  app.openapi(totpDisableRoute, async (c) => {
    const { code } = c.req.valid("json");
    const { actor, session } = c.get("studio");
    await ctx.db.transaction().execute(async (trx) => {
      await createSecondFactor({ db: trx }).disable(session.user.id, code);
      await recordAudit(trx, actor, {
        orgId: null,
        action: "user.totp_disabled",
        target: `user:${session.user.id}`,
      });
    });
    return c.json(ok, 200);
  });
}
