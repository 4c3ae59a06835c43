import { Readable } from "node:stream";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { stringify } from "csv-stringify";
import { CallbackEvent } from "../../callbacks/schemas.ts";
import { envelope, errorResponse, jsonResponse, PageQuery, pageOf } from "../../http/openapi.ts";
import { CALLBACK_URL_MAX_CHARS } from "../../payments/schemas.ts";
import { validationError } from "../../platform/errors.ts";
import {
  ADMIN_TAG,
  adminErrorResponses,
  OrgIntentParams,
  OrgParam,
  studioSecurity,
} from "../admin-openapi.ts";
import { recordAudit } from "../audit-log.ts";
import type { StudioEnv } from "../studio-auth.ts";
import type { StudioContext } from "../studio-context.ts";
import {
  CALLBACK_STATES,
  createCallbackAdmin,
  Delivery,
  FailingEndpoint,
  TestEventResult,
} from "./callback-admin.ts";
import { createOverview, Overview } from "./overview.ts";
import { PaymentDetail, paymentDetail } from "./payment-detail.ts";
import { paymentRows, withdrawalRows } from "./payment-exports.ts";
import {
  AdminPayment,
  createPaymentSearch,
  DateRange,
  PaymentSearchQuery,
  rangeProblem,
} from "./payment-search.ts";

const TAG = `${ADMIN_TAG}: Payments`;
const CALLBACKS_TAG = `${ADMIN_TAG}: Callbacks`;
const EXPORTS_TAG = `${ADMIN_TAG}: Exports`;

const notFound = { 404: errorResponse("Unknown organisation (4004) or payment intent (4006)") };

const overviewRoute = createRoute({
  method: "get",
  path: "/v1/admin/orgs/{orgId}/overview",
  tags: [TAG],
  summary: "Volume per day, outcomes, work in flight, balances and alerts",
  security: studioSecurity,
  request: {
    params: OrgParam,
    query: z.object({
      days: z
        .preprocess(
          (v) => (typeof v === "string" && !/^[0-9]{1,4}$/.test(v) ? Number.NaN : v),
          z.coerce.number({ error: "must be a whole number of days" }).int().min(1).max(366),
        )
        .default(30)
        .openapi({ type: "integer", minimum: 1, maximum: 366, example: 30 }),
    }),
  },
  responses: {
    200: jsonResponse(envelope(Overview), "The overview"),
    ...adminErrorResponses,
    ...notFound,
  },
});

const listRoute = createRoute({
  method: "get",
  path: "/v1/admin/orgs/{orgId}/payments",
  tags: [TAG],
  summary: "Search the organisation's payment intents",
  description:
    "Every filter combines with the others (AND). total_count is exact up to 10,000; above, it is 10,000 and total_count_capped is true.",
  security: studioSecurity,
  request: { params: OrgParam, query: PaymentSearchQuery },
  responses: {
    200: jsonResponse(
      envelope(pageOf(AdminPayment).extend({ total_count_capped: z.boolean() })),
      "A page of intents",
    ),
    ...adminErrorResponses,
    ...notFound,
  },
});

const detailRoute = createRoute({
  method: "get",
  path: "/v1/admin/orgs/{orgId}/payments/{id}",
  tags: [TAG],
  summary: "An intent with its timeline, transfers, refunds, collections, callbacks and events",
  security: studioSecurity,
  request: { params: OrgIntentParams },
  responses: {
    200: jsonResponse(envelope(PaymentDetail), "The intent and everything that happened to it"),
    ...adminErrorResponses,
    ...notFound,
  },
});

const resendRoute = createRoute({
  method: "post",
  path: "/v1/admin/orgs/{orgId}/payments/{id}/callbacks/resend",
  tags: [TAG],
  summary: "Deliver the intent's latest callback event again",
  security: studioSecurity,
  request: { params: OrgIntentParams },
  responses: {
    200: jsonResponse(envelope(CallbackEvent), "The event, pending again"),
    ...adminErrorResponses,
    ...notFound,
    409: errorResponse("The intent has no callback event to resend (4016)"),
  },
});

