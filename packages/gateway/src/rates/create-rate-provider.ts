import { type Config, ConfigError } from "../platform/config.ts";
import { createCachedRateProvider } from "./cached-rate-provider.ts";
import { createHttpRateProvider } from "./http-rate-provider.ts";
import type { Fiat, RateProvider } from "./rate-provider.ts";
import { createStaticRateProvider } from "./static-rate-provider.ts";

/**
 * The setting holding each fiat currency's static rate, in that currency per USD. Keyed by every
 * fiat the API accepts but USD (1 by definition): a new currency does not compile until it has
 * its setting, so `serve` can never quote it at a default nobody chose.
 */
export const STATIC_RATE_SETTINGS = {
  TWD: "RATES_TWD_PER_USD",
  EUR: "RATES_EUR_PER_USD",
  JPY: "RATES_JPY_PER_USD",
  HKD: "RATES_HKD_PER_USD",
  SGD: "RATES_SGD_PER_USD",
  KRW: "RATES_KRW_PER_USD",
  GBP: "RATES_GBP_PER_USD",
  AUD: "RATES_AUD_PER_USD",
  CAD: "RATES_CAD_PER_USD",
  CHF: "RATES_CHF_PER_USD",
  CNY: "RATES_CNY_PER_USD",
  THB: "RATES_THB_PER_USD",
  MYR: "RATES_MYR_PER_USD",
  PHP: "RATES_PHP_PER_USD",
  IDR: "RATES_IDR_PER_USD",
  INR: "RATES_INR_PER_USD",
  VND: "RATES_VND_PER_USD",
} as const satisfies Record<Exclude<Fiat, "USD">, keyof Config>;

const STATIC_RATE_NAMES = `${STATIC_RATE_SETTINGS.TWD}, ${STATIC_RATE_SETTINGS.EUR}, … (one per currency to quote)`;

/**
 * The configured rate source. Unset settings fall back to the static figures behind the
 * reference's samples (1 USD = 32.5 TWD), which is what the sandbox and tests quote with;
 * `serve` calls requireDeliberateRateSource first, so production never gets them by accident.
 */
export function createRateProvider(config: Config): RateProvider {
  if (config.RATES_PROVIDER === "http" && config.RATES_HTTP_URL !== undefined) {
    // No fallback to fixed figures: a stale hard-coded rate would misprice.
    return createCachedRateProvider({
      primary: createHttpRateProvider({ url: config.RATES_HTTP_URL, timeoutMs: 5000 }),
      ttlMs: config.RATES_CACHE_SECONDS * 1000,
    });
  }
  const fiatPerUsd: Partial<Record<Fiat, string>> = {};
  for (const [fiat, setting] of Object.entries(STATIC_RATE_SETTINGS)) {
    const value = config[setting];
    if (value !== undefined) fiatPerUsd[fiat as Fiat] = value;
  }
  // Chosen on purpose (serve): only the rates set, never a sample figure.
  return createStaticRateProvider({ fiatPerUsd, samples: config.RATES_PROVIDER !== "static" });
}

/**
 * Production quotes only with a rate source the operator chose: live rates from a URL, or fixed
 * rates for the currencies the operator quotes (at least one; USD is always 1, and a currency
 * without its setting is refused with 503 / 5030). Throws a ConfigError naming the settings.
 */
export function requireDeliberateRateSource(config: Config): void {
  if (config.RATES_PROVIDER === undefined) {
    throw new ConfigError(
      `invalid configuration:\n  RATES_PROVIDER: serve needs a rate source chosen on purpose: set RATES_PROVIDER=http with RATES_HTTP_URL (live rates), or RATES_PROVIDER=static with ${STATIC_RATE_NAMES} (fixed rates)`,
    );
  }
  if (config.RATES_PROVIDER !== "static") return;
  const set = Object.values(STATIC_RATE_SETTINGS).filter((s) => config[s] !== undefined);
  if (set.length === 0) {
    throw new ConfigError(
      `invalid configuration:\n  ${STATIC_RATE_SETTINGS.TWD}: required when RATES_PROVIDER=static, or another RATES_<CURRENCY>_PER_USD (serve quotes no currency at a default rate)`,
    );
  }
}
