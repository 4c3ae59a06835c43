import type { Context, Hono } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import type { AppEnv } from "../http/openapi.ts";
import { ErrorCode } from "../platform/errors.ts";
import type { Metrics } from "./metrics.ts";

const metricsTokenRequired = {
  code: ErrorCode.metricsTokenInvalid,
  message: "GET /metrics needs Authorization: Bearer <METRICS_TOKEN>",
};

/**
 * GET /metrics in the Prometheus text format. With `token` (METRICS_TOKEN) it needs
 * `Authorization: Bearer <token>`; without, it is open to whoever reaches the port.
 */
export function registerMetricsRoute(
  app: Hono<AppEnv>,
  options: { metrics: Metrics; token?: string | undefined },
): void {
  const { registry } = options.metrics;
  if (options.token !== undefined) {
    // Missing, malformed (another scheme) or wrong: the same 401 in the API's envelope; the
    // middleware adds the WWW-Authenticate challenge and compares in constant time.
    const refused = { message: (c: Context) => c.json(metricsTokenRequired, 401) };
    app.use(
      "/metrics",
      bearerAuth({
        token: options.token,
        noAuthenticationHeader: refused,
        invalidAuthenticationHeader: refused,
        invalidToken: refused,
      }),
    );
  }
  app.get("/metrics", async (c) =>
    c.body(await registry.metrics(), 200, { "Content-Type": registry.contentType }),
  );
}
