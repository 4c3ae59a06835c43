import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { requestId } from "hono/request-id";
import type { Logger } from "pino";
import { registerAdminRoutes } from "../admin/admin-routes.ts";
import type { StudioEnv } from "../admin/studio-auth.ts";
import type { StudioDependencies } from "../admin/studio-context.ts";
import { registerStudioPage } from "../admin/studio-page-routes.ts";
import { registerCallbackRoutes } from "../callbacks/callback-routes.ts";
import type { CallbackService } from "../callbacks/callback-service.ts";
import type { Metrics } from "../observability/metrics.ts";
import { registerMetricsRoute } from "../observability/metrics-routes.ts";
import { observeRequests } from "../observability/request-observer.ts";
import type { CheckoutLogos } from "../organizations/checkout-logos.ts";
import type { TenancyService } from "../organizations/tenancy-service.ts";
import { registerCheckoutRoutes } from "../payments/checkout/checkout-routes.ts";
import { registerIntentRoutes } from "../payments/intent-routes.ts";
import { registerPaymentLinkPage } from "../payments/links/payment-link-page.ts";
import type { PaymentLinks } from "../payments/links/payment-link-service.ts";
import type { PaymentIntentService } from "../payments/payment-intent-service.ts";
import type { PayoutService } from "../payouts/payout-service.ts";
import { registerTransferRoutes } from "../payouts/transfer-routes.ts";
import { DomainError, ErrorCode, invalidApiKey, validationError } from "../platform/errors.ts";
import { registerMerchantRefundRoutes } from "../treasury/merchant-refund-routes.ts";
import type { MerchantRefundService } from "../treasury/merchant-refund-service.ts";
import { registerApiReference } from "./api-reference.ts";
import { errorResponse, validationResponse } from "./error-handler.ts";
import { idempotencyLayer } from "./idempotency.ts";
import type { IdempotencyStore } from "./idempotency-store.ts";
import { type AppEnv, documentBodyRefusals, documentIdempotencyKey } from "./openapi.ts";
import { createRateLimits, type RateLimitSettings } from "./rate-limits.ts";
import { rejectMalformedText } from "./well-formed-text.ts";

export interface AppDependencies {
  tenancy: TenancyService;
  intents: PaymentIntentService;
  /** Checkout logos, served at /v1/checkout/logos/{sha256}. */
  checkoutLogos: CheckoutLogos;
  callbacks: CallbackService;
  payouts: PayoutService;
  merchantRefunds: MerchantRefundService;
  paymentLinks: PaymentLinks;
  /** Idempotency-Key on the POSTs that do not keep it themselves (http/idempotency.ts). */
  idempotency: IdempotencyStore;
  log: Logger;
  maxBodyBytes: number;
  rateLimits: RateLimitSettings;
  /** Resolves when the service can take traffic (database reachable). */
  /** false, or a report whose `ready` decides 200 or 503 and whose other fields are the body. */
  ready: (scope?: {
    chains: boolean;
  }) => Promise<boolean | ({ ready: boolean } & Record<string, unknown>)>;
  /** Added to /readyz's answer: the process's role and the leases it holds. */
  readiness?: () => Record<string, unknown>;
  metrics: Metrics;
  /** METRICS_TOKEN: when set, GET /metrics needs it as a bearer token. */
  metricsToken?: string | undefined;
  /** The admin API behind Studio (/v1/admin). */
  studio: StudioDependencies;
}

type ServiceEndpointDependencies = Pick<
  AppDependencies,
  "log" | "ready" | "readiness" | "metrics" | "metricsToken"
>;

type Env = AppEnv;

