import Big from "big.js";
import { DomainError, ErrorCode, validationError } from "../platform/errors.ts";
import {
  assertTokenDecimals,
  type FiatUnits,
  formatTokenAmount,
  PLAIN_DECIMAL,
  parseFiatAmount,
  parseTokenAmount,
} from "./money.ts";

/**
 * The fiat currencies the API quotes, each with its ISO 4217 minor units: what `fiat_amount`
 * may carry after the point. TWD keeps ISO's 2 (as before), though its coins are whole dollars
 * and banks often show it with none.
 */
export const FIAT_MINOR_UNITS = {
  TWD: 2,
  USD: 2,
  EUR: 2,
  JPY: 0,
  HKD: 2,
  SGD: 2,
  KRW: 0,
  GBP: 2,
  AUD: 2,
  CAD: 2,
  CHF: 2,
  CNY: 2,
  THB: 2,
  MYR: 2,
  PHP: 2,
  IDR: 2,
  INR: 2,
  VND: 0,
} as const;

export type Fiat = keyof typeof FIAT_MINOR_UNITS;
/** In the order above: the OpenAPI enum, Studio's picker. */
export const FIATS = Object.keys(FIAT_MINOR_UNITS) as [Fiat, ...Fiat[]];

/** `fiat`'s code and minor units, for fiatAmountProblem. */
export const fiatUnits = (fiat: Fiat): FiatUnits => ({
  code: fiat,
  minorUnits: FIAT_MINOR_UNITS[fiat],
});

/**
 * `fiat_amount` in its currency's minor units ("1000.5" JPY is refused), or a 400 / 4000 naming
 * the field: what create and payment links check before any rate is fetched.
 */
export function checkFiatAmount(amount: string, fiat: Fiat, field = "fiat_amount"): void {
  parseFiatAmount(amount, field, fiatUnits(fiat));
}

export const TOKEN_SYMBOLS = ["USDT", "USDC"] as const;
export type TokenSymbol = (typeof TOKEN_SYMBOLS)[number];

/** How many `fiat` units one `token` costs, where that figure came from, and when. */
export interface Rate {
  readonly fiat: Fiat;
  readonly token: TokenSymbol;
  /** A plain positive decimal string, e.g. "32.5". */
  readonly fiatPerToken: string;
  /** "static", "http:open.er-api.com", ...; stored on the intent next to the rate. */
  readonly source: string;
  readonly fetchedAt: Date;
}

/** The reference quotes crypto amounts to cents ("9.23"). */
export const DEFAULT_CRYPTO_DECIMALS = 2;

export interface QuoteParameters {
  fiatAmount: string;
  fiatCurrency: Fiat;
  rate: Rate;
  tokenDecimals: number;
  /** Decimal places of the quoted crypto amount; at most tokenDecimals. Default 2. */
  cryptoDecimals?: number;
}

export interface QuoteReturnType {
  /**
   * The rounded amount in its shortest form: "9.23", "10" (not "10.00"), "9.2" (not "9.20").
   * The reference only shows two-digit samples ("9.23", "2.53"); the shortest form is what
   * formatUnits gives for the base amount, so the string and `cryptoAmountBase` can never
   * disagree, and clients comparing amounts numerically see the same value either way.
   */
  cryptoAmount: string;
  /** The same amount in token base units: what the watcher compares received transfers to. */
  cryptoAmountBase: bigint;
  /** The fiat-per-token rate used, normalised ("32.50" -> "32.5"). */
  rate: string;
  rateSource: string;
}

/**
 * fiat / fiatPerToken, rounded half-up to `cryptoDecimals`, computed exactly:
 * 300 TWD at 32.5 TWD per USDT -> "9.23"; 1 USD at 1 -> "1".
 */
export function quote(parameters: QuoteParameters): QuoteReturnType {
  const { fiatAmount, fiatCurrency, rate, tokenDecimals } = parameters;
  const cryptoDecimals = parameters.cryptoDecimals ?? DEFAULT_CRYPTO_DECIMALS;

  assertTokenDecimals(tokenDecimals);
  if (!Number.isInteger(cryptoDecimals) || cryptoDecimals < 0 || cryptoDecimals > tokenDecimals) {
    throw new RangeError(
      `cryptoDecimals must be an integer 0..${tokenDecimals} (the token's decimals), got ${cryptoDecimals}`,
    );
  }
  if (!(FIATS as readonly string[]).includes(fiatCurrency)) {
    throw validationError("fiat_currency", `must be one of ${FIATS.join(", ")}`);
  }
  if (rate.fiat !== fiatCurrency) {
    // The caller picked the wrong rate: a bug, not something a merchant can fix.
    throw new RangeError(`rate is in ${rate.fiat} per ${rate.token}, quote is in ${fiatCurrency}`);
  }

  const fiat = parseFiatAmount(fiatAmount, "fiat_amount", fiatUnits(fiatCurrency));
  const fiatPerToken = parseRate(rate);

  // big.js division rounds to DP places with RM. Rounding half-up there and then again to
  // cryptoDecimals can round twice (0.12499999…9 -> 0.125 -> 0.13). Truncating one digit past
  // the target instead and rounding once gives exactly the half-up rounding of the true
  // quotient: truncation never crosses a tie point, because tie points have cryptoDecimals + 1
  // digits. A private constructor keeps these settings away from every other big.js user.
  const Truncating = Big();
  Truncating.DP = cryptoDecimals + 1;
  Truncating.RM = Truncating.roundDown;
  const rounded = new Truncating(fiat).div(fiatPerToken).round(cryptoDecimals, Big.roundHalfUp);

  if (rounded.eq(0)) {
    throw validationError(
      "fiat_amount",
      `is too small: ${fiatAmount} ${fiatCurrency} rounds to 0 ${rate.token} at ${fiatPerToken.toFixed()} ${fiatCurrency} per ${rate.token}`,
    );
  }

  const cryptoAmountBase = parseTokenAmount(
    rounded.toFixed(cryptoDecimals),
    tokenDecimals,
    "fiat_amount",
  );
  return {
    cryptoAmount: formatTokenAmount(cryptoAmountBase, tokenDecimals),
    cryptoAmountBase,
    rate: fiatPerToken.toFixed(),
    rateSource: rate.source,
  };
}

/** A rate comes from outside (a provider); one that cannot be used means no rate is available. */
function parseRate(rate: Rate): Big {
  const unusable = (why: string) =>
    new DomainError({
      status: 503,
      code: ErrorCode.rateUnavailable,
      message: `rate from ${rate.source} for ${rate.fiat}/${rate.token} ${why}`,
    });
  if (!PLAIN_DECIMAL.test(rate.fiatPerToken)) {
    throw unusable(`is not a plain decimal: "${rate.fiatPerToken}"`);
  }
  const value = new Big(rate.fiatPerToken);
  if (value.eq(0)) throw unusable("is zero");
  return value;
}
