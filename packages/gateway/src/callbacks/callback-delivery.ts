import type { LookupFunction } from "node:net";
import { Pool } from "undici";
import { type CallbackUrlGuard, CallbackUrlRefused, type ResolvedAddress } from "./url-guard.ts";

export interface DeliveryResult {
  outcome: "delivered" | "retry" | "failed";
  httpStatus: number | null;
  durationMs: number;
  /** Why it was not delivered, in words a merchant can act on. */
  error: string | null;
  /** The first bytes of the receiver's answer. */
  excerpt: string | null;
  /** From a Retry-After header on 408, 429 or 5xx. */
  retryAfterMs?: number;
}

export interface CallbackDeliveryOptions {
  guard: CallbackUrlGuard;
  /** The whole attempt (connect, send, answer) must finish within this. */
  timeoutMs: number;
  maxResponseBytes: number;
  /** Turns a Retry-After date into a delay; the dispatcher's clock. */
  now?: () => Date;
  /** Connection pools kept at once (one per receiver origin and checked address). */
  maxPools?: number;
}

export interface CallbackRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
  /** Aborts the attempt (the gateway is stopping). */
  signal?: AbortSignal;
}

/**
 * POSTs callbacks over kept-alive connections. Each attempt resolves the host through the SSRF
 * guard, then sends on a pool that belongs to that origin *and* that checked address, whose
 * `connect.lookup` answers only that address: a connection, new or reused, never goes anywhere
 * the guard did not just allow, even when DNS answers differently from one attempt to the next.
 * Redirects are not followed and at most `maxResponseBytes` of an answer is read.
 */
export function createCallbackDelivery(options: CallbackDeliveryOptions) {
  const now = options.now ?? (() => new Date());
  const maxPools = options.maxPools ?? 256;
  // Least recently used first (a Map keeps insertion order; a use re-inserts).
  const pools = new Map<string, Pool>();

  function poolFor(origin: string, pinned: ResolvedAddress): Pool {
    const key = `${origin} ${pinned.address}`;
    let pool = pools.get(key);
    if (pool) pools.delete(key);
    else {
      const lookup: LookupFunction = (_host, opts, callback) => {
        if (opts.all) callback(null, [pinned]);
        else callback(null, pinned.address, pinned.family);
      };
      pool = new Pool(origin, {
        connect: { lookup, timeout: options.timeoutMs },
        // The attempt's own timer bounds the whole exchange and words the error.
        headersTimeout: 0,
        bodyTimeout: 0,
      });
    }
    pools.set(key, pool);
    for (const [oldest, idle] of pools) {
      if (pools.size <= maxPools) break;
      pools.delete(oldest);
      // Requests already on it finish; close() only refuses new ones.
      idle.close().catch(() => {});
    }
    return pool;
  }

  async function deliver(request: CallbackRequest): Promise<DeliveryResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const url = new URL(request.url);
    let addresses: ResolvedAddress[];
    try {
      addresses = await options.guard.resolveChecked(url);
    } catch (err) {
      if (err instanceof CallbackUrlRefused) {
        return fail("failed", null, elapsed(), `refused: ${err.message}`);
      }
      const code = (err as NodeJS.ErrnoException).code ?? "";
      return fail(
        "retry",
        null,
        elapsed(),
        `DNS lookup of ${url.hostname} failed (${code || err})`,
      );
    }
    if (request.signal?.aborted) return fail("retry", null, elapsed(), "gateway stopping");

    const abort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, options.timeoutMs);
    const onStop = () => abort.abort();
    request.signal?.addEventListener("abort", onStop, { once: true });
    const interrupted = () =>
      timedOut
        ? fail("retry", null, elapsed(), `no answer within ${options.timeoutMs / 1000} s`)
        : request.signal?.aborted
          ? fail("retry", null, elapsed(), "gateway stopping")
          : undefined;
    try {
      const response = await poolFor(url.origin, addresses[0] as ResolvedAddress).request({
        method: "POST",
        path: `${url.pathname}${url.search}`,
        headers: { ...basicAuth(url), ...request.headers },
        body: request.body,
        signal: abort.signal,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      try {
        for await (const chunk of response.body as AsyncIterable<Buffer>) {
          chunks.push(chunk);
          size += chunk.length;
          // Enough to show a person what the receiver said; a huge answer is not our problem.
          if (size >= options.maxResponseBytes) break;
        }
      } catch {
        // Cut off mid-answer: the status line is what counts, with whatever body came.
        const cut = interrupted();
        if (cut) return cut;
      }
      const excerpt = Buffer.concat(chunks).subarray(0, options.maxResponseBytes).toString("utf8");
      return classify(response.statusCode, response.headers, elapsed(), excerpt, now());
    } catch (err) {
      const cut = interrupted();
      if (cut) return cut;
      const e = err as NodeJS.ErrnoException;
      return fail("retry", null, elapsed(), `${e.code ?? "error"}: ${e.message}`);
    } finally {
      clearTimeout(timer);
      request.signal?.removeEventListener("abort", onStop);
    }
  }

  return {
    deliver,
    /** Closes the kept-alive connections; call once no delivery is in flight. */
    async close(): Promise<void> {
      const open = [...pools.values()];
      pools.clear();
      await Promise.allSettled(open.map((pool) => pool.close()));
    },
  };
}

export type CallbackDelivery = ReturnType<typeof createCallbackDelivery>;

// node:http sent a URL's user:password as Basic authorisation; undici does not, so keep doing it.
function basicAuth(url: URL): Record<string, string> {
  if (url.username === "" && url.password === "") return {};
  const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  return { authorization: `Basic ${Buffer.from(credentials).toString("base64")}` };
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

type Headers = Record<string, string | string[] | undefined>;

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function classify(
  status: number,
  headers: Headers,
  durationMs: number,
  excerpt: string,
  at: Date,
): DeliveryResult {
  if (status >= 200 && status < 300) {
    return { outcome: "delivered", httpStatus: status, durationMs, error: null, excerpt };
  }
  if (status >= 300 && status < 400) {
    const to = header(headers, "location") ?? "(no Location)";
    return fail("failed", status, durationMs, `redirect to ${to} not followed`, excerpt);
  }
  if (status === 408 || status === 429 || status >= 500) {
    const result = fail("retry", status, durationMs, `HTTP ${status}`, excerpt);
    const retryAfter = parseRetryAfter(header(headers, "retry-after"), at);
    if (retryAfter !== undefined) result.retryAfterMs = retryAfter;
    return result;
  }
  return fail("failed", status, durationMs, `HTTP ${status} (not retried)`, excerpt);
}

function parseRetryAfter(value: string | undefined, at: Date): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - at.getTime());
}