export function createApp(deps: AppDependencies) {
  const { tenancy, intents, log } = deps;
  const app = new OpenAPIHono<Env>({
    defaultHook: (result, c) => {
      if (!result.success) return validationResponse(result.error, result.target, c);
    },
  });

  handleErrors(app, log);

  // An incoming X-Request-Id of up to 128 letters, digits, "_", "-" or "=" is kept, anything
  // else replaced by a UUID; the response carries it, and so does every line logged through
  // c.get("log") while handling the request.
  app.use("*", requestId({ limitLength: 128 }));
  app.use("*", observeRequests(deps.metrics, log));

  // CORS. A preflight carries no client id, so it is answered for an Origin that some client
  // allows; the real request is checked against its own client's allowlist by authenticate, and
  // its response may be read by an origin some client allows (server calls, with an API key,
  // get no CORS headers).
  const corsMiddleware = cors({
    origin: async (origin, c) => {
      const known = async () => origin !== "" && (await tenancy.isOriginKnown(origin));
      if (c.req.method === "OPTIONS") {
        // hono/cors would answer an unknown origin's preflight 204 without the header; the API
        // refuses it with the 4003 error envelope instead, which a thrown error becomes.
        if (!(await known())) throw preflightRefused(origin);
        return origin;
      }
      return c.req.header("x-studio-api-key") === undefined && (await known()) ? origin : null;
    },
    allowMethods: ["GET", "POST"],
    allowHeaders: ["Content-Type", "X-Client-ID"],
    maxAge: 600,
  });
  app.use("/v1/*", async (c, next) => {
    if (c.req.method === "OPTIONS" || c.req.header("origin") !== undefined) {
      return corsMiddleware(c, next);
    }
    // No Origin: a server's call, or a browser's same-origin GET. No CORS header to add, and
    // hono/cors would build the response's headers before the handler runs (about a tenth of a
    // get's time on PGlite, measured with npm run bench); the cache key still varies by Origin.
    await next();
    c.res.headers.append("Vary", "Origin");
  });

  // Not on GET: reading a GET's (empty) body costs the Node adapter a full Request object.
  const tooLarge = (c: Context) =>
    c.json(
      {
        code: ErrorCode.bodyTooLarge,
        message: `request body too large (limit ${deps.maxBodyBytes} bytes)`,
      },
      413,
      // The rest of the body is never read, so this connection cannot carry another request;
      // saying so keeps a client from reusing it and failing its next call.
      { Connection: "close" },
    );
  const streamedBodyLimit = bodyLimit({ maxSize: deps.maxBodyBytes, onError: tooLarge });
  const limitBody: MiddlewareHandler<Env> = async (c, next) => {
    // A declared length (Node's parser reads no more than it) is checked from the header alone:
    // hono's bodyLimit asks for the body stream, which costs the Node adapter a full web Request
    // (streams, AbortSignal) where reading the body directly needs none (a tenth of a create's
    // CPU, measured with npm run bench). A chunked body is counted as it streams in.
    const length = c.req.header("content-length");
    if (length !== undefined && c.req.header("transfer-encoding") === undefined) {
      return Number(length) > deps.maxBodyBytes ? tooLarge(c) : next();
    }
    return streamedBodyLimit(c, next);
  };
  app.on(["POST", "PUT", "PATCH", "DELETE"], "/v1/*", limitBody);

  // By address, before any database work: the paths anyone can call without a secret (a browser
  // create: an X-Client-ID and an Origin are public; the hosted checkout and its event stream).
  const limits = createRateLimits(deps.rateLimits);
  app.on("POST", "/v1/studio/api/payment/intent", (c, next) =>
    c.req.header("x-studio-api-key") === undefined ? limits.perIp(c, next) : next(),
  );
  app.use("/v1/checkout/*", limits.perIp);
  app.use("/v1/studio/*", limits.failedAuthPerIp);
  app.use("/pay/*", limits.perIp);
  app.use("/l/*", limits.perIp);

  // Authentication runs before body and query validation: a caller without valid credentials
  // learns nothing about what a valid request would look like.
  const authenticate: MiddlewareHandler<Env> = async (c, next) => {
    c.set(
      "caller",
      await tenancy.authenticate({
        apiKey: c.req.header("x-studio-api-key"),
        clientId: c.req.header("x-client-id"),
        origin: c.req.header("origin"),
      }),
    );
    // After authentication, like the routes' own validation.
    return limits.perCaller(c, async () => {
      await rejectMalformedText(c, next);
    });
  };
  const requireApiKey: MiddlewareHandler<Env> = async (c, next) => {
    if (c.req.header("x-studio-api-key") === undefined) {
      throw invalidApiKey("this endpoint requires X-STUDIO-API-KEY");
    }
    return authenticate(c, next);
  };
  app.use("/v1/studio/api/payment/intent", authenticate);
  app.use("/v1/studio/api/payment/intent/*", (c, next) =>
    // An intent's callback log and resend, and its refunds, are for the merchant's server,
    // never a browser.
    /\/(callbacks|refunds?)(\/|$)/.test(c.req.path)
      ? requireApiKey(c, next)
      : authenticate(c, next),
  );
  app.use("/v1/studio/api/payment/intents", requireApiKey);
  // After authentication: a key is the organisation's (API key) or the client's (browser).
  app.use(
    "/v1/studio/api/*",
    idempotencyLayer<Env>({
      store: deps.idempotency,
      scopeOf: (c) => {
        const caller = c.get("caller");
        if (caller === undefined) return undefined;
        return caller.kind === "api_key"
          ? `org:${caller.orgId}`
          : `client:${caller.client.clientId}`;
      },
    }),
  );
  app.use("/v1/checkout/*", rejectMalformedText);

  registerIntentRoutes(app, intents);
  registerCheckoutRoutes(app, { intents, logos: deps.checkoutLogos });
  registerStudioPage(app);
  registerPaymentLinkPage(app, { paymentLinks: deps.paymentLinks });
  registerCallbackRoutes(app, deps.callbacks);
  registerTransferRoutes(app, { payouts: deps.payouts, requireApiKey });
  registerMerchantRefundRoutes(app, deps.merchantRefunds);
  // The admin routes' context adds the Studio session and organisation to AppEnv's variables;
  // they share this app so they share its validation hook, error mapper and OpenAPI document.
  registerAdminRoutes(app as unknown as OpenAPIHono<StudioEnv>, deps.studio, {
    idempotency: deps.idempotency,
  });

  // The credentials are documented here, once, and checked by authenticate: declaring them
  // on each route as well had hono validate every request's headers with zod, about a tenth
  // of a get's CPU (docs/decisions.md, "the credentials are documented once").
  app.openAPIRegistry.registerComponent("securitySchemes", "ApiKey", {
    type: "apiKey",
    in: "header",
    name: "X-STUDIO-API-KEY",
    description: "Server-side API key. Never send it from a browser.",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "ClientId", {
    type: "apiKey",
    in: "header",
    name: "X-Client-ID",
    description:
      "Your client ID (32 hex characters). From a browser, with an Origin the client allows; from a server, optional beside the API key (it must belong to the key's organization).",
  });
  documentBodyRefusals(app.openAPIRegistry);
  documentIdempotencyKey(app.openAPIRegistry);
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Stablegate Payment API",
      version: "1.0.0",
      description:
        "Self-hosted stablecoin payments, wire-compatible with the KryptoGO Payment API. Errors use the envelope { code, message, data? }; docs/errors.md lists every code.",
    },
    security: [{ ApiKey: [] }, { ClientId: [] }],
  });
  registerApiReference(app);
  registerServiceEndpoints(app, deps);
  return app;
}

