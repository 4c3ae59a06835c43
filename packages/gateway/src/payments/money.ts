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
export const MAX_FIAT_DECIMALS = 2;

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
 * decimal with at most MAX_FIAT_DECIMALS significant fractional digits ("300", "300.5",
 * "300.50", "300.000"), within [MIN_FIAT_AMOUNT, MAX_FIAT_AMOUNT]. The one rule for fiat_amount:
 * the request schema and parseFiatAmount both ask it (docs/decisions.md, 2026-11-27).
 */
export function fiatAmountProblem(input: string): string | undefined {
  if (!PLAIN_DECIMAL.test(input)) return 'must be a plain decimal string like "300.50"';
  if (significantFractionDigits(input) > MAX_FIAT_DECIMALS) {
    return `has more than ${MAX_FIAT_DECIMALS} decimal places`;
  }
  const amount = new Big(input);
  if (amount.lt(MIN_FIAT_AMOUNT)) return `must be at least ${MIN_FIAT_AMOUNT}`;
  if (amount.gt(MAX_FIAT_AMOUNT)) return `must be at most ${MAX_FIAT_AMOUNT}`;
  return undefined;
}

/** A fiat amount that fiatAmountProblem accepts, as an exact decimal; else a validation error. */
export function parseFiatAmount(input: string, field = "fiat_amount"): Big {
  const problem = fiatAmountProblem(input);
  if (problem !== undefined) throw validationError(field, problem);
  return new Big(input);
}
