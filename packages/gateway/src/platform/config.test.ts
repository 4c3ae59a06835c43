import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createChainRegistry } from "../chain/chain-registry.ts";
import { ConfigError, loadConfig } from "./config.ts";

describe("loadConfig", () => {
  it("has the documented defaults", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      PORT: 8080,
      HOST: "127.0.0.1",
      DATA_DIR: path.resolve("./data"),
      PAYMENT_TTL_SECONDS: 1800,
      LOG_LEVEL: "info",
      CRYPTO_AMOUNT_DECIMALS: 2,
    });
    expect(c.DATABASE_URL).toBeUndefined();
    // No rate source by default: serve makes the operator choose one (the sandbox needs none).
    expect(c.RATES_PROVIDER).toBeUndefined();
    expect(c.RATES_TWD_PER_USD).toBeUndefined();
  });

  it("takes a metrics token of 16 or more printable characters, and a balance TTL", () => {
    expect(loadConfig({}).METRICS_TOKEN).toBeUndefined();
    expect(loadConfig({}).METRICS_BALANCE_TTL_SECONDS).toBe(60);
    const c = loadConfig({ METRICS_TOKEN: "0123456789abcdef", METRICS_BALANCE_TTL_SECONDS: "300" });
    expect([c.METRICS_TOKEN, c.METRICS_BALANCE_TTL_SECONDS]).toEqual(["0123456789abcdef", 300]);
    for (const token of ["short", "sixteen chars ok", "sixteen!chars!ok"])
      expect(() => loadConfig({ METRICS_TOKEN: token })).toThrow(
        /METRICS_TOKEN: must be at least 16 characters of A-Z a-z 0-9 \. _ ~ \+ \/ -/,
      );
    expect(() => loadConfig({ METRICS_BALANCE_TTL_SECONDS: "0" })).toThrow(
      /METRICS_BALANCE_TTL_SECONDS/,
    );
  });

  it("reads confirmation policies per chain, with defaults", () => {
    const c = loadConfig({ CONFIRMATIONS_ARB: "finalized", CONFIRMATIONS_ETH: "3" });
    expect(c.confirmations).toMatchObject({ arb: "finalized", eth: 3, base: 10 });
  });

  it("reads a gas strategy per chain and the sweep batching, refusing a bad value by name", () => {
    const c = loadConfig({ GAS_STRATEGY_BSC: "topup", SWEEP_BATCH_SIZE: "10" });
    expect(c.gasStrategies).toEqual({ bsc: "topup" });
    expect(c.SWEEP_BATCH_SIZE).toBe(10);
    expect(c.SWEEP_MAX_WAIT_MS).toBe(30_000);
    expect(() => loadConfig({ GAS_STRATEGY_ARB: "7702" })).toThrow(
      /GAS_STRATEGY_ARB: must be eip7702 or topup/,
    );
    expect(() => loadConfig({ SWEEP_BATCH_SIZE: "0" })).toThrow(/SWEEP_BATCH_SIZE: /);
  });

  it("reads whether the watcher may trust each chain's header blooms, refusing a bad value by name", () => {
    const c = loadConfig({ LOGS_BLOOM_ARB: "ignore", LOGS_BLOOM_POLYGON: "use" });
    expect(c.logsBloom).toEqual({ arb: "ignore", polygon: "use" });
    const chains = createChainRegistry({ logsBloom: c.logsBloom });
    expect(chains.get("arb").bloomIncomplete).toBe(true);
    expect(chains.get("polygon").bloomIncomplete).toBe(false);
    // Unset: the chain's own default (Polygon's state-sync logs are not in its blooms).
    expect(createChainRegistry({}).get("polygon").bloomIncomplete).toBe(true);
    expect(createChainRegistry({}).get("arb").bloomIncomplete).toBeUndefined();
    expect(() => loadConfig({ LOGS_BLOOM_BASE: "off" })).toThrow(
      /LOGS_BLOOM_BASE: must be use or ignore/,
    );
  });

  it("takes a mail server for invitations only with a sender, refusing a bad one by name", () => {
    const c = loadConfig({
      SMTP_URL: "smtps://user:pw@mail.example.com:465",
      SMTP_FROM: "Stablegate <no-reply@example.com>",
    });
    expect([c.SMTP_URL, c.SMTP_FROM]).toEqual([
      "smtps://user:pw@mail.example.com:465",
      "Stablegate <no-reply@example.com>",
    ]);
    expect(() => loadConfig({ SMTP_URL: "smtp://mail.example.com" })).toThrow(
      /SMTP_FROM: required when SMTP_URL is set/,
    );
    expect(() => loadConfig({ SMTP_URL: "https://mail.example.com", SMTP_FROM: "a@b.c" })).toThrow(
      /SMTP_URL: must be an smtp:\/\/ or smtps:\/\/ URL/,
    );
    // A header break in the sender would let it add headers of its own.
    expect(() =>
      loadConfig({ SMTP_URL: "smtp://m.example", SMTP_FROM: "a@b.c\r\nBcc: x@y.z" }),
    ).toThrow(/SMTP_FROM: must be an address/);
  });

  it("reads the role and the lease timing, and refuses a renewal too slow for the TTL", () => {
    expect(loadConfig({})).toMatchObject({ ROLE: "all", LEASE_TTL_MS: 5000, LEASE_RENEW_MS: 1000 });
    expect(loadConfig({ ROLE: "worker" }, { ROLE: "api" }).ROLE).toBe("api");
    expect(() => loadConfig({ ROLE: "leader" })).toThrow(/ROLE: /);
    expect(() => loadConfig({ LEASE_TTL_MS: "500" })).toThrow(/LEASE_TTL_MS: /);
    expect(() => loadConfig({ LEASE_TTL_MS: "3000", LEASE_RENEW_MS: "2000" })).toThrow(
      /LEASE_RENEW_MS: must be at most half of LEASE_TTL_MS/,
    );
  });

  it("reads the environment over the config file", () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "sg-cfg-")), "c.json");
    writeFileSync(
      file,
      JSON.stringify({
        PORT: 9000,
        PAYMENT_TTL_SECONDS: 60,
        RPC_URLS_ARB: ["https://a.example", "https://b.example"],
      }),
    );
    const c = loadConfig({ CONFIG_FILE: file, PORT: "9100" });
    expect(c.PORT).toBe(9100);
    expect(c.PAYMENT_TTL_SECONDS).toBe(60);
    expect(c.rpcUrls.arb).toEqual(["https://a.example", "https://b.example"]);
  });

  it("takes a websocket URL among the RPC URLs for new heads, and only the http(s) ones for calls", () => {
    const c = loadConfig({ RPC_URLS_ARB: "wss://ws.example/k, https://a.example" });
    expect(c.rpcUrls.arb).toEqual(["https://a.example"]);
    expect(c.wsUrls.arb).toBe("wss://ws.example/k");
    const both = loadConfig({
      RPC_URLS_ARB: "wss://ws.example/k,https://a.example",
      WS_URL_ARB: "wss://other.example",
    });
    expect(both.wsUrls.arb).toBe("wss://other.example");
  });

  it.each([
    [{ PORT: "abc" }, "PORT"],
    [{ PORT: "70000" }, "PORT"],
    [{ PORT: " " }, "PORT"],
    [{ PORT: "1e3" }, "PORT"],
    [{ PAYMENT_TTL_SECONDS: "0" }, "PAYMENT_TTL_SECONDS"],
    [{ PAYMENT_TTL_SECONDS: "-5" }, "PAYMENT_TTL_SECONDS"],
    [{ DATABASE_URL: "mysql://x" }, "DATABASE_URL"],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL"],
    [{ RPC_URLS_ARB: "not a url" }, "RPC_URLS_ARB"],
    [{ RPC_URLS_ARB: "wss://a.example" }, "RPC_URLS_ARB: needs an http\\(s\\) URL"],
    [{ RATES_PROVIDER: "http" }, "RATES_HTTP_URL"],
    [{ RATES_TWD_PER_USD: "32,5" }, "RATES_TWD_PER_USD"],
    [{ RATES_TWD_PER_USD: "0.00" }, "RATES_TWD_PER_USD"],
    [{ CONFIRMATIONS_ETH: "soon" }, "CONFIRMATIONS_ETH"],
    [{ CONFIRMATIONS_ARB: "0" }, "CONFIRMATIONS_ARB"],
  ])("stops on %j naming %s", (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(name));
  });

  it("names an unknown setting or bad JSON in the config file", () => {
    const d = mkdtempSync(path.join(tmpdir(), "sg-cfg-"));
    writeFileSync(path.join(d, "a.json"), JSON.stringify({ PROT: 1 }));
    expect(() => loadConfig({ CONFIG_FILE: path.join(d, "a.json") })).toThrow(
      /unknown setting PROT/,
    );
    writeFileSync(path.join(d, "b.json"), "{");
    expect(() => loadConfig({ CONFIG_FILE: path.join(d, "b.json") })).toThrow(/not valid JSON/);
    expect(() => loadConfig({ CONFIG_FILE: path.join(d, "none.json") })).toThrow(/cannot read/);
  });
});
