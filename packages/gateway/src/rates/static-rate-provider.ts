import Big from "big.js";
import { PLAIN_DECIMAL } from "../payments/money.ts";
import { FIATS, TOKEN_SYMBOLS } from "../payments/quote.ts";
import { DomainError, ErrorCode } from "../platform/errors.ts";
import type { Fiat, Rate, RateProvider, TokenSymbol } from "./rate-provider.ts";

/**
 * 1 USD = 32.5 TWD and USDT = USDC = 1 USD: the figures behind the reference's samples. The
 * other currencies' figures are round samples near their late-2025 rates, for the sandbox and
 * tests only: `serve` with static rates quotes only what the operator set (createRateProvider).
 */
export const DEFAULT_FIAT_PER_USD: Readonly<Record<Fiat, string>> = {
  USD: "1",
  TWD: "32.5",
  EUR: "0.86",
  JPY: "155",
  HKD: "7.78",
  SGD: "1.3",
  KRW: "1460",
  GBP: "0.76",
  AUD: "1.53",
  CAD: "1.4",
  CHF: "0.8",
  CNY: "7.1",
  THB: "32.3",
  MYR: "4.15",
  PHP: "59",
  IDR: "16650",
  INR: "89",
  VND: "26300",
};
export const DEFAULT_USD_PER_TOKEN: Readonly<Record<TokenSymbol, string>> = {
  USDT: "1",
  USDC: "1",
};

export interface StaticRateProviderOptions {
  /** Merged over DEFAULT_FIAT_PER_USD (unless `samples` is false). */
  fiatPerUsd?: Partial<Record<Fiat, string>>;
  /**
   * false: only the currencies in fiatPerUsd (and USD) are quoted; the others are refused with
   * 503 / 5030 naming their setting. Default true (the sample figures fill the gaps).
   */
  samples?: boolean;
  /** Merged over DEFAULT_USD_PER_TOKEN. */
  usdPerToken?: Partial<Record<TokenSymbol, string>>;
  now?: () => Date;
}

/**
 * Fixed rates from configuration: fiatPerToken = fiatPerUsd[fiat] * usdPerToken[token], exact.
 * For development, tests, and as the last-resort fallback behind a live provider.
 */
export function createStaticRateProvider(options: StaticRateProviderOptions = {}): RateProvider {
  const fiatPerUsd: Partial<Record<Fiat, string>> =
    options.samples === false
      ? { USD: "1", ...options.fiatPerUsd }
      : { ...DEFAULT_FIAT_PER_USD, ...options.fiatPerUsd };
  const usdPerToken = { ...DEFAULT_USD_PER_TOKEN, ...options.usdPerToken };
  const now = options.now ?? (() => new Date());

  // Checked once here so a typo in configuration stops startup instead of failing each quote.
  const fiatValues = new Map(
    FIATS.filter((fiat) => fiatPerUsd[fiat] !== undefined).map((fiat) => [
      fiat,
      positive(`fiatPerUsd.${fiat}`, fiatPerUsd[fiat]),
    ]),
  );
  const tokenValues = new Map(
    TOKEN_SYMBOLS.map((token) => [token, positive(`usdPerToken.${token}`, usdPerToken[token])]),
  );

  return {
    name: "static",
    async getRate(fiat, token) {
      const perUsd = fiatValues.get(fiat);
      if (perUsd === undefined && (FIATS as readonly string[]).includes(fiat)) {
        throw new DomainError({
          status: 503,
          code: ErrorCode.rateUnavailable,
          message: `no static rate for ${fiat} is configured (RATES_${fiat}_PER_USD)`,
        });
      }
      const perToken = tokenValues.get(token);
      if (perUsd === undefined || perToken === undefined) {
        throw new RangeError(`unknown pair ${fiat}/${token}`);
      }
      const rate: Rate = {
        fiat,
        token,
        fiatPerToken: perUsd.times(perToken).toFixed(),
        source: "static",
        fetchedAt: now(),
      };
      return rate;
    },
  };
}

function positive(key: string, value: string | undefined): Big {
  if (value === undefined || !PLAIN_DECIMAL.test(value) || new Big(value).eq(0)) {
    throw new RangeError(
      `static rate ${key} must be a positive plain decimal string, got ${value}`,
    );
  }
  return new Big(value);
}