const deliveriesRoute = createRoute({
  method: "get",
  path: "/v1/admin/orgs/{orgId}/callbacks",
  tags: [CALLBACKS_TAG],
  summary: "Every callback delivery of the organisation, newest first",
  security: studioSecurity,
  request: {
    params: OrgParam,
    query: PageQuery.extend({ state: z.enum(CALLBACK_STATES).optional() }),
  },
  responses: {
    200: jsonResponse(envelope(pageOf(Delivery)), "A page of deliveries"),
    ...adminErrorResponses,
    ...notFound,
  },
});

const endpointsRoute = createRoute({
  method: "get",
  path: "/v1/admin/orgs/{orgId}/callbacks/endpoints",
  tags: [CALLBACKS_TAG],
  summary: "Callback URLs failing now (since their last successful delivery)",
  security: studioSecurity,
  request: { params: OrgParam },
  responses: {
    200: jsonResponse(envelope(z.array(FailingEndpoint)), "The failing endpoints"),
    ...adminErrorResponses,
    ...notFound,
  },
});

const testRoute = createRoute({
  method: "post",
  path: "/v1/admin/orgs/{orgId}/callbacks/test",
  tags: [CALLBACKS_TAG],
  summary: "Send a signed test event to a URL now",
  description:
    "Signed like a status callback (X-Stablegate-Signature with the webhook secret), through the same address guard; the payload is in docs/callbacks.md.",
  security: studioSecurity,
  request: {
    params: OrgParam,
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.object({
            url: z
              .string({ error: "is required" })
              .max(CALLBACK_URL_MAX_CHARS)
              .refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol), {
                message: "must be an http(s) URL",
              }),
          }),
        },
      },
    },
  },
  responses: {
    200: jsonResponse(envelope(TestEventResult), "What the receiver answered"),
    ...adminErrorResponses,
    ...notFound,
  },
});

const csvResponse = (what: string) => ({
  description: `${what} as CSV (a header row, then one row each)`,
  content: { "text/csv": { schema: z.string() } },
});

const RangeQuery = DateRange.superRefine((q, ctx) => {
  const problem = rangeProblem(q);
  if (problem) ctx.addIssue({ code: "custom", path: ["from"], message: problem });
});

const paymentsCsvRoute = createRoute({
  method: "get",
  path: "/v1/admin/orgs/{orgId}/exports/payments.csv",
  tags: [EXPORTS_TAG],
  summary: "Payment intents created in a date range, as CSV",
  security: studioSecurity,
  request: { params: OrgParam, query: RangeQuery },
  responses: { 200: csvResponse("Payment intents"), ...adminErrorResponses, ...notFound },
});

const withdrawalsCsvRoute = createRoute({
  method: "get",
  path: "/v1/admin/orgs/{orgId}/exports/withdrawals.csv",
  tags: [EXPORTS_TAG],
  summary: "Withdrawals (transfers from the hot wallet) made in a date range, as CSV",
  security: studioSecurity,
  request: { params: OrgParam, query: RangeQuery },
  responses: { 200: csvResponse("Withdrawals"), ...adminErrorResponses, ...notFound },
});

/** Rows (arrays of strings) streamed as CSV with a header, as a download. */
function csvDownload(filename: string, header: string[], rows: AsyncIterable<string[]>): Response {
  const csv = Readable.from(rows).pipe(stringify({ header: true, columns: header }));
  return new Response(Readable.toWeb(csv) as ReadableStream, {
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${filename}"`,
      "cache-control": "no-store",
    },
  });
}

