import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createCallbackDelivery } from "./callback-delivery.ts";
import { createCallbackUrlGuard, type ResolvedAddress } from "./url-guard.ts";

interface Seen {
  server: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A receiver on one loopback address that records requests and the connections they came on. */
async function listen(
  name: string,
  host: string,
  port: number,
  seen: Seen[],
  answer: (res: http.ServerResponse) => void = (res) => res.end("ok"),
) {
  let connections = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      seen.push({ server: name, headers: req.headers, body: Buffer.concat(chunks) });
      answer(res);
    });
  });
  server.on("connection", () => {
    connections += 1;
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  opened.push(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
  };
}

const opened: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (opened.length > 0) await opened.pop()?.();
});

function delivery(resolve?: (host: string) => ResolvedAddress[], now?: () => Date) {
  const d = createCallbackDelivery({
    guard: createCallbackUrlGuard({
      allowedNetworks: ["127.0.0.0/8"],
      ...(resolve ? { resolve: async (host: string) => resolve(host) } : {}),
    }),
    timeoutMs: 5000,
    maxResponseBytes: 4096,
    ...(now ? { now } : {}),
  });
  opened.push(() => d.close());
  return d;
}

describe("callback delivery", () => {
  it("sends the exact body bytes and headers, and reuses one kept-alive connection", async () => {
    const seen: Seen[] = [];
    const receiver = await listen("a", "127.0.0.1", 0, seen);
    const d = delivery();
    const body = JSON.stringify({ note: "付款 ✓ \u00e9", n: 1 });
    const headers = { "content-type": "application/json", "x-stablegate-event-id": "evt_1" };
    for (let i = 0; i < 6; i++) {
      const result = await d.deliver({
        url: `http://127.0.0.1:${receiver.port}/cb?x=1`,
        body,
        headers,
      });
      expect(result).toMatchObject({ outcome: "delivered", httpStatus: 200, excerpt: "ok" });
    }
    expect(seen).toHaveLength(6);
    for (const s of seen) {
      expect(s.body.equals(Buffer.from(body, "utf8"))).toBe(true);
      expect(s.headers).toMatchObject({
        ...headers,
        "content-length": String(Buffer.byteLength(body)),
      });
    }
    // Without keep-alive this would be 6. undici's pool may open a second connection for a
    // request sent while the first connection is still being handed back.
    expect(receiver.connections()).toBeLessThanOrEqual(2);
  });

  it("connects to the address checked at each attempt, even with a connection kept alive to the last one", async () => {
    const seen: Seen[] = [];
    const a = await listen("a", "127.0.0.1", 0, seen);
    // Same port, another loopback address: only the address tells the two receivers apart.
    await listen("b", "127.0.0.2", a.port, seen);
    let answer = "127.0.0.1";
    const d = delivery(() => [{ address: answer, family: 4 }]);
    const post = () =>
      d.deliver({ url: `http://merchant.example:${a.port}/cb`, body: "{}", headers: {} });
    expect((await post()).outcome).toBe("delivered");
    answer = "127.0.0.2";
    expect((await post()).outcome).toBe("delivered");
    answer = "127.0.0.1";
    expect((await post()).outcome).toBe("delivered");
    expect(seen.map((s) => s.server)).toEqual(["a", "b", "a"]);
    expect(seen.map((s) => s.headers.host)).toEqual(Array(3).fill(`merchant.example:${a.port}`));
    // The first connection to a was kept and reused for the third attempt.
    expect(a.connections()).toBe(1);
  });

  it("reads Retry-After dates against the injected clock", async () => {
    const seen: Seen[] = [];
    const receiver = await listen("a", "127.0.0.1", 0, seen, (res) => {
      res.writeHead(503, { "retry-after": "Wed, 21 Oct 2015 07:28:00 GMT" });
      res.end("busy");
    });
    const d = delivery(undefined, () => new Date("2015-10-21T07:18:00Z"));
    const result = await d.deliver({
      url: `http://127.0.0.1:${receiver.port}/cb`,
      body: "{}",
      headers: {},
    });
    expect(result).toMatchObject({
      outcome: "retry",
      httpStatus: 503,
      error: "HTTP 503",
      excerpt: "busy",
      retryAfterMs: 600_000,
    });
  });

  it("sends a URL's user and password as Basic authorisation", async () => {
    const seen: Seen[] = [];
    const receiver = await listen("a", "127.0.0.1", 0, seen);
    const d = delivery();
    await d.deliver({
      url: `http://shop:p%40ss@127.0.0.1:${receiver.port}/cb`,
      body: "{}",
      headers: {},
    });
    expect(seen[0]?.headers.authorization).toBe(
      `Basic ${Buffer.from("shop:p@ss").toString("base64")}`,
    );
  });

  it("reports the gateway stopping when the stop signal ends a request on the wire", async () => {
    const seen: Seen[] = [];
    const receiver = await listen("a", "127.0.0.1", 0, seen, () => {});
    const d = delivery();
    const stop = new AbortController();
    const pending = d.deliver({
      url: `http://127.0.0.1:${receiver.port}/cb`,
      body: "{}",
      headers: {},
      signal: stop.signal,
    });
    await expect.poll(() => seen.length).toBe(1);
    stop.abort();
    expect(await pending).toMatchObject({
      outcome: "retry",
      httpStatus: null,
      error: "gateway stopping",
    });
  });
});
