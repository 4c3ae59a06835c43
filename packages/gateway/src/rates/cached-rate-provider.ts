import { DomainError, ErrorCode } from "../platform/errors.ts";
import type { Fiat, Rate, RateProvider, TokenSymbol } from "./rate-provider.ts";

export const DEFAULT_MAX_STALE_MS = 60 * 60 * 1000;

export interface CachedRateProviderOptions {
  primary: RateProvider;
  /** Asked when the primary fails and no cached rate is young enough; its `source` is kept. */
  fallback?: RateProvider;
  /** How long an answer is reused before the primary is asked again. */
  ttlMs: number;
  /** How old a cached rate may be and still be served while the primary fails. Default 1 hour. */
  maxStaleMs?: number;
  /** Milliseconds, like Date.now; tests pass a fake clock. */
  now?: () => number;
}

interface Entry {
  rate: Rate;
  /** When this rate was obtained; staleness is measured from here. */
  obtainedAt: number;
  /** Until when it is served without asking anyone. */
  expiresAt: number;
}

/**
 * Caches each (fiat, token) for ttlMs. When the primary fails it serves, in order: the last
 * cached rate if younger than maxStaleMs, else the fallback's rate, else the primary's error.
 *
 * A failed primary is not asked again for ttlMs either (the stale or fallback answer is cached
 * for that long), so while it is down quotes do not each wait for its timeout. Concurrent
 * calls for the same pair share one request.
 */
export function createCachedRateProvider(options: CachedRateProviderOptions): RateProvider {
  const { primary, fallback, ttlMs } = options;
  const maxStaleMs = options.maxStaleMs ?? DEFAULT_MAX_STALE_MS;
  const now = options.now ?? Date.now;
  for (const [key, value] of [
    ["ttlMs", ttlMs],
    ["maxStaleMs", maxStaleMs],
  ] as const) {
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(`${key} must be a non-negative number, got ${value}`);
    }
  }

  const cache = new Map<string, Entry>();
  const inFlight = new Map<string, Promise<Rate>>();

  function store(key: string, rate: Rate): Rate {
    const at = now();
    cache.set(key, { rate, obtainedAt: at, expiresAt: at + ttlMs });
    return rate;
  }

  async function refresh(key: string, fiat: Fiat, token: TokenSymbol): Promise<Rate> {
    let primaryError: unknown;
    try {
      return store(key, await primary.getRate(fiat, token));
    } catch (error) {
      primaryError = error;
    }

    const last = cache.get(key);
    const at = now();
    if (last !== undefined && at - last.obtainedAt < maxStaleMs) {
      last.expiresAt = Math.min(at + ttlMs, last.obtainedAt + maxStaleMs);
      return last.rate;
    }
    if (fallback === undefined) throw primaryError;
    try {
      return store(key, await fallback.getRate(fiat, token));
    } catch (fallbackError) {
      throw new DomainError({
        status: 503,
        code: ErrorCode.rateUnavailable,
        message: `no rate for ${fiat}/${token}: ${describe(primaryError)}; fallback ${fallback.name}: ${describe(fallbackError)}`,
        cause: primaryError,
      });
    }
  }

  return {
    name: `cached:${primary.name}`,
    getRate(fiat, token) {
      const key = `${fiat}/${token}`;
      const entry = cache.get(key);
      if (entry !== undefined && now() < entry.expiresAt) return Promise.resolve(entry.rate);

      const pending = inFlight.get(key);
      if (pending !== undefined) return pending;
      const request = refresh(key, fiat, token).finally(() => inFlight.delete(key));
      inFlight.set(key, request);
      return request;
    },
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
