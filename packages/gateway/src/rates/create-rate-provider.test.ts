import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../platform/config.ts";
import { createRateProvider, requireDeliberateRateSource } from "./create-rate-provider.ts";

describe("createRateProvider", () => {
  it("quotes the sample rate when nothing is configured (sandbox, tests)", async () => {
    const rate = await createRateProvider(loadConfig({})).getRate("TWD", "USDT");
    expect([rate.source, rate.fiatPerToken]).toEqual(["static", "32.5"]);
  });

  it("quotes every currency at a sample rate when nothing is configured (sandbox, tests)", async () => {
    const rates = createRateProvider(loadConfig({}));
    expect((await rates.getRate("JPY", "USDT")).fiatPerToken).toBe("155");
    expect((await rates.getRate("KRW", "USDT")).fiatPerToken).toBe("1460");
  });

  it("with static rates chosen on purpose, quotes only the currencies set (and USD)", async () => {
    const config = loadConfig({ RATES_PROVIDER: "static", RATES_EUR_PER_USD: "0.9" });
    const rates = createRateProvider(config);
    expect((await rates.getRate("EUR", "USDT")).fiatPerToken).toBe("0.9");
    expect((await rates.getRate("USD", "USDT")).fiatPerToken).toBe("1");
    await expect(rates.getRate("TWD", "USDT")).rejects.toMatchObject({
      status: 503,
      code: 5030,
      message: "no static rate for TWD is configured (RATES_TWD_PER_USD)",
    });
    expect(() => requireDeliberateRateSource(config)).not.toThrow();
  });

  it("quotes the configured static rate", async () => {
    const config = loadConfig({ RATES_PROVIDER: "static", RATES_TWD_PER_USD: "31.04" });
    const rate = await createRateProvider(config).getRate("TWD", "USDC");
    expect(rate.fiatPerToken).toBe("31.04");
  });
});

describe("requireDeliberateRateSource", () => {
  it.each([
    [{}, /RATES_PROVIDER=http with RATES_HTTP_URL.*RATES_PROVIDER=static with RATES_TWD_PER_USD/],
    [
      { RATES_PROVIDER: "static" },
      /RATES_TWD_PER_USD: required when RATES_PROVIDER=static, or another RATES_<CURRENCY>_PER_USD/,
    ],
  ])("refuses %j, naming what to set", (env, message) => {
    const config = loadConfig(env);
    expect(() => requireDeliberateRateSource(config)).toThrow(ConfigError);
    expect(() => requireDeliberateRateSource(config)).toThrow(message);
  });

  it.each([
    { RATES_PROVIDER: "static", RATES_TWD_PER_USD: "32.5" },
    { RATES_PROVIDER: "http", RATES_HTTP_URL: "https://rates.example/latest/USD" },
  ])("accepts %j", (env) => {
    expect(() => requireDeliberateRateSource(loadConfig(env))).not.toThrow();
  });
});
