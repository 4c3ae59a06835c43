import Big from "big.js";
import { z } from "zod";
import { DomainError, ErrorCode } from "../platform/errors.ts";
import type { Fiat, Rate, RateProvider, TokenSymbol } from "./rate-provider.ts";

export interface HttpRateProviderOptions {
  /** A document in the open.er-api.com shape with base USD, e.g. https://open.er-api.com/v6/latest/USD */
  url: string | URL;
  /** Covers the whole exchange: connecting, headers and body. */
  timeoutMs: number;
  fetch?: typeof fetch;
  now?: () => Date;
}

/**
 * Stablecoins are taken at par: 1 USDT = 1 USDC = 1 USD. The document only has fiat rates,
 * and a depeg large enough to matter is a reason to stop taking payments, not to reprice.
 */
const USD_PER_TOKEN: Readonly<Record<TokenSymbol, string>> = { USDT: "1", USDC: "1" };

// Only the fields we use are checked, and `rates` is checked per currency below, so one odd
// entry for a currency we never quote does not take every quote down.
const ErrorDocument = z.object({
  result: z.literal("error"),
  "error-type": z.string().optional(),
});
const RatesDocument = z.object({
  base_code: z.string(),
  rates: z.record(z.string(), z.unknown()),
  time_last_update_unix: z.number().optional(),
});

/**
 * Rates from an HTTP endpoint serving `{ base_code: "USD", rates: { TWD: 32.5, ... } }`.
 * Every failure (unreachable, timeout, non-2xx, not JSON, wrong shape, missing currency) is a
 * DomainError 503/5030 whose message says which.
 */
export function createHttpRateProvider(options: HttpRateProviderOptions): RateProvider {
  const url = new URL(options.url);
  const { timeoutMs } = options;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new RangeError(`timeoutMs must be a positive number, got ${timeoutMs}`);
  }
  const fetchImpl = options.fetch ?? fetch;
  const now = options.now ?? (() => new Date());
  const source = `http:${url.host}`;

  const unavailable = (why: string, cause?: unknown) =>
    new DomainError({
      status: 503,
      code: ErrorCode.rateUnavailable,
      message: `rate provider ${url.host} ${why}`,
      cause,
    });

  async function fetchDocument(): Promise<unknown> {
    const signal = AbortSignal.timeout(timeoutMs);
    const failed = (what: string, error: unknown) =>
      signal.aborted
        ? unavailable(`did not answer within ${timeoutMs} ms`, error)
        : unavailable(`${what}: ${describe(error)}`, error);

    let response: Response;
    try {
      response = await fetchImpl(url, { signal, headers: { accept: "application/json" } });
    } catch (error) {
      throw failed("could not be reached", error);
    }
    if (!response.ok) {
      // Release the connection; the body of an error page is of no use here.
      await response.body?.cancel().catch(() => {});
      throw unavailable(`answered HTTP ${response.status}`);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw failed("failed while sending the body", error);
    }
    try {
      return JSON.parse(text);
    } catch (error) {
      throw unavailable("answered with a body that is not JSON", error);
    }
  }

  return {
    name: source,
    async getRate(fiat: Fiat, token: TokenSymbol): Promise<Rate> {
      const json = await fetchDocument();

      const reportedError = ErrorDocument.safeParse(json);
      if (reportedError.success) {
        throw unavailable(`reported an error: ${reportedError.data["error-type"] ?? "unknown"}`);
      }
      const parsed = RatesDocument.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const where =
          issue === undefined || issue.path.length === 0 ? "" : `${issue.path.join(".")}: `;
        throw unavailable(
          `answered with an unexpected document (${where}${issue?.message ?? "invalid"})`,
        );
      }
      const document = parsed.data;
      if (document.base_code !== "USD") {
        throw unavailable(
          `quotes against ${document.base_code}; configure an endpoint with base USD`,
        );
      }

      let fiatPerUsd: Big;
      if (fiat === "USD") {
        fiatPerUsd = new Big(1);
      } else {
        const value = document.rates[fiat];
        if (value === undefined) throw unavailable(`has no rate for ${fiat}`);
        if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
          throw unavailable(`has an unusable rate for ${fiat}: ${JSON.stringify(value)}`);
        }
        // JSON.parse has already made a double of the text; String() gives the shortest text
        // for that double, which is the text that was sent for any rate of up to 15 significant
        // digits. (Node 20 has no JSON.parse source access to read the digits themselves.)
        fiatPerUsd = new Big(String(value));
      }

      return {
        fiat,
        token,
        fiatPerToken: fiatPerUsd.times(USD_PER_TOKEN[token]).toFixed(),
        source,
        fetchedAt: now(),
      };
    },
  };
}

/** undici's fetch rejects with "fetch failed" and puts what happened (ECONNREFUSED, ...) in cause. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause instanceof Error ? `${error.message} (${error.cause.message})` : error.message;
}
