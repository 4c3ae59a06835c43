import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context, MiddlewareHandler } from "hono";
import { rateLimiter } from "hono-rate-limiter";
import ipaddr from "ipaddr.js";
import { ErrorCode } from "../platform/errors.ts";
import type { AppEnv } from "./openapi.ts";

// Request limits in a fixed window, counted in this process's memory (hono-rate-limiter's
// MemoryStore): with N gateway processes behind a balancer a caller gets up to N times the limit.
// docs/configuration.md#rate-limits says so; docs/decisions.md says why not PostgreSQL.

export interface RateLimitSettings {
  windowSeconds: number;
  /** Requests per window per API key (server calls); 0: no limit. */
  perApiKey: number;
  /** Requests per window per client id (browser calls, all of its payers together); 0: none. */
  perClient: number;
  /** Requests per window per IP on the public paths (browser create, checkout); 0: none. */
  perIp: number;
  /** How many reverse proxies in front append to X-Forwarded-For; 0: use the socket's address. */
  trustProxy: number;
}

type RateLimitInfo = { resetTime?: Date };

/** The 429 answer: the KryptoGO envelope with code 4029 and when to come back. */
function tooManyRequests(
  c: Context,
  windowSeconds: number,
  what: string,
  resetAt?: number,
): Response {
  const info = (c as Context<{ Variables: { rateLimit?: RateLimitInfo } }>).get("rateLimit");
  const reset = resetAt ?? info?.resetTime?.getTime();
  const retryAfter =
    reset === undefined ? windowSeconds : Math.max(1, Math.ceil((reset - Date.now()) / 1000));
  return c.json(
    {
      code: ErrorCode.tooManyRequests,
      message: `too many requests for this ${what}: retry after ${retryAfter} s`,
      data: { retry_after: retryAfter },
    },
    429,
    { "Retry-After": String(retryAfter) },
  );
}

/**
 * The address a request comes from: the socket's, or with `trustProxy` = n the n-th address from
 * the right of X-Forwarded-For (what the outermost trusted proxy saw). IPv6 addresses count by
 * their /64, which one subscriber usually holds whole.
 */
export function clientIp(c: Context, trustProxy: number): string {
  let ip: string | undefined;
  if (trustProxy > 0) {
    const hops = (c.req.header("x-forwarded-for") ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
    ip = hops[hops.length - trustProxy] ?? hops[0];
  }
  if (ip === undefined) {
    try {
      ip = getConnInfo(c).remote.address;
    } catch {
      // Not served by @hono/node-server (app.fetch called directly): one shared bucket.
    }
  }
  if (ip === undefined || !ipaddr.isValid(ip)) return ip ?? "unknown";
  const addr = ipaddr.process(ip);
  if (addr.kind() === "ipv4") return addr.toString();
  return `${(addr as ipaddr.IPv6).parts.slice(0, 4).join(":")}::/64`;
}

export function createRateLimits(settings: RateLimitSettings) {
  const windowMs = settings.windowSeconds * 1000;
  const common = { windowMs, standardHeaders: false as const };
  const off: MiddlewareHandler<AppEnv> = (_c, next) => next();

  /** After authentication: the caller's API key, or its client id on the browser path. */
  const perCaller: MiddlewareHandler<AppEnv> =
    settings.perApiKey === 0 && settings.perClient === 0
      ? off
      : rateLimiter<AppEnv>({
          ...common,
          limit: (c) =>
            c.get("caller").kind === "api_key" ? settings.perApiKey : settings.perClient,
          skip: (c) =>
            (c.get("caller").kind === "api_key" ? settings.perApiKey : settings.perClient) === 0,
          keyGenerator: (c) => {
            const caller = c.get("caller");
            return caller.kind === "api_key"
              ? `key:${caller.apiKeyId}`
              : `client:${caller.client.clientId}`;
          },
          handler: (c) =>
            tooManyRequests(
              c,
              settings.windowSeconds,
              c.get("caller").kind === "api_key" ? "API key" : "client",
            ),
        });

  /** Before authentication, on paths anyone may call: counted by the caller's address. */
  const perIp: MiddlewareHandler =
    settings.perIp === 0
      ? off
      : rateLimiter({
          ...common,
          limit: settings.perIp,
          keyGenerator: (c) => clientIp(c, settings.trustProxy),
          handler: (c) => tooManyRequests(c, settings.windowSeconds, "address"),
        });

  /**
   * Before authentication on the authenticated API: an address's answers of 401 (unknown key or
   * client id), counted against the same limit; past it, the address's every call waits. Only the
   * 401s are counted, after the answer: counting every call and giving it back afterwards (what
   * hono-rate-limiter's skipSuccessfulRequests does) refused a server's valid calls whenever more
   * than the limit were in flight at once, and cost every call the address lookup.
   */
  const failedAuthPerIp: MiddlewareHandler =
    settings.perIp === 0 ? off : failuresPerAddress(settings, windowMs);

  return { perCaller, perIp, failedAuthPerIp };
}

/** The 401s per address in a fixed window, in this process's memory. */
function failuresPerAddress(settings: RateLimitSettings, windowMs: number): MiddlewareHandler {
  const windows = new Map<string, { failures: number; resetAt: number }>();
  let nextPrune = 0;
  return async (c, next) => {
    // Nothing counted (every call so far authenticated): no address to work out.
    if (windows.size > 0) {
      const window = windows.get(clientIp(c, settings.trustProxy));
      if (window !== undefined && window.resetAt > Date.now() && window.failures >= settings.perIp)
        return tooManyRequests(c, settings.windowSeconds, "address", window.resetAt);
    }
    await next();
    if (c.res.status !== 401) return;
    const now = Date.now();
    if (now >= nextPrune) {
      for (const [address, w] of windows) if (w.resetAt <= now) windows.delete(address);
      nextPrune = now + windowMs;
    }
    const address = clientIp(c, settings.trustProxy);
    const window = windows.get(address);
    if (window === undefined || window.resetAt <= now)
      windows.set(address, { failures: 1, resetAt: now + windowMs });
    else window.failures += 1;
  };
}
