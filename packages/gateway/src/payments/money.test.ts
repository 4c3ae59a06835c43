import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { validatePaymentParams } from "../../../react/src/validate-params.ts";
import { DomainError } from "../platform/errors.ts";
import {
  fiatAmountProblem,
  formatTokenAmount,
  MAX_FIAT_AMOUNT,
  MAX_TOKEN_AMOUNT,
  MIN_FIAT_AMOUNT,
  parseFiatAmount,
  parseTokenAmount,
} from "./money.ts";
import { FIAT_MINOR_UNITS, FIATS, type Fiat, fiatUnits } from "./quote.ts";
import { CreatePaymentIntentBody } from "./schemas.ts";

function expectValidationError(run: () => unknown, field: string) {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    const domainError = error as DomainError;
    expect(domainError.status).toBe(400);
    expect(domainError.code).toBe(4000);
    expect(domainError.message).toContain(field);
    return domainError;
  }
  throw new Error("expected a validation error");
}

/** Decimal strings in canonical form (what formatTokenAmount produces) for `decimals`. */
const canonicalAmount = (decimals: number) =>
  fc
    .tuple(
      fc.bigInt({ min: 0n, max: 10n ** 30n }),
      fc.integer({ min: 0, max: decimals }),
      fc.bigInt({ min: 0n, max: 10n ** BigInt(decimals) }),
    )
    .map(([integer, places, raw]) => {
      if (places === 0) return integer.toString();
      const fraction = (raw % 10n ** BigInt(places)).toString().padStart(places, "0");
      const trimmed = fraction.replace(/0+$/, "");
      return trimmed === "" ? integer.toString() : `${integer}.${trimmed}`;
    });

describe("parseTokenAmount / formatTokenAmount", () => {
  it("converts the reference's amounts", () => {
    expect(parseTokenAmount("9.23", 6)).toBe(9_230_000n);
    expect(formatTokenAmount(9_230_000n, 6)).toBe("9.23");
    expect(formatTokenAmount(9_000_000n, 6)).toBe("9");
    expect(formatTokenAmount(0n, 6)).toBe("0");
    expect(parseTokenAmount("100.123", 18)).toBe(100_123_000_000_000_000_000n);
    expect(parseTokenAmount("5", 0)).toBe(5n);
  });

  it("round-trips every canonical amount", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 30 }).chain((d) => fc.tuple(fc.constant(d), canonicalAmount(d))),
        ([decimals, text]) => {
          expect(formatTokenAmount(parseTokenAmount(text, decimals), decimals)).toBe(text);
        },
      ),
    );
  });

  it("round-trips every base amount", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: MAX_TOKEN_AMOUNT }),
        fc.integer({ min: 0, max: 78 }),
        (base, decimals) => {
          expect(parseTokenAmount(formatTokenAmount(base, decimals), decimals)).toBe(base);
        },
      ),
    );
  });

  it("rejects more fractional digits than the token has instead of rounding", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 18 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 0, max: 5 }),
        (decimals, lastDigit, extraZeros) => {
          const text = `1.${"0".repeat(decimals)}${lastDigit}${"0".repeat(extraZeros)}`;
          expectValidationError(
            () => parseTokenAmount(text, decimals, "refund_amount"),
            "refund_amount",
          );
        },
      ),
    );
    expect(() => parseTokenAmount("0.0000001", 6)).toThrow(/more than 6 decimal places/);
  });

  it("accepts trailing zeros beyond the token's decimals: the value is unchanged", () => {
    expect(parseTokenAmount("1.5000000000", 6)).toBe(1_500_000n);
    expect(parseTokenAmount("2.000", 0)).toBe(2n);
  });

  it("rejects anything but a plain unsigned decimal", () => {
    for (const bad of [
      "",
      " 1",
      "1 ",
      "-1",
      "+1",
      "1e3",
      "1.",
      ".5",
      "0x10",
      "1,5",
      "Infinity",
      "NaN",
      "１",
    ]) {
      expectValidationError(() => parseTokenAmount(bad, 6), "amount");
    }
  });

  it("rejects amounts no token can hold", () => {
    expect(parseTokenAmount(MAX_TOKEN_AMOUNT.toString(), 0)).toBe(MAX_TOKEN_AMOUNT);
    expectValidationError(() => parseTokenAmount((MAX_TOKEN_AMOUNT + 1n).toString(), 0), "amount");
  });

  it("refuses impossible decimals as a programming error", () => {
    expect(() => parseTokenAmount("1", -1)).toThrow(RangeError);
    expect(() => parseTokenAmount("1", 1.5)).toThrow(RangeError);
    expect(() => formatTokenAmount(1n, 256)).toThrow(RangeError);
  });
});

