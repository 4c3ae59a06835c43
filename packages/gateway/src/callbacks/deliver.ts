import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import { type CallbackUrlGuard, CallbackUrlRefused, type ResolvedAddress } from "./url-guard.ts";

export interface DeliveryResult {
  outcome: "delivered" | "retry" | "failed";
  httpStatus: number | null;
  durationMs: number;
  /** Why it was not delivered, in words a merchant can act on. */
  error: string | null;
  /** The first bytes of the receiver's answer. */
  excerpt: string | null;
  /** From a Retry-After header on 429 or 503. */
  retryAfterMs?: number;
}

export interface DeliverOptions {
  url: string;
  body: string;
  headers: Record<string, string>;
  guard: CallbackUrlGuard;
  timeoutMs: number;
  maxResponseBytes: number;
  signal?: AbortSignal;
}

/**
 * One POST of a callback. Redirects are not followed, at most `maxResponseBytes` of the answer
 * are read, and the connection goes to the address the guard has just checked (the host is not
 * resolved a second time, which could give another answer).
 */
export async function deliverCallback(options: DeliverOptions): Promise<DeliveryResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const url = new URL(options.url);
  let addresses: ResolvedAddress[];
  try {
    addresses = await options.guard.resolveChecked(url);
  } catch (err) {
    if (err instanceof CallbackUrlRefused) {
      return fail("failed", null, elapsed(), `refused: ${err.message}`);
    }
    const code = (err as NodeJS.ErrnoException).code ?? "";
    return fail("retry", null, elapsed(), `DNS lookup of ${url.hostname} failed (${code || err})`);
  }
  const pinned = addresses[0] as ResolvedAddress;
  const lookup: LookupFunction = (_host, opts, callback) => {
    if (opts.all) callback(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };

  return new Promise<DeliveryResult>((resolve) => {
    let settled = false;
    const finish = (r: DeliveryResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      resolve(r);
    };
    const request = (url.protocol === "https:" ? https : http).request(url, {
      method: "POST",
      headers: { ...options.headers, "content-length": Buffer.byteLength(options.body) },
      lookup,
      agent: false,
    });
    const timer = setTimeout(() => {
      request.destroy();
      finish(fail("retry", null, elapsed(), `no answer within ${options.timeoutMs / 1000} s`));
    }, options.timeoutMs);
    const onAbort = () => {
      request.destroy();
      finish(fail("retry", null, elapsed(), "gateway stopping"));
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    request.on("error", (err: NodeJS.ErrnoException) => {
      finish(fail("retry", null, elapsed(), `${err.code ?? "error"}: ${err.message}`));
    });
    request.on("response", (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => {
        const excerpt = Buffer.concat(chunks)
          .subarray(0, options.maxResponseBytes)
          .toString("utf8");
        finish(classify(response, elapsed(), excerpt));
        response.destroy();
      };
      response.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        // Enough to show a person what the receiver said; a huge answer is not our problem.
        if (size >= options.maxResponseBytes) done();
      });
      response.on("end", done);
      response.on("error", done);
    });
    request.end(options.body);
  });
}

function fail(
  outcome: "retry" | "failed",
  httpStatus: number | null,
  durationMs: number,
  error: string,
  excerpt: string | null = null,
): DeliveryResult {
  return { outcome, httpStatus, durationMs, error, excerpt };
}

function classify(
  response: http.IncomingMessage,
  durationMs: number,
  excerpt: string,
): DeliveryResult {
  const status = response.statusCode ?? 0;
  if (status >= 200 && status < 300) {
    return { outcome: "delivered", httpStatus: status, durationMs, error: null, excerpt };
  }
  if (status >= 300 && status < 400) {
    const to = response.headers.location ?? "(no Location)";
    return fail("failed", status, durationMs, `redirect to ${to} not followed`, excerpt);
  }
  if (status === 408 || status === 429 || status >= 500) {
    const result = fail("retry", status, durationMs, `HTTP ${status}`, excerpt);
    const retryAfter = parseRetryAfter(response.headers["retry-after"]);
    if (retryAfter !== undefined) result.retryAfterMs = retryAfter;
    return result;
  }
  return fail("failed", status, durationMs, `HTTP ${status} (not retried)`, excerpt);
}

function parseRetryAfter(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