/** A worker process's HTTP: the service endpoints alone (`serve --role worker`). */
export function createServiceApp(deps: ServiceEndpointDependencies) {
  const app = new OpenAPIHono<Env>();
  handleErrors(app, deps.log);
  registerServiceEndpoints(app, deps);
  return app;
}

function handleErrors(app: OpenAPIHono<Env>, log: Logger): void {
  app.onError((err, c) => errorResponse(err, c, log));
  app.notFound((c) =>
    c.json(
      { code: ErrorCode.notFound, message: `no route for ${c.req.method} ${c.req.path}` },
      404,
    ),
  );
}

/** Liveness, readiness and metrics, served by every role. */
function registerServiceEndpoints(app: OpenAPIHono<Env>, deps: ServiceEndpointDependencies): void {
  registerMetricsRoute(app, { metrics: deps.metrics, token: deps.metricsToken });
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  // `?exclude=chains` (as Kubernetes' /readyz?exclude=…) leaves the chains out: the check a load
  // balancer should use for API processes, which serve requests whatever a chain's node does.
  app.get("/readyz", async (c) => {
    const exclude = (c.req.queries("exclude") ?? []).flatMap((v) => v.split(","));
    const unknown = exclude.find((v) => v !== "chains");
    if (unknown !== undefined) {
      throw validationError("exclude", `"${unknown}" is not a check; the one to exclude is chains`);
    }
    const report = await deps.ready({ chains: !exclude.includes("chains") });
    const { ready, ...details } = typeof report === "boolean" ? { ready: report } : report;
    const body = { ...deps.readiness?.(), ...details };
    return ready
      ? c.json({ status: "ready", ...body })
      : c.json({ status: "not ready", ...body }, 503);
  });
}

function preflightRefused(origin: string): DomainError {
  return new DomainError({
    status: 403,
    code: ErrorCode.originNotAllowed,
    message: `origin ${origin === "" ? "(none)" : origin} is not allowed`,
  });
}
