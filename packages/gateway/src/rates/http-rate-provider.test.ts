import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIATS, quote } from "../payments/quote.ts";
import { DomainError } from "../platform/errors.ts";
import { createHttpRateProvider } from "./http-rate-provider.ts";

interface RecordedResponse {
  status: number;
  headers: Record<string, string>;
  delayMs?: number;
  bodyDelayMs?: number;
  body: unknown;
}

/** Serves fixtures/<name>.json at /<name>, as recorded; see fixtures/README.md. */
function startFixtureServer(): Promise<{
  server: Server;
  baseUrl: string;
  requests: IncomingMessage[];
}> {
  const requests: IncomingMessage[] = [];
  const server = createServer(async (request, response) => {
    requests.push(request);
    const name = (request.url ?? "/").slice(1);
    let recorded: RecordedResponse;
    try {
      const file = new URL(`./fixtures/${name}.json`, import.meta.url);
      recorded = JSON.parse(await readFile(file, "utf8")) as RecordedResponse;
    } catch {
      response.writeHead(404).end();
      return;
    }
    const body = typeof recorded.body === "string" ? recorded.body : JSON.stringify(recorded.body);
    const later = (ms: number | undefined, send: () => void) => {
      if (ms === undefined) return send();
      const timer = setTimeout(send, ms);
      response.on("close", () => clearTimeout(timer));
    };
    later(recorded.delayMs, () => {
      response.writeHead(recorded.status, recorded.headers);
      response.flushHeaders();
      later(recorded.bodyDelayMs, () => response.end(body));
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, baseUrl: `http://127.0.0.1:${port}`, requests });
    });
  });
}

async function rejection(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => {
      throw new Error("expected the rate to be unavailable");
    },
    (error: unknown) => error,
  );
  expect(error).toBeInstanceOf(DomainError);
  const domainError = error as DomainError;
  expect(domainError.status).toBe(503);
  expect(domainError.code).toBe(5030);
  return domainError;
}

let fixtures: Awaited<ReturnType<typeof startFixtureServer>>;
let host: string;

beforeAll(async () => {
  fixtures = await startFixtureServer();
  host = new URL(fixtures.baseUrl).host;
});

afterAll(async () => {
  fixtures.server.closeAllConnections();
  await new Promise((resolve) => fixtures.server.close(resolve));
});

const provider = (fixture: string, timeoutMs = 2000) =>
  createHttpRateProvider({
    url: `${fixtures.baseUrl}/${fixture}`,
    timeoutMs,
    now: () => new Date("2024-12-10T08:00:00Z"),
  });

