import Big from "big.js";
import { formatUnits, parseUnits } from "viem";
import { validationError } from "../platform/errors.ts";

/**
 * A plain, unsigned decimal: digits with an optional fraction. No sign, exponent, spaces,
 * leading "." or trailing "." — the only shape amounts take at the API edge, so "1e3" or
 * " 5" never reach arithmetic that would accept them.
 */
export const PLAIN_DECIMAL = /^\d+(\.\d+)?$/;

export const MIN_FIAT_AMOUNT = "0.01";
export const MAX_FIAT_AMOUNT = "1000000000";
/** The most minor units of any fiat currency the API takes (ISO 4217); each has its own. */
export const MAX_FIAT_DECIMALS = 2;

/** A fiat currency's code and its ISO 4217 minor units (2 for EUR, 0 for JPY). */
export interface FiatUnits {
  code: string;
  minorUnits: number;
}

/** ERC-20 `decimals()` is a uint8. */
export const MAX_TOKEN_DECIMALS = 255;
/** ERC-20 balances and transfer values are uint256. */
export const MAX_TOKEN_AMOUNT = 2n ** 256n - 1n;

/**
 * Digits after the point once trailing zeros are dropped: "300.000" has 0, "1.50" has 1.
 * Trailing zeros are accepted everywhere because they do not change the value, so no amount
 * is ever rejected (or rounded) for the way it was written, only for what it is.
 */
function significantFractionDigits(decimal: string): number {
  const point = decimal.indexOf(".");
  if (point === -1) return 0;
  return decimal.slice(point + 1).replace(/0+$/, "").length;
}

export function assertTokenDecimals(decimals: number): void {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > MAX_TOKEN_DECIMALS) {
    throw new RangeError(
      `token decimals must be an integer 0..${MAX_TOKEN_DECIMALS}, got ${decimals}`,
    );
  }
}

/**
 * "9.23" with 6 decimals -> 9230000n. Never rounds: a value that needs more fractional digits
 * than the token has is rejected, because silently dropping them would change what is paid.
 * `field` names the request field in the error.
 */
export function parseTokenAmount(decimal: string, decimals: number, field = "amount"): bigint {
  assertTokenDecimals(decimals);
  if (!PLAIN_DECIMAL.test(decimal)) {
    throw validationError(field, 'must be a plain decimal string like "10.5"');
  }
  if (significantFractionDigits(decimal) > decimals) {
    throw validationError(field, `has more than ${decimals} decimal places`);
  }
  // With the fraction already known to fit, parseUnits takes no rounding path.
  const base = parseUnits(decimal, decimals);
  if (base > MAX_TOKEN_AMOUNT) {
    throw validationError(field, "is larger than any token amount (uint256)");
  }
  return base;
}

/** 9230000n with 6 decimals -> "9.23"; 9000000n -> "9" (no trailing zeros, like formatUnits). */
export function formatTokenAmount(base: bigint, decimals: number): string {
  assertTokenDecimals(decimals);
  return formatUnits(base, decimals);
}

/**
 * Why a fiat amount as sent by a merchant is refused, or undefined when it is fine: a plain
 * decimal with at most the currency's minor units of significant fractional digits ("300",
 * "300.5", "300.50", "300.000" in EUR; "1000" but not "1000.5" in JPY), from one minor unit
 * (0.01 EUR, 1 JPY) to MAX_FIAT_AMOUNT. Without a currency, the loosest rule (MAX_FIAT_DECIMALS
 * places, from MIN_FIAT_AMOUNT): the request schema's per-field check, before the currency is
 * known. The one rule for fiat_amount: the schema, the services and parseFiatAmount all ask it
 * (docs/decisions.md, 2026-11-27 and 2026-11-28 "more fiat currencies").
 */
export function fiatAmountProblem(input: string, currency?: FiatUnits): string | undefined {
  if (!PLAIN_DECIMAL.test(input)) return 'must be a plain decimal string like "300.50"';
  const places = currency?.minorUnits ?? MAX_FIAT_DECIMALS;
  if (significantFractionDigits(input) > places) {
    if (currency === undefined) return `has more than ${MAX_FIAT_DECIMALS} decimal places`;
    return places === 0
      ? `${currency.code} has no minor units: send a whole number of ${currency.code} (got "${input}")`
      : `has more than ${places} decimal places (${currency.code} has ${places} minor units)`;
  }
  const min = places === 0 ? "1" : `0.${"0".repeat(places - 1)}1`;
  const amount = new Big(input);
  if (amount.lt(min)) {
    return currency === undefined
      ? `must be at least ${min}`
      : `must be at least ${min} ${currency.code}`;
  }
  if (amount.gt(MAX_FIAT_AMOUNT)) return `must be at most ${MAX_FIAT_AMOUNT}`;
  return undefined;
}

/** A fiat amount that fiatAmountProblem accepts, as an exact decimal; else a validation error. */
export function parseFiatAmount(input: string, field = "fiat_amount", currency?: FiatUnits): Big {
  const problem = fiatAmountProblem(input, currency);
  if (problem !== undefined) throw validationError(field, problem);
  return new Big(input);
}
