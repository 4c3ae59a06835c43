import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { Scalar } from "@scalar/hono-api-reference";
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Logger } from "pino";
import { ErrorCode, invalidApiKey } from "../domain/errors.ts";
import type { CallbackService } from "../services/callback-service.ts";
import type { PaymentIntentService } from "../services/payment-intent-service.ts";
import type { PayoutService } from "../services/payout-service.ts";
import type { Caller, TenancyService } from "../services/tenancy-service.ts";
import { registerCallbackRoutes } from "./callback-routes.ts";
import { registerCheckoutRoutes } from "./checkout-routes.ts";
import { errorResponse, validationResponse } from "./error-handler.ts";
import {
  AuthHeaders,
  CreatePaymentIntentBody,
  ErrorEnvelope,
  envelope,
  IntentIdParam,
  ListPaymentIntentsQuery,
  PaymentIntent,
  PaymentIntentList,
} from "./schemas.ts";
import { registerTransferRoutes } from "./transfer-routes.ts";

export interface AppDependencies {
  tenancy: TenancyService;
  intents: PaymentIntentService;
  callbacks: CallbackService;
  payouts: PayoutService;
  log: Logger;
  maxBodyBytes: number;
  /** Resolves when the service can take traffic (database reachable). */
  ready: () => Promise<boolean>;
}

export type AppEnv = { Variables: { caller: Caller } };
type Env = AppEnv;

const errorResponses = {
  400: {
    description: "Invalid request (code 4000)",
    content: { "application/json": { schema: ErrorEnvelope } },
  },
  401: {
    description: "Invalid client id (4001) or API key (4002)",
    content: { "application/json": { schema: ErrorEnvelope } },
  },
  403: {
    description: "Origin not allowed for this client (4003)",
    content: { "application/json": { schema: ErrorEnvelope } },
  },
} as const;

const createIntentRoute = createRoute({
  method: "post",
  path: "/v1/studio/api/payment/intent",
  tags: ["Payment intents"],
  summary: "Create payment intent",
  description:
    "From a server: X-STUDIO-API-KEY (X-Client-ID optional, must belong to the key's organization). From a browser: X-Client-ID and an allowed Origin.",
  request: {
    headers: AuthHeaders,
    body: { required: true, content: { "application/json": { schema: CreatePaymentIntentBody } } },
  },
  responses: {
    200: {
      description: "The new payment intent",
      content: { "application/json": { schema: envelope(PaymentIntent) } },
    },
    ...errorResponses,
    413: {
      description: "Body too large (4013)",
      content: { "application/json": { schema: ErrorEnvelope } },
    },
  },
});

const getIntentRoute = createRoute({
  method: "get",
  path: "/v1/studio/api/payment/intent/{id}",
  tags: ["Payment intents"],
  summary: "Get payment intent",
  request: { headers: AuthHeaders, params: IntentIdParam },
  responses: {
    200: {
      description: "The payment intent",
      content: { "application/json": { schema: envelope(PaymentIntent) } },
    },
    ...errorResponses,
    404: {
      description: "Unknown payment intent (4006)",
      content: { "application/json": { schema: ErrorEnvelope } },
    },
  },
});

const listIntentsRoute = createRoute({
  method: "get",
  path: "/v1/studio/api/payment/intents",
  tags: ["Payment intents"],
  summary: "List payment intents for organization",
  description: "Requires X-STUDIO-API-KEY. Newest first.",
  request: { headers: AuthHeaders, query: ListPaymentIntentsQuery },
  responses: {
    200: {
      description: "A page of payment intents",
      content: { "application/json": { schema: envelope(PaymentIntentList) } },
    },
    ...errorResponses,
  },
});

