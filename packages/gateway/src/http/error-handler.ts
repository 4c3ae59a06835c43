import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { Logger } from "pino";
import type { ZodError } from "zod";
import { DomainError, ErrorCode } from "../platform/errors.ts";

export interface ErrorBody {
  code: number;
  message: string;
  data?: Record<string, unknown>;
}

// The one place where failures become HTTP responses. Anything not a DomainError or a known
// HTTP condition is a bug: logged with its stack, answered with a bare 5000.
export function errorResponse(err: unknown, c: Context, log: Logger): Response {
  if (err instanceof DomainError) {
    const body: ErrorBody = { code: err.code, message: err.message };
    if (err.data !== undefined) body.data = err.data;
    // A 429 (and a 409 for an Idempotency-Key still in use) says when to come back, in the
    // header as well as in data.retry_after.
    const retryAfter = err.status === 429 || err.status === 409 ? err.data?.retry_after : undefined;
    if (typeof retryAfter === "number") c.header("Retry-After", String(retryAfter));
    return c.json(body, err.status);
  }
  if (err instanceof HTTPException) {
    // A middleware that built its own answer (hono/bearer-auth: our envelope and a challenge).
    if (err.res) return err.getResponse();
    const status = err.status;
    if (status === 413) {
      return c.json({ code: ErrorCode.bodyTooLarge, message: "request body too large" }, 413);
    }
    if (status === 415) {
      return c.json(
        { code: ErrorCode.unsupportedMediaType, message: "Content-Type must be application/json" },
        415,
      );
    }
    if (status === 400) {
      const message = err.message.startsWith("Malformed JSON")
        ? "request body is not valid JSON"
        : err.message || "bad request";
      return c.json({ code: ErrorCode.validation, message }, 400);
    }
    if (status < 500)
      return c.json({ code: status * 10, message: err.message || "request refused" }, status);
  }
  (c.get("log") ?? log).error({ err, method: c.req.method, path: c.req.path }, "unhandled error");
  return c.json({ code: ErrorCode.internal, message: "internal error" }, 500);
}

/** Turns a zod failure into the 4000 envelope, naming the first offending field. */
export function validationResponse(error: ZodError, target: string, c: Context): Response {
  const issue = error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.join(".") : target;
  let message = issue?.message ?? "invalid";
  if (issue?.code === "invalid_type" && /received undefined/.test(message)) message = "is required";
  return c.json(
    {
      code: ErrorCode.validation,
      message: `${field}: ${message}`,
      data: {
        field,
        issues: error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
      },
    },
    400,
  );
}