describe("createHttpRateProvider", () => {
  it("reads fiat per token from an open.er-api.com document, taking stablecoins at 1 USD", async () => {
    const rates = provider("er-api-latest-usd");
    expect(rates.name).toBe(`http:${host}`);
    await expect(rates.getRate("TWD", "USDT")).resolves.toEqual({
      fiat: "TWD",
      token: "USDT",
      fiatPerToken: "32.4877",
      source: `http:${host}`,
      fetchedAt: new Date("2024-12-10T08:00:00Z"),
    });
    await expect(rates.getRate("USD", "USDC")).resolves.toMatchObject({ fiatPerToken: "1" });
  });

  it("reads every currency the API quotes from the recorded document, and quotes KRW and JPY from it", async () => {
    const recorded = JSON.parse(
      await readFile(new URL("./fixtures/er-api-latest-usd.json", import.meta.url), "utf8"),
    ) as { body: { rates: Record<string, number> } };
    const rates = provider("er-api-latest-usd");
    for (const fiat of FIATS) {
      const rate = await rates.getRate(fiat, "USDT");
      expect(rate.fiatPerToken, fiat).toBe(String(recorded.body.rates[fiat]));
    }
    expect((await rates.getRate("EUR", "USDC")).fiatPerToken).toBe("0.946441");
    const krw = await rates.getRate("KRW", "USDT");
    expect(
      quote({ fiatAmount: "50000", fiatCurrency: "KRW", rate: krw, tokenDecimals: 6 }),
    ).toMatchObject({ cryptoAmount: "35.03", rate: "1427.213855" });
    const jpy = await rates.getRate("JPY", "USDT");
    expect(
      quote({ fiatAmount: "1000", fiatCurrency: "JPY", rate: jpy, tokenDecimals: 6 }),
    ).toMatchObject({ cryptoAmount: "6.63", rate: "150.824126" });
  });

  it("asks for JSON and quotes the reference sample from the live document", async () => {
    const before = fixtures.requests.length;
    const rate = await provider("er-api-latest-usd").getRate("TWD", "USDT");
    expect(fixtures.requests[before]?.headers.accept).toBe("application/json");
    const q = quote({ fiatAmount: "300.0", fiatCurrency: "TWD", rate, tokenDecimals: 6 });
    expect(q).toMatchObject({ cryptoAmount: "9.23", rate: "32.4877", rateSource: `http:${host}` });
  });

  it("uses the fetch it is given", async () => {
    const seen: string[] = [];
    const rates = createHttpRateProvider({
      url: `${fixtures.baseUrl}/er-api-latest-usd`,
      timeoutMs: 2000,
      fetch: (input, init) => {
        seen.push(String(input));
        return fetch(input, init);
      },
    });
    await rates.getRate("TWD", "USDC");
    expect(seen).toEqual([`${fixtures.baseUrl}/er-api-latest-usd`]);
  });

  it("reports an HTTP error status", async () => {
    const error = await rejection(provider("er-api-http-500").getRate("TWD", "USDT"));
    expect(error.message).toBe(`rate provider ${host} answered HTTP 500`);
  });

  it("reports a body that is not JSON", async () => {
    const error = await rejection(provider("er-api-malformed").getRate("TWD", "USDT"));
    expect(error.message).toMatch(/not JSON/);
  });

  it("reports a document of the wrong shape, naming the field", async () => {
    const error = await rejection(provider("er-api-unexpected-shape").getRate("TWD", "USDT"));
    expect(error.message).toMatch(/unexpected document \(rates: /);
  });

  it("reports a missing currency, while other currencies of the same document still work", async () => {
    const rates = provider("er-api-missing-twd");
    const error = await rejection(rates.getRate("TWD", "USDT"));
    expect(error.message).toBe(`rate provider ${host} has no rate for TWD`);
    await expect(rates.getRate("USD", "USDT")).resolves.toMatchObject({ fiatPerToken: "1" });
  });

  it("reports an error the upstream itself reports", async () => {
    const error = await rejection(provider("er-api-error-result").getRate("TWD", "USDT"));
    expect(error.message).toMatch(/reported an error: quota-reached/);
  });

  it("refuses a document with a base other than USD rather than misreading it", async () => {
    const error = await rejection(provider("er-api-latest-eur").getRate("TWD", "USDT"));
    expect(error.message).toMatch(/quotes against EUR/);
  });

  it("gives up on slow headers after timeoutMs", async () => {
    const started = Date.now();
    const error = await rejection(provider("er-api-slow", 200).getRate("TWD", "USDT"));
    expect(error.message).toBe(`rate provider ${host} did not answer within 200 ms`);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("gives up on a slow body after timeoutMs", async () => {
    const started = Date.now();
    const error = await rejection(provider("er-api-slow-body", 200).getRate("TWD", "USDT"));
    expect(error.message).toBe(`rate provider ${host} did not answer within 200 ms`);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("reports an unreachable host", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));

    const rates = createHttpRateProvider({ url: `http://127.0.0.1:${port}/`, timeoutMs: 2000 });
    const error = await rejection(rates.getRate("TWD", "USDT"));
    expect(error.message).toMatch(/could not be reached: .*ECONNREFUSED/);
  });

  it("refuses a timeout that is not a positive number", () => {
    expect(() => createHttpRateProvider({ url: "http://localhost/", timeoutMs: 0 })).toThrow(
      RangeError,
    );
  });
});