export function createApp(deps: AppDependencies) {
  const { tenancy, intents, log } = deps;
  const app = new OpenAPIHono<Env>({
    defaultHook: (result, c) => {
      if (!result.success) return validationResponse(result.error, result.target, c);
    },
  });

  app.onError((err, c) => errorResponse(err, c, log));
  app.notFound((c) =>
    c.json(
      { code: ErrorCode.notFound, message: `no route for ${c.req.method} ${c.req.path}` },
      404,
    ),
  );

  app.use("*", async (c, next) => {
    const started = performance.now();
    await next();
    log.debug(
      {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(performance.now() - started),
      },
      "request",
    );
  });

  // CORS. A preflight carries no client id, so it is answered for an Origin that some client
  // allows; the real request is then checked against its own client's allowlist.
  app.use("/v1/*", async (c, next) => {
    const origin = c.req.header("origin");
    if (c.req.method === "OPTIONS") {
      if (origin === undefined || !(await tenancy.isOriginKnown(origin))) {
        return c.json(
          {
            code: ErrorCode.originNotAllowed,
            message: `origin ${origin ?? "(none)"} is not allowed`,
          },
          403,
        );
      }
      return c.body(null, 204, {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "GET, POST",
        "Access-Control-Allow-Headers": "Content-Type, X-Client-ID",
        "Access-Control-Max-Age": "600",
        Vary: "Origin",
      });
    }
    await next();
    if (
      origin !== undefined &&
      c.req.header("x-studio-api-key") === undefined &&
      // A browser caller's origin was just checked against its client; others ask the database.
      (c.get("caller")?.kind === "browser" || (await tenancy.isOriginKnown(origin)))
    ) {
      c.res.headers.set("Access-Control-Allow-Origin", origin);
      c.res.headers.append("Vary", "Origin");
    }
  });

  // POST only: reading a GET's (empty) body costs the Node adapter a full Request object.
  app.on(
    "POST",
    "/v1/*",
    bodyLimit({
      maxSize: deps.maxBodyBytes,
      onError: (c) =>
        c.json(
          {
            code: ErrorCode.bodyTooLarge,
            message: `request body too large (limit ${deps.maxBodyBytes} bytes)`,
          },
          413,
          // The rest of the body is never read, so this connection cannot carry another request;
          // saying so keeps a client from reusing it and failing its next call.
          { Connection: "close" },
        ),
    }),
  );

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
    await next();
  };
  const requireApiKey: MiddlewareHandler<Env> = async (c, next) => {
    if (c.req.header("x-studio-api-key") === undefined) {
      throw invalidApiKey("this endpoint requires X-STUDIO-API-KEY");
    }
    await authenticate(c, next);
  };
  app.use("/v1/studio/api/payment/intent", authenticate);
  app.use("/v1/studio/api/payment/intent/*", (c, next) =>
    // An intent's callback log and resend are for the merchant's server, never a browser.
    /\/callbacks(\/|$)/.test(c.req.path) ? requireApiKey(c, next) : authenticate(c, next),
  );
  app.use("/v1/studio/api/payment/intents", requireApiKey);

  app.openapi(createIntentRoute, async (c) => {
    const intent = await intents.create(c.get("caller"), c.req.valid("json"));
    return c.json({ code: 0 as const, data: intent }, 200);
  });

  app.openapi(getIntentRoute, async (c) => {
    const intent = await intents.get(c.get("caller"), c.req.valid("param").id);
    return c.json({ code: 0 as const, data: intent }, 200);
  });

  app.openapi(listIntentsRoute, async (c) => {
    const page = await intents.list(c.get("caller"), c.req.valid("query"));
    return c.json({ code: 0 as const, data: page }, 200);
  });

  registerCheckoutRoutes(app, { intents, log });
  registerCallbackRoutes(app, deps.callbacks);
  registerTransferRoutes(app, { payouts: deps.payouts, requireApiKey });

  app.openAPIRegistry.registerComponent("securitySchemes", "ApiKey", {
    type: "apiKey",
    in: "header",
    name: "X-STUDIO-API-KEY",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "ClientId", {
    type: "apiKey",
    in: "header",
    name: "X-Client-ID",
  });
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
  app.get("/docs", Scalar({ url: "/openapi.json", pageTitle: "Stablegate API reference" }));
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) =>
    (await deps.ready()) ? c.json({ status: "ready" }) : c.json({ status: "not ready" }, 503),
  );
  return app;
}
