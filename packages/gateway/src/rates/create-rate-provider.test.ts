import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../platform/config.ts";
import { createRateProvider, requireDeliberateRateSource } from "./create-rate-provider.ts";

describe("createRateProvider", () => {
  it("quotes the sample rate when nothing is configured (sandbox, tests)", async () => {
    const rate = await createRateProvider(loadConfig({})).getRate("TWD", "USDT");
    expect([rate.source, rate.fiatPerToken]).toEqual(["static", "32.5"]);
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
    [{ RATES_PROVIDER: "static" }, /RATES_TWD_PER_USD: required when RATES_PROVIDER=static/],
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
