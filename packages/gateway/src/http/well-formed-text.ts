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

/** How deep a JSON body may nest; deeper bodies overflow JSON.stringify long before 64 KiB. */
export const MAX_JSON_DEPTH = 64;

/**
 * Throws the 4000 error for the first bad string in a JSON value (values and keys), a number
 * too large to keep (1e400), or a value nested deeper than MAX_JSON_DEPTH. A loop, not recursion: a 64 KiB body can nest 30,000
 * levels, deeper than the call stack.
 */
export function checkJsonText(root: unknown, rootField: string): void {
  const pending: [unknown, string, number][] = [[root, rootField, 0]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [value, field, depth] = next;
    if (typeof value === "string") {
      const problem = textProblem(value);
      if (problem) throw validationError(field || "body", problem);
      continue;
    }
    if (typeof value === "number" && !Number.isFinite(value)) {
      // JSON.parse reads 1e400 as Infinity, which JSON.stringify would store as null.
      throw validationError(field || "body", "must be a number within the double range");
    }
    if (typeof value !== "object" || value === null) continue;
    if (depth >= MAX_JSON_DEPTH) {
      throw validationError(field || "body", `must not nest deeper than ${MAX_JSON_DEPTH} levels`);
    }
    const entries: [string, unknown][] = Array.isArray(value)
      ? value.map((item, i): [string, unknown] => [`${field}[${i}]`, item])
      : Object.entries(value).map(([key, item]): [string, unknown] => {
          const problem = textProblem(key);
          if (problem) throw validationError(field || "body", `a key ${problem}`);
          return [field ? `${field}.${key}` : key, item];
        });
    for (let i = entries.length - 1; i >= 0; i--) {
      const [itemField, item] = entries[i] as [string, unknown];
      pending.push([item, itemField, depth + 1]);
    }
  }
}

/**
 * Refuses NUL characters and lone surrogates in query parameters (names and values) and in a
 * JSON body. Path parameters are checked by their route's schema (`refineText`), which names them.
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
  // Every method with a body: a PATCH's unknown key was let through when this read POST alone.
  if (
    c.req.method !== "GET" &&
    c.req.method !== "HEAD" &&
    /json/i.test(c.req.header("content-type") ?? "")
  ) {
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
