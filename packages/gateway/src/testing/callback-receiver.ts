import http from "node:http";
import type { AddressInfo } from "node:net";
import { vi } from "vitest";

export interface ReceivedCallback {
  headers: http.IncomingHttpHeaders;
  rawBody: string;
  body: Record<string, unknown>;
  path: string;
}

export type Responder = (
  request: ReceivedCallback,
  index: number,
) => { status: number; body?: string; headers?: Record<string, string> } | "hang";

/**
 * A merchant's callback endpoint: a real HTTP server on 127.0.0.1 that records every request and
 * answers as the test says. It can go down and come back on the same port.
 */
export async function startCallbackReceiver(respond: Responder = () => ({ status: 200 })) {
  const received: ReceivedCallback[] = [];
  let responder = respond;
  const hanging = new Set<http.ServerResponse>();

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const rawBody = Buffer.concat(chunks).toString("utf8");
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(rawBody) as Record<string, unknown>;
      } catch {}
      const request = { headers: req.headers, rawBody, body, path: req.url ?? "/" };
      const index = received.push(request) - 1;
      const answer = responder(request, index);
      if (answer === "hang") {
        hanging.add(res);
        return;
      }
      res.writeHead(answer.status, answer.headers ?? { "content-type": "text/plain" });
      res.end(answer.body ?? "ok");
    });
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
  await listen(0);
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/callback`,
    port,
    received,
    respondWith(r: Responder) {
      responder = r;
    },
    /** Resolves once `count` requests have arrived (or throws after `timeoutMs`). */
    waitFor(count: number, timeoutMs = 15_000): Promise<ReceivedCallback[]> {
      return vi.waitFor(
        () => {
          if (received.length < count)
            throw new Error(`expected ${count} callbacks, got ${received.length}`);
          return received;
        },
        { timeout: timeoutMs, interval: 20 },
      );
    },
    /** Stops listening: connections are refused until up() is called. */
    async down() {
      for (const res of hanging) res.destroy();
      hanging.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    async up() {
      await listen(port);
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type CallbackReceiver = Awaited<ReturnType<typeof startCallbackReceiver>>;
