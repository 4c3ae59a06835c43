import { BaseError, BlockNotFoundError, createPublicClient, HttpRequestError, http } from "viem";
import { abortable } from "../../platform/abort.ts";
import { LogRangeRefusedError, RpcUnavailableError } from "./errors.ts";
import { isLogRangeError } from "./is-log-range-error.ts";
import type { FollowerLog, FollowerMetrics } from "./types.ts";

export type RpcClient = ReturnType<typeof createPublicClient>;

export interface RpcPool {
  /**
   * Runs `fn` on the preferred RPC URL and fails over to the next on any failure that is the
   * endpoint's fault. Errors that are answers pass straight through: viem's BlockNotFoundError (the
   * block does not exist yet) and, with `logRange`, LogRangeRefusedError.
   */
  call<T>(
    method: string,
    fn: (client: RpcClient) => Promise<T>,
    options?: { signal?: AbortSignal | undefined; logRange?: boolean },
  ): Promise<T>;
}

interface Endpoint {
  label: string;
  /** For metrics labels: position and host, never the path or query (API keys live there). */
  metricsLabel: { index: number; host: string };
  client: RpcClient;
  downUntil: number;
  failures: number;
}

/**
 * Failover over several RPC URLs. viem's `fallback` transport restarts at the first URL on every
 * request and treats "range too large" like an outage; here a failed URL is set aside for a
 * cooldown (so a dead primary costs one timeout per cooldown, not one per call), comes back first
 * when the cooldown ends, and a refused log range goes back to the caller to split.
 */
export function createRpcPool(options: {
  chainKey: string;
  rpcUrls: string[];
  requestTimeoutMs: number;
  cooldownMs: number;
  log: FollowerLog;
  metrics?: FollowerMetrics | undefined;
}): RpcPool {
  const { chainKey, log } = options;
  if (options.rpcUrls.length === 0) throw new Error(`${chainKey}: no RPC URL configured`);
  const endpoints: Endpoint[] = options.rpcUrls.map((url, index) => ({
    label: `#${index + 1} ${redactUrl(url)}`,
    metricsLabel: { index: index + 1, host: urlHost(url) },
    // Retries are ours (failover, then the follower's backoff); viem's own would multiply them.
    client: createPublicClient({
      transport: http(url, { timeout: options.requestTimeoutMs, retryCount: 0 }),
    }),
    downUntil: 0,
    failures: 0,
  }));

  const order = (): Endpoint[] => {
    const now = Date.now();
    const up = endpoints.filter((e) => e.downUntil <= now);
    const down = endpoints
      .filter((e) => e.downUntil > now)
      .sort((a, b) => a.downUntil - b.downUntil);
    return [...up, ...down];
  };

  return {
    async call(method, fn, callOptions = {}) {
      const { signal } = callOptions;
      const failures: string[] = [];
      let lastError: unknown;
      for (const endpoint of order()) {
        try {
          const result = await abortable(fn(endpoint.client), signal);
          options.metrics?.rpcCall(endpoint.metricsLabel, true);
          if (endpoint.failures > 0) {
            log.info({ chainKey, rpc: endpoint.label }, "RPC URL answers again");
            endpoint.failures = 0;
            endpoint.downUntil = 0;
          }
          return result;
        } catch (error) {
          if (signal?.aborted) throw error;
          // "Not found yet" is an answer, not a failure; anything else (a refused log range too)
          // counts as an error of this URL.
          const answered = error instanceof BlockNotFoundError;
          options.metrics?.rpcCall(endpoint.metricsLabel, answered);
          if (answered) throw error;
          if (callOptions.logRange && isLogRangeError(error)) {
            throw new LogRangeRefusedError({
              chainKey,
              details: describeError(error),
              cause: error,
            });
          }
          lastError = error;
          const description = describeError(error);
          failures.push(`${endpoint.label}: ${description}`);
          endpoint.failures += 1;
          endpoint.downUntil = Date.now() + options.cooldownMs;
          log.warn(
            {
              chainKey,
              rpc: endpoint.label,
              method,
              error: description,
              failures: endpoint.failures,
            },
            endpoints.length > 1 ? "RPC call failed; failing over" : "RPC call failed",
          );
        }
      }
      throw new RpcUnavailableError({ chainKey, method, failures, cause: lastError });
    },
  };
}

/** Scheme and host only: RPC URLs often carry an API key in the path or query. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const hidden = parsed.pathname.length > 1 || parsed.search !== "" || parsed.username !== "";
    return `${parsed.protocol}//${parsed.host}${hidden ? "/…" : ""}`;
  } catch {
    return "(unparseable URL)";
  }
}

/** Host and port only (URL.host never includes user info). */
function urlHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "(unparseable URL)";
  }
}

/** A one-line description without URLs (viem puts the full URL, key included, in its messages). */
export function describeError(error: unknown): string {
  let text: string;
  if (error instanceof BaseError) {
    const status = error instanceof HttpRequestError && error.status ? ` ${error.status}` : "";
    text = `${error.shortMessage}${status}${error.details ? ` ${error.details}` : ""}`;
  } else if (error instanceof Error) {
    text = error.message;
  } else {
    text = String(error);
  }
  return (
    text
      // A URL ends before trailing punctuation: an endpoint's label is followed by ": " in the
      // failures an RpcUnavailableError lists, and "host:port:" does not parse.
      .replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"']*[^\s"':,;.)]/gi, (url) => redactUrl(url))
      .replace(/\s+/g, " ")
      .slice(0, 1_000)
  );
}
