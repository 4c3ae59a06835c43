import type { OpenAPIHono } from "@hono/zod-openapi";
import { idempotencyLayer } from "../http/idempotency.ts";
import type { IdempotencyStore } from "../http/idempotency-store.ts";
import { rejectMalformedText } from "../http/well-formed-text.ts";
import { registerDeveloperRoutes } from "../organizations/developer-routes.ts";
import { registerSettingsRoutes } from "../organizations/settings-routes.ts";
import { registerPaymentLinkRoutes } from "../payments/links/payment-link-routes.ts";
import { registerWithdrawalRoutes } from "../payouts/withdrawal-routes.ts";
import { registerTreasuryRoutes } from "../treasury/treasury-routes.ts";
import { registerAccountRoutes } from "./account-routes.ts";
import { registerAuditRoutes } from "./audit-routes.ts";
import { registerOperatorRoutes } from "./operator-routes.ts";
import { registerPaymentAdminRoutes } from "./payments/payment-admin-routes.ts";
import { registerRefundAdminRoutes } from "./payments/refund-admin-routes.ts";
import { registerSessionRoutes } from "./session-routes.ts";
import { createStudioAuth, type StudioEnv } from "./studio-auth.ts";
import type { StudioContext, StudioDependencies } from "./studio-context.ts";
import { createStudioSessions } from "./studio-sessions.ts";
import { registerTeamRoutes } from "./team-routes.ts";

// The routes a browser calls before it has a session: signing in, and opening or accepting an
// invitation. Everything else under /v1/admin needs a live session (and, to change anything,
// the CSRF token).
const PUBLIC_ROUTES: { method: string; path: RegExp }[] = [
  { method: "POST", path: /^\/v1\/admin\/session$/ },
  { method: "GET", path: /^\/v1\/admin\/invitations\/[^/]+$/ },
  { method: "POST", path: /^\/v1\/admin\/invitations\/[^/]+\/accept$/ },
];

/**
 * The admin API behind Studio, under /v1/admin. Session-authenticated (cookie + CSRF token),
 * never by API key; each organisation route checks the caller's role (roles.ts).
 */
export function registerAdminRoutes(
  app: OpenAPIHono<StudioEnv>,
  deps: StudioDependencies,
  shared: { idempotency: IdempotencyStore },
): void {
  const sessions = createStudioSessions({
    db: deps.db,
    settings: { idleMs: deps.sessionIdleMs, absoluteMs: deps.sessionAbsoluteMs },
  });
  const auth = createStudioAuth({ db: deps.db, sessions, trustProxy: deps.trustProxy });
  const context: StudioContext = { ...deps, sessions, auth };

  app.use("/v1/admin/*", (c, next) => {
    const open = PUBLIC_ROUTES.some((r) => r.method === c.req.method && r.path.test(c.req.path));
    return open ? next() : auth.requireSession(c, next);
  });
  app.use("/v1/admin/*", rejectMalformedText);
  // A signed-in user's keys are theirs, in every organisation; before a session (signing in,
  // accepting an invitation) the header is ignored.
  app.use(
    "/v1/admin/*",
    idempotencyLayer<StudioEnv>({
      store: shared.idempotency,
      scopeOf: (c) => {
        const studio = c.get("studio");
        return studio === undefined ? undefined : `user:${studio.session.user.id}`;
      },
    }),
  );

  // Each feature's routes: one registrar per file, in the folder of the feature.
  registerSessionRoutes(app, context);
  registerAccountRoutes(app, context);
  registerTeamRoutes(app, context);
  registerAuditRoutes(app, context);
  registerOperatorRoutes(app, context);
  registerPaymentAdminRoutes(app, context);
  registerRefundAdminRoutes(app, context);
  registerWithdrawalRoutes(app, context);
  registerTreasuryRoutes(app, context);
  registerDeveloperRoutes(app, context);
  registerSettingsRoutes(app, context);
  registerPaymentLinkRoutes(app, context);

  app.openAPIRegistry.registerComponent("securitySchemes", "StudioSession", {
    type: "apiKey",
    in: "cookie",
    name: "stablegate_session",
    description:
      "Studio's session cookie (POST /v1/admin/session). Requests that change something also send the session's csrf_token as X-CSRF-Token.",
  });
}
