import Big from "big.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DomainError } from "../platform/errors.ts";
import { type Fiat, quote, type Rate } from "./quote.ts";

function rate(fiatPerToken: string, fiat: Fiat = "TWD"): Rate {
  return { fiat, token: "USDT", fiatPerToken, source: "test", fetchedAt: new Date(0) };
}

function quoteAt(
  fiatAmount: string,
  fiatPerToken: string,
  fiat: Fiat = "TWD",
  cryptoDecimals?: number,
) {
  return quote({
    fiatAmount,
    fiatCurrency: fiat,
    rate: rate(fiatPerToken, fiat),
    tokenDecimals: 6,
    ...(cryptoDecimals === undefined ? {} : { cryptoDecimals }),
  });
}

function caught(run: () => unknown): DomainError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    return error as DomainError;
  }
  throw new Error("expected a DomainError");
}

describe("quote", () => {
  it("matches the reference sample: 300 TWD at 32.5 TWD per USDT is 9.23 USDT", () => {
    expect(quoteAt("300.0", "32.5")).toEqual({
      cryptoAmount: "9.23",
      cryptoAmountBase: 9_230_000n,
      rate: "32.5",
      rateSource: "test",
    });
  });

  it("gives whole and smallest amounts in their shortest form", () => {
    expect(quoteAt("1", "1", "USD").cryptoAmount).toBe("1");
    expect(quoteAt("10.00", "1", "USD").cryptoAmount).toBe("10");
    expect(quoteAt("0.01", "1", "USD")).toMatchObject({
      cryptoAmount: "0.01",
      cryptoAmountBase: 10_000n,
    });
    expect(quoteAt("9.2", "1", "USD").cryptoAmount).toBe("9.2");
  });

  it("rounds ties half-up", () => {
    expect(quoteAt("1", "8", "USD").cryptoAmount).toBe("0.13"); // 0.125
    expect(quoteAt("1", "1.6", "USD").cryptoAmount).toBe("0.63"); // 0.625
    expect(quoteAt("0.01", "0.08", "USD").cryptoAmount).toBe("0.13"); // 0.125
    expect(quoteAt("1", "8", "USD", 1).cryptoAmount).toBe("0.1"); // 0.125 -> 0.1
    expect(quoteAt("0.05", "1", "USD", 1).cryptoAmount).toBe("0.1"); // 0.05 -> 0.1
  });

  it("rounds once: a quotient just under a tie rounds down", () => {
    // 1 / 8.000000000000000000000001 = 0.12499999999999999999999998…; rounding it to big.js's
    // default 20 places first would give 0.125 and then 0.13.
    expect(quoteAt("1", "8.000000000000000000000001", "USD").cryptoAmount).toBe("0.12");
    expect(quoteAt("1", "7.999999999999999999999999", "USD").cryptoAmount).toBe("0.13");
  });

  it("keeps the token's base units exact for the quoted decimals", () => {
    const q = quote({
      fiatAmount: "300",
      fiatCurrency: "TWD",
      rate: rate("32.5"),
      tokenDecimals: 18,
      cryptoDecimals: 6,
    });
    expect(q.cryptoAmount).toBe("9.230769");
    expect(q.cryptoAmountBase).toBe(9_230_769_000_000_000_000n);
  });

  it("normalises the rate it reports and keeps the source", () => {
    const q = quote({
      fiatAmount: "300",
      fiatCurrency: "TWD",
      rate: { ...rate("32.500"), source: "http:open.er-api.com" },
      tokenDecimals: 6,
    });
    expect(q.rate).toBe("32.5");
    expect(q.rateSource).toBe("http:open.er-api.com");
  });

  it("rejects an amount that rounds to zero, as a validation error on fiat_amount", () => {
    const error = caught(() => quoteAt("0.01", "32.5"));
    expect(error.status).toBe(400);
    expect(error.code).toBe(4000);
    expect(error.message).toMatch(/^fiat_amount: .*rounds to 0 USDT/);
    // 0.16 / 32.5 = 0.0049… rounds to 0; 0.17 / 32.5 = 0.0052… rounds to 0.01.
    expect(() => quoteAt("0.16", "32.5")).toThrow(DomainError);
    expect(quoteAt("0.17", "32.5").cryptoAmount).toBe("0.01");
  });

  it("rejects bad fiat amounts with the fiat_amount field", () => {
    for (const bad of ["-1", "1e2", "0", "1.001", "1000000000.01"]) {
      expect(caught(() => quoteAt(bad, "1", "USD")).message).toMatch(/^fiat_amount: /);
    }
  });

  it("treats an unusable rate as the rate being unavailable", () => {
    for (const bad of ["0", "0.000", "-1", "abc", "1e3", ""]) {
      const error = caught(() => quoteAt("1", bad, "USD"));
      expect(error.status).toBe(503);
      expect(error.code).toBe(5030);
    }
  });

  it("refuses misuse: wrong currency, too many quoted decimals", () => {
    expect(() =>
      quote({ fiatAmount: "1", fiatCurrency: "USD", rate: rate("32.5", "TWD"), tokenDecimals: 6 }),
    ).toThrow(RangeError);
    expect(() =>
      quote({
        fiatAmount: "1",
        fiatCurrency: "USD",
        rate: rate("1", "USD"),
        tokenDecimals: 6,
        cryptoDecimals: 7,
      }),
    ).toThrow(RangeError);
    expect(
      caught(() =>
        quote({
          fiatAmount: "1",
          fiatCurrency: "XXX" as Fiat,
          rate: rate("1", "XXX" as Fiat),
          tokenDecimals: 6,
        }),
      ).message,
    ).toMatch(/^fiat_currency: /);
  });

  const fiatAmount = fc
    .bigInt({ min: 1n, max: 100_000_000_000n })
    .map((cents) => new Big(cents.toString()).div(100).toFixed());
  const fiatPerToken = fc
    .tuple(fc.bigInt({ min: 1n, max: 10n ** 12n }), fc.integer({ min: 0, max: 12 }))
    .map(([units, scale]) => new Big(units.toString()).div(new Big(10).pow(scale)).toFixed());

  it("is the half-up rounding of the exact quotient, or rejected when that is zero", () => {
    fc.assert(
      fc.property(fiatAmount, fiatPerToken, fc.integer({ min: 0, max: 6 }), (fiat, perToken, d) => {
        const unit = new Big(1).div(new Big(10).pow(d));
        const half = unit.div(2);
        // Compare crypto * rate with fiat instead of dividing, so the check itself is exact:
        // exact = fiat / rate; half-up means exact - half <= crypto < exact + half.
        const rateValue = new Big(perToken);
        const exactBelowHalfUnit = new Big(fiat).lt(half.times(rateValue));
        let result: ReturnType<typeof quote>;
        try {
          result = quoteAt(fiat, perToken, "USD", d);
        } catch (error) {
          expect(error).toBeInstanceOf(DomainError);
          expect(exactBelowHalfUnit).toBe(true);
          return;
        }
        expect(exactBelowHalfUnit).toBe(false);
        const crypto = new Big(result.cryptoAmount);
        const error = crypto.times(rateValue).minus(fiat); // (crypto - exact) * rate
        expect(error.gt(half.times(rateValue).neg())).toBe(true);
        expect(error.lte(half.times(rateValue))).toBe(true);
        // A multiple of the quoted unit, and the base amount agrees with the string.
        expect(crypto.mod(unit).eq(0)).toBe(true);
        expect(result.cryptoAmountBase.toString()).toBe(crypto.times(1_000_000).toFixed());
      }),
      { numRuns: 500 },
    );
  });
});

describe("quote in more currencies", () => {
  it("quotes KRW and JPY in whole units, EUR in cents", () => {
    expect(quoteAt("50000", "1460", "KRW").cryptoAmount).toBe("34.25");
    expect(quoteAt("1000", "155", "JPY").cryptoAmount).toBe("6.45");
    expect(quoteAt("12.34", "0.86", "EUR").cryptoAmount).toBe("14.35");
  });

  it("refuses a fraction of a currency without minor units, naming fiat_amount", () => {
    const error = caught(() => quoteAt("1000.5", "155", "JPY"));
    expect(error.status).toBe(400);
    expect(error.code).toBe(4000);
    expect(error.message).toBe(
      'fiat_amount: JPY has no minor units: send a whole number of JPY (got "1000.5")',
    );
  });
});
