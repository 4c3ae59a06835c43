import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { RequestIdVariables } from "hono/request-id";
import type { Logger } from "pino";
import type { Caller } from "../organizations/tenancy-service.ts";

/**
 * The Hono environment every route shares: the authenticated caller, the request id and the
 * logger whose lines carry it (log through `c.get("log")` while handling a request).
 */
export type AppEnv = { Variables: { caller: Caller; log: Logger } & RequestIdVariables };

export const ErrorEnvelope = z
  .object({
    code: z.number().int().openapi({ example: 4000 }),
    message: z.string().openapi({ example: "fiat_amount: is required" }),
    data: z.record(z.string(), z.unknown()).optional(),
  })
  .openapi("Error");

export function envelope<T extends z.ZodType>(data: T) {
  return z.object({ code: z.literal(0), data });
}

/**
 * A whole number written in decimal digits: z.coerce alone would read "0x10" as 16, "1e1" as 10
 * and " 2" as 2 (Number's grammar), so anything else is made NaN first and refused by name.
 */
function pageParameter(max: number, fallback: number) {
  return z
    .preprocess(
      (v) => (typeof v === "string" && !/^[0-9]{1,9}$/.test(v) ? Number.NaN : v),
      z.coerce.number({ error: "must be a whole number of decimal digits" }).int().min(1).max(max),
    )
    .default(fallback)
    .openapi({ type: "integer", minimum: 1, maximum: max, example: fallback });
}

/** The paging parameters every list endpoint takes. */
export const PageQuery = z.object({
  page_number: pageParameter(1_000_000, 1),
  page_size: pageParameter(100, 10),
});

/** One page of `item`s, as every list endpoint answers. */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    total_count: z.number().int(),
    page_number: z.number().int(),
    page_size: z.number().int(),
  });
}

/** An OpenAPI response whose body is JSON of `schema`. */
export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}

/** An OpenAPI error response: the error envelope, with the codes it may carry described. */
export const errorResponse = (description: string) => jsonResponse(ErrorEnvelope, description);

/** A rate limit reached (http/rate-limits.ts): every API route can answer it. */
export const tooManyRequestsResponse = {
  429: errorResponse("Too many requests (4029): wait the Retry-After header's seconds"),
} as const;

/** The error answers every authenticated route can give. */
export const errorResponses = {
  400: errorResponse("Invalid request (code 4000)"),
  401: errorResponse("Invalid client id (4001) or API key (4002)"),
  403: errorResponse(
    "Origin not allowed for this client (4003); on a browser create, callback_url host not allowed for this client (4024)",
  ),
  ...tooManyRequestsResponse,
} as const;

/** A route with a path id and no other input refuses only a malformed id (well-formed-text.ts). */
export const malformedIdResponse = {
  400: errorResponse(
    "Invalid request (4000): the path id or a query parameter holds a NUL or a lone surrogate",
  ),
} as const;

export const intentNotFoundResponse = {
  404: errorResponse("Unknown payment intent (4006)"),
} as const;

/**
 * Every route that takes a JSON body can answer 413 (the body limit, before the route) and 415
 * (no JSON Content-Type, from the body validator): said once here for all of them, so the
 * document lists what the fuzzer (`npm run fuzz`) sees them answer.
 */
export function documentBodyRefusals(registry: OpenAPIHono["openAPIRegistry"]): void {
  for (const definition of registry.definitions) {
    if (definition.type !== "route" || definition.route.request?.body === undefined) continue;
    const responses = definition.route.responses;
    responses[413] ??= errorResponse("Request body too large (4013)");
    responses[415] ??= errorResponse("Content-Type must be application/json (4014)");
  }
}

const IDEMPOTENCY_409 =
  "Idempotency-Key used in the last 24 hours for another request (4018), or its first request is still running (4090, retry after the Retry-After header's seconds)";

/**
 * Every POST that takes a caller's Idempotency-Key (http/idempotency.ts, or the route's own)
 * names the header once, as the shared parameter `IdempotencyKey`, and its 409s. Routes that
 * describe the header themselves (the transfer API) and public ones (`security: []`: signing
 * in, where the header is ignored) are left as they are.
 */
export function documentIdempotencyKey(registry: OpenAPIHono["openAPIRegistry"]): void {
  registry.registerComponent("parameters", "IdempotencyKey", {
    name: "Idempotency-Key",
    in: "header",
    required: false,
    description:
      "Optional, 1-255 visible ASCII characters (a UUID, say). Within 24 hours the same key and body answer with the first request's result (a replayed answer carries `Idempotent-Replayed: true`, except intent create, which answers with the intent it made: same id and address); the same key with another body is refused (409 / 4018); a retry while the first request is still running is 409 / 4090 with Retry-After. Keys are per organisation (API key), per client (browser) or per Studio user.",
    schema: { type: "string", minLength: 1, maxLength: 255, example: "order-8812-create" },
  });
  for (const definition of registry.definitions) {
    if (definition.type !== "route" || definition.route.method !== "post") continue;
    const route = definition.route;
    if (Array.isArray(route.security) && route.security.length === 0) continue;
    const headers = route.request?.headers;
    const shape =
      headers !== undefined && "shape" in headers ? (headers.shape as Record<string, unknown>) : {};
    if ("idempotency-key" in shape) continue;
    const reference = { $ref: "#/components/parameters/IdempotencyKey" };
    // The route type unions OpenAPI 3.0's and 3.1's parameter shapes; a reference is both.
    route.parameters = [...(route.parameters ?? []), reference] as typeof route.parameters;
    const existing = route.responses[409];
    const description =
      existing !== undefined && "description" in existing ? existing.description : undefined;
    if (description?.includes("4090")) continue;
    route.responses[409] = errorResponse(
      description === undefined ? IDEMPOTENCY_409 : `${description}; ${IDEMPOTENCY_409}`,
    );
  }
}
