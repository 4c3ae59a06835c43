import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { Logger } from "pino";
import type { AppEnv } from "../http/openapi.ts";
import type { Metrics } from "./metrics.ts";

type HistogramChild = ReturnType<Metrics["httpDuration"]["labels"]>;

/**
 * What every request gets, in one middleware (each one is a closure and a promise more on every
 * request): its logger (`c.get("log")`, carrying the request id), a debug line with its status
 * and time, and its time in stablegate_http_request_duration_seconds. Runs after hono's
 * requestId.
 *
 * The histogram is labelled with the route PATTERN that answered
 * (`/v1/studio/api/payment/intent/:id`), never the raw path: ids in paths would make a series
 * per intent. Requests no route matched count under the pattern of the middleware that answered
 * them ("*", "/v1/*"), so the label set stays the app's routes. Each label set's child is kept:
 * prom-client checks and hashes the labels on every observe otherwise.
 */
export function observeRequests(metrics: Metrics, log: Logger): MiddlewareHandler<AppEnv> {
  const children = new Map<string, HistogramChild>();
  return async (c, next) => {
    const started = performance.now();
    const requestLog = log.child({ request_id: c.get("requestId") });
    c.set("log", requestLog);
    try {
      await next();
    } finally {
      const ms = performance.now() - started;
      const method = c.req.method;
      const route = matchedRoutes(c)[c.req.routeIndex]?.path ?? "(none)";
      const status = String(c.res.status);
      const key = `${method} ${status} ${route}`;
      let child = children.get(key);
      if (child === undefined) {
        child = metrics.httpDuration.labels({ method, route, status });
        children.set(key, child);
      }
      child.observe(ms / 1000);
      requestLog.debug(
        { method, path: c.req.path, status: c.res.status, ms: Math.round(ms) },
        "request",
      );
    }
  };
}
