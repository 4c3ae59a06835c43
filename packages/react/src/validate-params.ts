import { type OpenPaymentModalParams, PaymentError } from "./types.ts";

// The gateway's rule for fiat_amount (payments/money.ts, fiatAmountProblem): a plain decimal
// with at most 2 decimals once trailing zeros are dropped ("300.000" is 300), none in JPY, KRW
// and VND, from one minor unit (0.01, or 1) to 1000000000. The gateway's money tests check that this copy refuses exactly what it refuses.
const DECIMAL = /^(\d+)(?:\.(\d+))?$/;
const MAX_DECIMALS = 2;
const MAX_WHOLE = "1000000000";
// The currencies without minor units (ISO 4217) that the gateway quotes: whole amounts only.
const NO_MINOR_UNITS = new Set(["JPY", "KRW", "VND"]);

/**
 * Refuses what the gateway would refuse anyway, before a request leaves the page: the customer
 * sees the mistake at once and no intent is created for it. Throws a PaymentError.
 *
 * @example
 * validatePaymentParams({ fiat_amount: "0.00", fiat_currency: "TWD" }); // throws: at least 0.01
 */
export function validatePaymentParams(params: OpenPaymentModalParams): void {
  const amount: unknown = params?.fiat_amount;
  const match = typeof amount === "string" ? DECIMAL.exec(amount) : null;
  if (match === null) {
    throw new PaymentError(
      "validation",
      `fiat_amount must be a decimal string such as "100" or "300.0", not ${JSON.stringify(amount)}`,
      { data: { field: "fiat_amount" } },
    );
  }
  const [, whole = "", written = ""] = match;
  const fraction = written.replace(/0+$/, "");
  if (fraction.length > MAX_DECIMALS) {
    throw new PaymentError(
      "validation",
      `fiat_amount must have at most ${MAX_DECIMALS} decimals, not ${amount}`,
      { data: { field: "fiat_amount" } },
    );
  }
  // Exact, without floats: at least 0.01 means a non-zero integer part or a non-zero cent.
  if (!/[1-9]/.test(whole) && !/[1-9]/.test(`${fraction}00`.slice(0, 2))) {
    throw new PaymentError("validation", `fiat_amount must be at least 0.01, not ${amount}`, {
      data: { field: "fiat_amount" },
    });
  }
  const digits = whole.replace(/^0+/, "");
  const over =
    digits.length > MAX_WHOLE.length ||
    (digits.length === MAX_WHOLE.length &&
      (digits > MAX_WHOLE || (digits === MAX_WHOLE && /[1-9]/.test(fraction))));
  if (over) {
    throw new PaymentError(
      "validation",
      `fiat_amount must be at most ${MAX_WHOLE}, not ${amount}`,
      {
        data: { field: "fiat_amount" },
      },
    );
  }
  const currency: unknown = params.fiat_currency;
  if (typeof currency !== "string" || currency === "") {
    throw new PaymentError("validation", "fiat_currency is required (e.g. TWD)", {
      data: { field: "fiat_currency" },
    });
  }
  if (NO_MINOR_UNITS.has(currency) && fraction !== "") {
    throw new PaymentError(
      "validation",
      `${currency} has no minor units: fiat_amount must be a whole number, not ${amount}`,
      { data: { field: "fiat_amount" } },
    );
  }
}
