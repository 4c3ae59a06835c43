import type { Context, MiddlewareHandler } from "hono";
import {
  idempotencyKeyInUse,
  idempotencyKeyReused,
  requestHash,
  validateIdempotencyKey,
} from "../platform/idempotency.ts";
import type { IdempotencyStore } from "./idempotency-store.ts";

/**
 * POSTs that keep their Idempotency-Key on the rows they write, in the same transaction, and so
 * are exactly once across a crash: intent create (payments/payment-intent-service.ts), the
 * transfer API (payouts/) and a merchant refund (the API's and Studio's). The generic layer
 * leaves them alone.
 */
const HANDLED_BY_THE_ROUTE: RegExp[] = [
  /^\/v1\/studio\/api\/payment\/intent\/?$/,
  /^\/v1\/studio\/api\/payment\/intent\/[^/]+\/refund\/?$/,
  /^\/v1\/admin\/orgs\/[^/]+\/payments\/[^/]+\/refunds\/?$/,
  /^\/v1\/studio\/api\/asset_pro\/transfer\/?$/,
];

/** The response header on a replayed answer (as Stripe's). */
export const REPLAYED_HEADER = "Idempotent-Replayed";

/**
 * Idempotency-Key on every other POST (docs/decisions.md, "2026-11-28: Idempotency-Key on every
 * POST"): mounted after authentication, with `scopeOf` naming whose keys these are (undefined:
 * no caller, the header is ignored). The first request with a key claims it; its 2xx answer is
 * stored and sent again to any retry with the same key, method, path and body for 24 hours; an
 * error answer releases the key (the request changed nothing). The same key with another
 * request is 409 / 4018; a retry while the first is still running, 409 / 4090 with Retry-After.
 * A request without the header costs one header lookup.
 */
export function idempotencyLayer<E extends { Variables: object }>(options: {
  store: IdempotencyStore;
  scopeOf: (c: Context<E>) => string | undefined;
}): MiddlewareHandler<E> {
  const { store } = options;
  return async (c, next) => {
    if (c.req.method !== "POST") return next();
    const key = c.req.header("idempotency-key");
    if (key === undefined) return next();
    if (HANDLED_BY_THE_ROUTE.some((p) => p.test(c.req.path))) return next();
    const scope = options.scopeOf(c);
    if (scope === undefined) return next();
    validateIdempotencyKey(key);

    // The body as JSON with its keys sorted (spacing and key order do not make a new request);
    // anything else as sent. Hono keeps the text for the route's own validator.
    const text = await c.req.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: the route's validator answers it
    }
    // The path as sent, still percent-encoded: Hono's c.req.path is decoded, and a decoded
    // %00 cannot be stored in a text column (the route answers such an id 400 afterwards).
    const { pathname, search } = new URL(c.req.url);
    const request = {
      scope,
      key,
      method: c.req.method,
      path: pathname + search,
      requestHash: requestHash(c.req.method, pathname + search, body),
    };
    const claim = await store.claim(request);
    if (claim.kind === "replay") {
      const headers = new Headers({ [REPLAYED_HEADER]: "true" });
      if (claim.response.contentType !== null) {
        headers.set("Content-Type", claim.response.contentType);
      }
      return new Response(claim.response.body, { status: claim.response.status, headers });
    }
    if (claim.kind === "mismatch") {
      const other =
        claim.method === request.method && claim.path === request.path
          ? "a request with a different body"
          : `${claim.method} ${claim.path}`;
      throw idempotencyKeyReused(key, other);
    }
    if (claim.kind === "in_use") throw idempotencyKeyInUse(key);

    try {
      await next();
    } catch (err) {
      await store.release(request);
      throw err;
    }
    const res = c.res;
    if (res.status >= 200 && res.status < 300) {
      await store.finish(request, {
        status: res.status,
        contentType: res.headers.get("content-type"),
        body: await res.clone().text(),
      });
    } else {
      await store.release(request);
    }
  };
}
