import type { MiddlewareHandler } from "hono";
import { validationError } from "../platform/errors.ts";

// PostgreSQL's text and json(b) cannot hold U+0000, and a lone UTF-16 surrogate cannot be
// encoded as UTF-8 (the driver would turn it into U+FFFD, jsonb refuses its \u escape). Any such
// string in a request is refused here, once for every route, with the field's name: a 400
// instead of a database error answered 500.

const LONE_SURROGATE = /\p{Cs}/u;

/** What is wrong with a string the database cannot store faithfully, or undefined. */
export function textProblem(s: string): string | undefined {
  if (s.includes("\u0000")) return "must not contain the NUL character (\\u0000)";
  if (LONE_SURROGATE.test(s)) return "must not contain a lone UTF-16 surrogate (\\ud800-\\udfff)";
  return undefined;
}

/** Throws the 4000 error for the first bad string in a JSON value: values and keys, any depth. */
export function checkJsonText(value: unknown, field: string): void {
  if (typeof value === "string") {
    const problem = textProblem(value);
    if (problem) throw validationError(field || "body", problem);
  } else if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) checkJsonText(item, `${field}[${i}]`);
  } else if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      const problem = textProblem(key);
      if (problem) throw validationError(field || "body", `a key ${problem}`);
      checkJsonText(item, field ? `${field}.${key}` : key);
    }
  }
}

/**
 * Refuses NUL characters and lone surrogates in query parameters (names and values) and in a
 * JSON body. Path parameters are checked by their route's schema (`PathId`), which names them.
 */
export const rejectMalformedText: MiddlewareHandler = async (c, next) => {
  if (c.req.url.includes("?")) {
    for (const [name, values] of Object.entries(c.req.queries())) {
      const nameProblem = textProblem(name);
      if (nameProblem) throw validationError("query", `a parameter name ${nameProblem}`);
      for (const v of values) {
        const problem = textProblem(v);
        if (problem) throw validationError(name, problem);
      }
    }
  }
  if (c.req.method === "POST" && /json/i.test(c.req.header("content-type") ?? "")) {
    let body: unknown;
    try {
      // Cached by Hono: the route's validator reads the same parse, and answers malformed JSON.
      body = await c.req.json();
    } catch {
      return next();
    }
    checkJsonText(body, "");
  }
  return next();
};

/** The same rule as a zod refinement, for path parameters (`id`). */
export function refineText(
  value: string,
  ctx: { addIssue(issue: { code: "custom"; message: string }): void },
): void {
  const problem = textProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
}
