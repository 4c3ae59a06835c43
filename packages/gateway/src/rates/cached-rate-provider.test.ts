import { describe, expect, it } from "vitest";
import type { Fiat, TokenSymbol } from "../payments/quote.ts";
import { DomainError } from "../platform/errors.ts";
import { createCachedRateProvider, DEFAULT_MAX_STALE_MS } from "./cached-rate-provider.ts";
import type { Rate, RateProvider } from "./rate-provider.ts";
import { createStaticRateProvider } from "./static-rate-provider.ts";

/**
 * An upstream whose answers the test decides: each call waits for the test to answer it
 * (`answer`/`fail`), so the test sees exactly how many requests reached it and when.
 */
function createScriptedProvider(name = "upstream") {
  const calls: {
    fiat: Fiat;
    token: TokenSymbol;
    resolve(rate: Rate): void;
    reject(e: Error): void;
  }[] = [];
  let autoAnswer: ((fiat: Fiat, token: TokenSymbol) => Rate | Error) | undefined;
  const provider: RateProvider = {
    name,
    getRate(fiat, token) {
      return new Promise<Rate>((resolve, reject) => {
        calls.push({ fiat, token, resolve, reject });
        const auto = autoAnswer?.(fiat, token);
        if (auto instanceof Error) reject(auto);
        else if (auto !== undefined) resolve(auto);
      });
    },
  };
  return {
    provider,
    calls,
    /** From now on answer every call at once. */
    answerWith(fiatPerToken: string) {
      autoAnswer = (fiat, token) => rate(fiat, token, fiatPerToken, name);
    },
    failWith(message: string) {
      autoAnswer = () => unavailable(message);
    },
  };
}

function rate(fiat: Fiat, token: TokenSymbol, fiatPerToken: string, source: string): Rate {
  return { fiat, token, fiatPerToken, source, fetchedAt: new Date(0) };
}

function unavailable(message: string) {
  return new DomainError({ status: 503, code: 5030, message });
}

function fakeClock(start = 1_000_000) {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}

const TTL = 60_000;

