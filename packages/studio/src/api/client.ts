import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "./schema";

/**
 * An answer of the admin API that is not a success: its envelope's code and message (shown to
 * the user as they are: the API writes them for people), the HTTP status, and `data` (for a 400,
 * `data.field` names the field; for a 429, `retry_after` says how many seconds to wait).
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly data: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** The request field a validation error (4000) is about, e.g. "email". */
  get field(): string | undefined {
    return typeof this.data.field === "string" ? this.data.field : undefined;
  }

  /** Seconds to wait after a 429, from the envelope or the Retry-After header. */
  get retryAfter(): number | undefined {
    return typeof this.data.retry_after === "number" ? this.data.retry_after : undefined;
  }
}

// The session's CSRF token, sent as X-CSRF-Token on every request that changes something. One
// per tab: set when the session is read (api/session.ts), cleared at sign-out.
let csrfToken: string | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

const SAFE_METHODS = new Set(["GET", "HEAD"]);

async function errorOf(response: Response): Promise<ApiError> {
  let body: unknown;
  try {
    body = await response.clone().json();
  } catch {
    body = undefined;
  }
  const retryHeader = Number(response.headers.get("retry-after"));
  if (body && typeof body === "object" && "code" in body && "message" in body) {
    const b = body as { code: number; message: string; data?: Record<string, unknown> };
    const data = { ...(b.data ?? {}) };
    if (data.retry_after === undefined && retryHeader > 0) data.retry_after = retryHeader;
    return new ApiError(response.status, b.code, b.message, data);
  }
  return new ApiError(response.status, 0, `The server answered HTTP ${response.status}.`);
}

const envelopeErrors: Middleware = {
  onRequest({ request }) {
    if (!SAFE_METHODS.has(request.method) && csrfToken) {
      request.headers.set("X-CSRF-Token", csrfToken);
    }
    return request;
  },
  async onResponse({ response }) {
    if (!response.ok) throw await errorOf(response);
    return response;
  },
};

/**
 * The typed client of the admin API (paths and shapes from src/api/schema.d.ts, generated from
 * the gateway's /openapi.json). Every call either resolves with the success envelope or rejects
 * with an ApiError; `unwrap` takes the envelope's `data` out.
 *
 * @example
 * const session = await unwrap(api.GET("/v1/admin/session"));
 */
export const api = createClient<paths>({ baseUrl: "", credentials: "same-origin" });
api.use(envelopeErrors);

/** The `data` of a success envelope. */
export async function unwrap<T>(
  result: Promise<{ data?: { code: 0; data: T }; response: Response }>,
): Promise<T> {
  const { data, response } = await result;
  if (data === undefined) throw await errorOf(response);
  return data.data;
}
