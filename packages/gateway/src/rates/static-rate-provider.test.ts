import { describe, expect, it } from "vitest";
import { quote } from "../payments/quote.ts";
import { createStaticRateProvider } from "./static-rate-provider.ts";

describe("createStaticRateProvider", () => {
  it("defaults to the reference's rate: 32.5 TWD per USDT, 1 USD per USDC", async () => {
    const rates = createStaticRateProvider({ now: () => new Date("2025-01-01T00:00:00Z") });
    expect(rates.name).toBe("static");
    await expect(rates.getRate("TWD", "USDT")).resolves.toEqual({
      fiat: "TWD",
      token: "USDT",
      fiatPerToken: "32.5",
      source: "static",
      fetchedAt: new Date("2025-01-01T00:00:00Z"),
    });
    await expect(rates.getRate("USD", "USDC")).resolves.toMatchObject({ fiatPerToken: "1" });
  });

  it("produces the reference sample through quote", async () => {
    const rate = await createStaticRateProvider().getRate("TWD", "USDT");
    const q = quote({ fiatAmount: "300.0", fiatCurrency: "TWD", rate, tokenDecimals: 6 });
    expect(q).toMatchObject({ cryptoAmount: "9.23", rate: "32.5", rateSource: "static" });
  });

  it("multiplies configured rates exactly, keeping defaults for what is not configured", async () => {
    const rates = createStaticRateProvider({
      fiatPerUsd: { TWD: "30.123" },
      usdPerToken: { USDC: "0.9998" },
    });
    // 30.123 * 0.9998 = 30.1169754 exactly (a float product would be 30.116975399999998).
    await expect(rates.getRate("TWD", "USDC")).resolves.toMatchObject({
      fiatPerToken: "30.1169754",
    });
    await expect(rates.getRate("TWD", "USDT")).resolves.toMatchObject({ fiatPerToken: "30.123" });
    await expect(rates.getRate("USD", "USDC")).resolves.toMatchObject({ fiatPerToken: "0.9998" });
  });

  it("rejects unusable configuration when created, not at the first quote", () => {
    for (const bad of ["0", "-1", "abc", "1e2", ""]) {
      expect(() => createStaticRateProvider({ fiatPerUsd: { TWD: bad } })).toThrow(
        /fiatPerUsd\.TWD/,
      );
    }
    expect(() => createStaticRateProvider({ usdPerToken: { USDT: "0.00" } })).toThrow(
      /usdPerToken\.USDT/,
    );
  });
});