describe("createCachedRateProvider", () => {
  it("reuses an answer for ttlMs, then asks again", async () => {
    const clock = fakeClock();
    const upstream = createScriptedProvider();
    const rates = createCachedRateProvider({
      primary: upstream.provider,
      ttlMs: TTL,
      now: clock.now,
    });

    upstream.answerWith("32.5");
    expect((await rates.getRate("TWD", "USDT")).fiatPerToken).toBe("32.5");
    upstream.answerWith("33");
    clock.advance(TTL - 1);
    expect((await rates.getRate("TWD", "USDT")).fiatPerToken).toBe("32.5");
    expect(upstream.calls).toHaveLength(1);

    clock.advance(1);
    expect((await rates.getRate("TWD", "USDT")).fiatPerToken).toBe("33");
    expect(upstream.calls).toHaveLength(2);
  });

  it("caches each pair separately", async () => {
    const upstream = createScriptedProvider();
    upstream.answerWith("1");
    const rates = createCachedRateProvider({
      primary: upstream.provider,
      ttlMs: TTL,
      now: fakeClock().now,
    });
    await rates.getRate("TWD", "USDT");
    await rates.getRate("TWD", "USDC");
    await rates.getRate("USD", "USDT");
    await rates.getRate("TWD", "USDT");
    expect(upstream.calls.map((c) => `${c.fiat}/${c.token}`)).toEqual([
      "TWD/USDT",
      "TWD/USDC",
      "USD/USDT",
    ]);
  });

  it("serves the last rate while the primary fails, up to maxStaleMs old, then the fallback", async () => {
    const clock = fakeClock();
    const upstream = createScriptedProvider();
    const rates = createCachedRateProvider({
      primary: upstream.provider,
      fallback: createStaticRateProvider(),
      ttlMs: TTL,
      maxStaleMs: 10 * TTL,
      now: clock.now,
    });

    upstream.answerWith("32.1");
    await rates.getRate("TWD", "USDT");
    upstream.failWith("upstream down");

    clock.advance(10 * TTL - 1);
    expect(await rates.getRate("TWD", "USDT")).toMatchObject({
      fiatPerToken: "32.1",
      source: "upstream",
    });
    expect(upstream.calls).toHaveLength(2);

    clock.advance(1);
    expect(await rates.getRate("TWD", "USDT")).toMatchObject({
      fiatPerToken: "32.5",
      source: "static",
    });
    expect(upstream.calls).toHaveLength(3);
  });

  it("defaults maxStaleMs to one hour", async () => {
    const clock = fakeClock();
    const upstream = createScriptedProvider();
    const rates = createCachedRateProvider({
      primary: upstream.provider,
      fallback: createStaticRateProvider(),
      ttlMs: TTL,
      now: clock.now,
    });
    upstream.answerWith("32.1");
    await rates.getRate("TWD", "USDT");
    upstream.failWith("upstream down");
    clock.advance(DEFAULT_MAX_STALE_MS - 1);
    expect((await rates.getRate("TWD", "USDT")).source).toBe("upstream");
    clock.advance(1);
    expect((await rates.getRate("TWD", "USDT")).source).toBe("static");
    expect(DEFAULT_MAX_STALE_MS).toBe(3_600_000);
  });

  it("asks a failing primary at most once per ttlMs instead of on every quote", async () => {
    const clock = fakeClock();
    const upstream = createScriptedProvider();
    const rates = createCachedRateProvider({
      primary: upstream.provider,
      fallback: createStaticRateProvider(),
      ttlMs: TTL,
      now: clock.now,
    });
    upstream.failWith("upstream down");
    for (let i = 0; i < 5; i++) {
      expect((await rates.getRate("TWD", "USDT")).source).toBe("static");
      clock.advance(TTL / 10);
    }
    expect(upstream.calls).toHaveLength(1);

    clock.advance(TTL);
    upstream.answerWith("32.9");
    expect(await rates.getRate("TWD", "USDT")).toMatchObject({
      fiatPerToken: "32.9",
      source: "upstream",
    });
    expect(upstream.calls).toHaveLength(2);
  });

  it("also retries a failing primary once per ttlMs while serving a stale rate", async () => {
    const clock = fakeClock();
    const upstream = createScriptedProvider();
    const rates = createCachedRateProvider({
      primary: upstream.provider,
      ttlMs: TTL,
      now: clock.now,
    });
    upstream.answerWith("32.1");
    await rates.getRate("TWD", "USDT");
    upstream.failWith("upstream down");
    clock.advance(TTL);
    await rates.getRate("TWD", "USDT");
    clock.advance(TTL - 1);
    await rates.getRate("TWD", "USDT");
    expect(upstream.calls).toHaveLength(2);
    clock.advance(1);
    await rates.getRate("TWD", "USDT");
    expect(upstream.calls).toHaveLength(3);
  });

  it("rethrows the primary's error when there is no fallback and nothing young enough", async () => {
    const clock = fakeClock();
    const upstream = createScriptedProvider();
    const rates = createCachedRateProvider({
      primary: upstream.provider,
      ttlMs: TTL,
      now: clock.now,
    });
    upstream.failWith("upstream down");
    await expect(rates.getRate("TWD", "USDT")).rejects.toThrow("upstream down");

    // A failure is not remembered: the next call asks again and can succeed.
    upstream.answerWith("32.5");
    await expect(rates.getRate("TWD", "USDT")).resolves.toMatchObject({ fiatPerToken: "32.5" });
  });

  it("reports both failures when the fallback fails too", async () => {
    const primary = createScriptedProvider("primary");
    const fallback = createScriptedProvider("backup");
    primary.failWith("primary timed out");
    fallback.failWith("backup answered HTTP 500");
    const rates = createCachedRateProvider({
      primary: primary.provider,
      fallback: fallback.provider,
      ttlMs: TTL,
      now: fakeClock().now,
    });
    const error = await rates.getRate("TWD", "USDT").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ status: 503, code: 5030 });
    expect((error as DomainError).message).toBe(
      "no rate for TWD/USDT: primary timed out; fallback backup: backup answered HTTP 500",
    );
  });

  it("shares one in-flight request among concurrent callers of the same pair", async () => {
    const upstream = createScriptedProvider();
    const rates = createCachedRateProvider({
      primary: upstream.provider,
      ttlMs: TTL,
      now: fakeClock().now,
    });

    const waiting = Array.from({ length: 5 }, () => rates.getRate("TWD", "USDT"));
    const other = rates.getRate("USD", "USDT");
    expect(upstream.calls.map((c) => c.fiat)).toEqual(["TWD", "USD"]);

    upstream.calls[0]?.resolve(rate("TWD", "USDT", "32.5", "upstream"));
    upstream.calls[1]?.resolve(rate("USD", "USDT", "1", "upstream"));
    const answers = await Promise.all(waiting);
    expect(new Set(answers).size).toBe(1);
    expect(answers[0]?.fiatPerToken).toBe("32.5");
    expect((await other).fiatPerToken).toBe("1");
  });

  it("shares a failing in-flight request too, and asks afresh after it settles", async () => {
    const upstream = createScriptedProvider();
    const rates = createCachedRateProvider({
      primary: upstream.provider,
      ttlMs: TTL,
      now: fakeClock().now,
    });

    const waiting = Array.from({ length: 3 }, () =>
      rates.getRate("TWD", "USDT").catch((e: unknown) => e),
    );
    expect(upstream.calls).toHaveLength(1);
    upstream.calls[0]?.reject(unavailable("upstream down"));
    for (const outcome of await Promise.all(waiting)) {
      expect(outcome).toMatchObject({ message: "upstream down" });
    }

    const next = rates.getRate("TWD", "USDT");
    expect(upstream.calls).toHaveLength(2);
    upstream.calls[1]?.resolve(rate("TWD", "USDT", "32.5", "upstream"));
    await expect(next).resolves.toMatchObject({ fiatPerToken: "32.5" });
  });

  it("refuses negative durations", () => {
    const primary = createStaticRateProvider();
    expect(() => createCachedRateProvider({ primary, ttlMs: -1 })).toThrow(RangeError);
    expect(() => createCachedRateProvider({ primary, ttlMs: 1, maxStaleMs: Number.NaN })).toThrow(
      RangeError,
    );
  });
});