describe("parseFiatAmount", () => {
  it("accepts the reference's form and the bounds", () => {
    expect(parseFiatAmount("300.0").toFixed()).toBe("300");
    expect(parseFiatAmount("300.50").toFixed()).toBe("300.5");
    expect(parseFiatAmount(MIN_FIAT_AMOUNT).toFixed()).toBe("0.01");
    expect(parseFiatAmount(MAX_FIAT_AMOUNT).toFixed()).toBe("1000000000");
    expect(parseFiatAmount("1000000000.00").toFixed()).toBe("1000000000");
  });

  it("rejects values outside the bounds, naming the field", () => {
    for (const bad of [
      "0",
      "0.00",
      "0.009",
      "1000000000.01",
      "1000000001",
      "99999999999999999999",
    ]) {
      expectValidationError(() => parseFiatAmount(bad), "fiat_amount");
    }
    expectValidationError(() => parseFiatAmount("0", "amount"), "amount");
  });

  it("rejects more than two decimal places, but not trailing zeros", () => {
    expectValidationError(() => parseFiatAmount("1.001"), "fiat_amount");
    expectValidationError(() => parseFiatAmount("300.123"), "fiat_amount");
    expect(parseFiatAmount("300.100").toFixed()).toBe("300.1");
  });

  it("rejects signs, exponents, spaces and other spellings", () => {
    for (const bad of [
      "-1",
      "+1",
      "1e2",
      "1E2",
      " 1",
      "1 ",
      "1.",
      ".5",
      "1,000",
      "0x10",
      "",
      "NaN",
    ]) {
      expectValidationError(() => parseFiatAmount(bad), "fiat_amount");
    }
  });

  it("accepts exactly the in-range cent amounts", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n * 10n ** 11n }), (cents) => {
        const text = `${cents / 100n}.${(cents % 100n).toString().padStart(2, "0")}`;
        const inRange = cents >= 1n && cents <= 100_000_000_000n;
        if (inRange) {
          expect(parseFiatAmount(text).toFixed(2)).toBe(text);
        } else {
          expectValidationError(() => parseFiatAmount(text), "fiat_amount");
        }
      }),
    );
  });
});

