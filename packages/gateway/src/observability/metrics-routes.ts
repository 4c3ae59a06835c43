import { timingSafeEqual } from "node:crypto";
import type { Hono, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { AppEnv } from "../http/openapi.ts";
import { DomainError, ErrorCode } from "../platform/errors.ts";
import type { Metrics } from "./metrics.ts";

/**
 * Times every request into stablegate_http_request_duration_seconds, labelled with the route
 * PATTERN that answered (`/v1/studio/api/payment/intent/:id`), never the raw path: ids in paths
 * would make a series per intent. Requests no route matched count under the pattern of the
 * middleware that answered them ("*", "/v1/*"), so the label set stays the app's routes.
 */
export function httpMetrics(metrics: Metrics): MiddlewareHandler {
  return async (c, next) => {
    const end = metrics.httpDuration.startTimer();
    try {
      await next();
    } finally {
      const route = matchedRoutes(c)[c.req.routeIndex]?.path ?? "(none)";
      end({ method: c.req.method, route, status: String(c.res.status) });
    }
  };
}

/**
 * GET /metrics in the Prometheus text format. With `token` (METRICS_TOKEN) it needs
 * `Authorization: Bearer <token>`; without, it is open to whoever reaches the port.
 */
export function registerMetricsRoute(
  app: Hono<AppEnv>,
  options: { metrics: Metrics; token?: string | undefined },
): void {
  const { registry } = options.metrics;
  const expected = options.token === undefined ? undefined : Buffer.from(options.token);
  app.get("/metrics", async (c) => {
    if (expected !== undefined) {
      const sent = Buffer.from(
        /^Bearer (.+)$/i.exec(c.req.header("authorization") ?? "")?.[1] ?? "",
      );
      if (sent.length !== expected.length || !timingSafeEqual(sent, expected)) {
        throw new DomainError({
          status: 401,
          code: ErrorCode.metricsTokenInvalid,
          message: "GET /metrics needs Authorization: Bearer <METRICS_TOKEN>",
        });
      }
    }
    return c.body(await registry.metrics(), 200, { "Content-Type": registry.contentType });
  });
}