/** Overview, payments, callbacks and exports (the contract's PAY part). */
export function registerPaymentAdminRoutes(app: OpenAPIHono<StudioEnv>, ctx: StudioContext): void {
  const { auth, db } = ctx;
  const search = createPaymentSearch({ db });
  const callbackAdmin = createCallbackAdmin({
    db,
    guard: ctx.callbackGuard,
    secrets: ctx.webhookSecrets,
    timeoutMs: ctx.callbackTimeoutMs,
  });
  const overview = createOverview({
    db,
    chains: ctx.chains,
    wallets: ctx.wallets,
    client: ctx.rpcClient,
    callbacks: callbackAdmin,
  });

  app.use("/v1/admin/orgs/:orgId/overview", auth.requireOrg("read"));
  app.use("/v1/admin/orgs/:orgId/payments", auth.requireOrg("read"));
  app.on("GET", "/v1/admin/orgs/:orgId/payments/:id", auth.requireOrg("read"));
  app.use(
    "/v1/admin/orgs/:orgId/payments/:id/callbacks/resend",
    auth.requireOrg("callbacks:write"),
  );
  app.on(
    "GET",
    ["/v1/admin/orgs/:orgId/callbacks", "/v1/admin/orgs/:orgId/callbacks/endpoints"],
    auth.requireOrg("read"),
  );
  app.use("/v1/admin/orgs/:orgId/callbacks/test", auth.requireOrg("callbacks:write"));
  app.use("/v1/admin/orgs/:orgId/exports/*", auth.requireOrg("read"));

  app.openapi(overviewRoute, async (c) => {
    const data = await overview.read(c.get("org").orgId, c.req.valid("query").days);
    return c.json({ code: 0 as const, data }, 200);
  });

  app.openapi(listRoute, async (c) => {
    const data = await search.list(c.get("org").orgId, c.req.valid("query"));
    return c.json({ code: 0 as const, data }, 200);
  });

  app.openapi(detailRoute, async (c) => {
    const data = await paymentDetail(ctx, c.get("org").orgId, c.req.valid("param").id);
    return c.json({ code: 0 as const, data }, 200);
  });

  app.openapi(resendRoute, async (c) => {
    const { orgId } = c.get("org");
    const { id } = c.req.valid("param");
    // The organisation-wide view an API key has: the intent must be this organisation's.
    const event = await ctx.callbacks.resend(
      { kind: "api_key", orgId, apiKeyId: 0, client: undefined },
      id,
    );
    await recordAudit(db, c.get("studio").actor, {
      orgId,
      action: "callback.resent",
      target: `payment_intent:${id}`,
      after: { event_id: event.event_id },
    });
    return c.json({ code: 0 as const, data: event }, 200);
  });

  app.openapi(deliveriesRoute, async (c) => {
    const data = await callbackAdmin.list(c.get("org").orgId, c.req.valid("query"));
    return c.json({ code: 0 as const, data }, 200);
  });

  app.openapi(endpointsRoute, async (c) => {
    const data = await callbackAdmin.failingEndpoints(c.get("org").orgId);
    return c.json({ code: 0 as const, data }, 200);
  });

  app.openapi(testRoute, async (c) => {
    const { orgId } = c.get("org");
    const { url } = c.req.valid("json");
    const parsed = new URL(url);
    if (parsed.hostname === "") throw validationError("url", "must name a host");
    const data = await callbackAdmin.sendTest(orgId, url);
    // The URL's user:password (sent as Basic authorisation) stays out of the log.
    parsed.username = "";
    parsed.password = "";
    await recordAudit(db, c.get("studio").actor, {
      orgId,
      action: "callback.test_sent",
      target: parsed.toString(),
      after: { http_status: data.http_status, error: data.error },
    });
    return c.json({ code: 0 as const, data }, 200);
  });

  app.openapi(paymentsCsvRoute, (c) => {
    const { header, rows } = paymentRows(search, c.get("org").orgId, c.req.valid("query"));
    return csvDownload("payments.csv", header, rows) as never;
  });

  app.openapi(withdrawalsCsvRoute, (c) => {
    const { header, rows } = withdrawalRows(
      ctx.withdrawals,
      c.get("org").orgId,
      c.req.valid("query"),
    );
    return csvDownload("withdrawals.csv", header, rows) as never;
  });
}
