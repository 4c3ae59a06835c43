import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context, MiddlewareHandler } from "hono";
import ipaddr from "ipaddr.js";
import { ErrorCode } from "../platform/errors.ts";
import type { AppEnv } from "./openapi.ts";

// Request limits in a fixed window, counted in this process's memory (fixedWindows below):
// with N gateway processes behind a balancer a caller gets up to N times the limit.
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

/** The 429 answer: the KryptoGO envelope with code 4029 and when to come back. */
function tooManyRequests(c: Context, what: string, resetAt: number): Response {
  const retryAfter = Math.max(1, Math.ceil((resetAt - Date.now()) / 1000));
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
  const off: MiddlewareHandler<AppEnv> = (_c, next) => next();

  /** After authentication: the caller's API key, or its client id on the browser path. */
  const callers = fixedWindows(windowMs);
  const perCaller: MiddlewareHandler<AppEnv> =
    settings.perApiKey === 0 && settings.perClient === 0
      ? off
      : (c, next) => {
          const caller = c.get("caller");
          const byKey = caller.kind === "api_key";
          const limit = byKey ? settings.perApiKey : settings.perClient;
          if (limit === 0) return next();
          const window = callers.hit(
            byKey ? `key:${caller.apiKeyId}` : `client:${caller.client.clientId}`,
          );
          if (window.count <= limit) return next();
          return Promise.resolve(tooManyRequests(c, byKey ? "API key" : "client", window.resetAt));
        };

  /** Before authentication, on paths anyone may call: counted by the caller's address. */
  const addresses = fixedWindows(windowMs);
  const perIp: MiddlewareHandler =
    settings.perIp === 0
      ? off
      : (c, next) => {
          const window = addresses.hit(clientIp(c, settings.trustProxy));
          if (window.count <= settings.perIp) return next();
          return Promise.resolve(tooManyRequests(c, "address", window.resetAt));
        };

  /**
   * Before authentication on the authenticated API: an address's answers of 401 (unknown key or
   * client id), counted against the same limit; past it, the address's every call waits. Only the
   * 401s are counted, after the answer: counting every call and giving it back afterwards (what
   * hono-rate-limiter's skipSuccessfulRequests did) refused a server's valid calls whenever more
   * than the limit were in flight at once, and cost every call the address lookup.
   */
  const failures = fixedWindows(windowMs);
  const failedAuthPerIp: MiddlewareHandler =
    settings.perIp === 0
      ? off
      : async (c, next) => {
          // Nothing counted (every call so far authenticated): no address to work out.
          if (failures.size() > 0) {
            const window = failures.peek(clientIp(c, settings.trustProxy));
            if (window !== undefined && window.count >= settings.perIp)
              return tooManyRequests(c, "address", window.resetAt);
          }
          await next();
          if (c.res.status === 401) failures.hit(clientIp(c, settings.trustProxy));
        };

  return { perCaller, perIp, failedAuthPerIp };
}

/**
 * Counts per key in fixed windows, each starting at its key's first count, in this process's
 * memory; windows that ended are dropped once a window. A Map and a number per key: what
 * hono-rate-limiter's MemoryStore did, without the middleware around it, which cost a get a
 * twentieth of its CPU (npm run bench, rate limits on and off).
 */
function fixedWindows(windowMs: number) {
  const windows = new Map<string, { count: number; resetAt: number }>();
  let nextPrune = 0;
  return {
    /** Counts one for `key`: its window, with the count so far and when the window ends. */
    hit(key: string): { count: number; resetAt: number } {
      const now = Date.now();
      if (now >= nextPrune) {
        for (const [k, w] of windows) if (w.resetAt <= now) windows.delete(k);
        nextPrune = now + windowMs;
      }
      let window = windows.get(key);
      if (window === undefined || window.resetAt <= now) {
        window = { count: 0, resetAt: now + windowMs };
        windows.set(key, window);
      }
      window.count += 1;
      return window;
    },
    /** The key's window if it has not ended, without counting. */
    peek(key: string): { count: number; resetAt: number } | undefined {
      const window = windows.get(key);
      return window !== undefined && window.resetAt > Date.now() ? window : undefined;
    },
    size: () => windows.size,
  };
}