describe("one rule for fiat_amount", () => {
  // Amounts near every boundary: signs, exponents and spaces, 0 to 14 fractional digits (trailing
  // zeros included), around 0.01 and around 1000000000.
  const amounts = fc.oneof(
    fc
      .tuple(
        fc.oneof(fc.stringMatching(/^\d{1,3}$/), fc.constantFrom("0", "999999999", "1000000000")),
        fc.option(fc.stringMatching(/^\d{0,4}0{0,10}$/), { nil: undefined }),
      )
      .map(([whole, fraction]) => (fraction === undefined ? whole : `${whole}.${fraction}`)),
    fc.stringMatching(/^[-+ ]?[0-9.e]{0,8} ?$/),
    fc.constantFrom("300.000", "0.010", "0.0010", "1000000000.000", "1000000000.0001", "1.", ".5"),
  );
  const body = (fiat_amount: string) => ({ fiat_amount, fiat_currency: "TWD" as const });

  it('accepts "300.000" at the edge, as the quote does: trailing zeros do not change the value', () => {
    expect(CreatePaymentIntentBody.safeParse(body("300.000")).success).toBe(true);
    expect(parseFiatAmount("300.000").toFixed()).toBe("300");
    const refused = CreatePaymentIntentBody.safeParse(body("300.001"));
    expect(refused.error?.issues[0]?.message).toBe("has more than 2 decimal places");
  });

  it("the request schema, the quote and the React SDK's check accept exactly the same amounts", () => {
    fc.assert(
      fc.property(amounts, (amount) => {
        const accepted = fiatAmountProblem(amount) === undefined;
        expect(CreatePaymentIntentBody.safeParse(body(amount)).success).toBe(accepted);
        let quoted = true;
        try {
          parseFiatAmount(amount);
        } catch {
          quoted = false;
        }
        expect(quoted).toBe(accepted);
        let inBrowser = true;
        try {
          validatePaymentParams(body(amount));
        } catch {
          inBrowser = false;
        }
        expect(inBrowser, amount).toBe(accepted);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("each currency's minor units", () => {
  it("takes ISO 4217's: none for JPY, KRW and VND, two for the others (TWD included)", () => {
    expect(FIATS.filter((f) => FIAT_MINOR_UNITS[f] === 0)).toEqual(["JPY", "KRW", "VND"]);
    expect(FIAT_MINOR_UNITS).toMatchObject({ TWD: 2, USD: 2, EUR: 2, HKD: 2, SGD: 2 });
  });

  it('accepts "1000" JPY and refuses "1000.5", saying JPY has no minor units', () => {
    expect(fiatAmountProblem("1000", fiatUnits("JPY"))).toBeUndefined();
    expect(fiatAmountProblem("1000.000", fiatUnits("JPY"))).toBeUndefined();
    expect(fiatAmountProblem("1000.5", fiatUnits("JPY"))).toBe(
      'JPY has no minor units: send a whole number of JPY (got "1000.5")',
    );
    const error = expectValidationError(
      () => parseFiatAmount("100.5", "fiat_amount", fiatUnits("KRW")),
      "fiat_amount",
    );
    expect(error.message).toBe(
      'fiat_amount: KRW has no minor units: send a whole number of KRW (got "100.5")',
    );
    expect(fiatAmountProblem("0", fiatUnits("JPY"))).toBe("must be at least 1 JPY");
  });

  it("takes EUR to two places, from 0.01", () => {
    expect(fiatAmountProblem("12.34", fiatUnits("EUR"))).toBeUndefined();
    expect(fiatAmountProblem("0.01", fiatUnits("EUR"))).toBeUndefined();
    expect(fiatAmountProblem("12.345", fiatUnits("EUR"))).toBe(
      "has more than 2 decimal places (EUR has 2 minor units)",
    );
    expect(fiatAmountProblem("0.00", fiatUnits("EUR"))).toBe("must be at least 0.01 EUR");
  });

  it("the service's check and the React SDK's check accept exactly the same amounts per currency", () => {
    const amounts = fc.oneof(
      fc
        .tuple(
          fc.oneof(fc.stringMatching(/^\d{1,3}$/), fc.constantFrom("0", "1000000000")),
          fc.option(fc.stringMatching(/^\d{0,3}0{0,3}$/), { nil: undefined }),
        )
        .map(([whole, fraction]) => (fraction === undefined ? whole : `${whole}.${fraction}`)),
      fc.constantFrom("1", "1.0", "0.5", "0.01", "1000.5", "1000000000.1"),
    );
    fc.assert(
      fc.property(amounts, fc.constantFrom<Fiat>(...FIATS), (amount, fiat) => {
        const accepted = fiatAmountProblem(amount, fiatUnits(fiat)) === undefined;
        let inBrowser = true;
        try {
          validatePaymentParams({ fiat_amount: amount, fiat_currency: fiat });
        } catch {
          inBrowser = false;
        }
        expect(inBrowser, `${amount} ${fiat}`).toBe(accepted);
        // The schema's currency-blind check is never stricter than the currency's own.
        if (accepted) expect(fiatAmountProblem(amount)).toBeUndefined();
      }),
      { numRuns: 2000 },
    );
  });
});
