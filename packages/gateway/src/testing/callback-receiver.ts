import http from "node:http";
import net, { type AddressInfo } from "node:net";
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
  let holder: { release(): Promise<void> } | undefined;

  return {
    url: `http://127.0.0.1:${port}/callback`,
    port,
    received,
    respondWith(r: Responder) {
      responder = r;
    },
    /** Resolves once `count` requests have arrived (or throws after `timeoutMs`). */
    waitFor(count: number, timeoutMs = 60_000): Promise<ReceivedCallback[]> {
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
      holder = await holdPort(port);
    },
    async up() {
      await listen(port);
      await holder?.release();
      holder = undefined;
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await holder?.release();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type CallbackReceiver = Awaited<ReturnType<typeof startCallbackReceiver>>;

/**
 * Keeps a closed receiver's port from being taken while it is down. A freed port is soon handed
 * to another process's listener (bind to port 0 reuses recent ports), which would then answer the
 * gateway's callbacks in the receiver's place: seen as an HTTP 404 where the test expects a
 * refused connection. A socket bound to the port and connected elsewhere, not listening, still
 * has connections to the port refused, yet the kernel gives the port to no other bind(0); the
 * receiver's own listen (SO_REUSEADDR) is allowed beside it.
 */
async function holdPort(port: number): Promise<{ release(): Promise<void> }> {
  const accepted = new Set<net.Socket>();
  const anchor = net.createServer((socket) => {
    accepted.add(socket);
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => anchor.listen(0, "127.0.0.1", () => resolve()));
  const release = async () => {
    socket.destroy();
    for (const s of accepted) s.destroy();
    await new Promise<void>((resolve) => anchor.close(() => resolve()));
  };
  const socket = net.connect({
    host: "127.0.0.1",
    port: (anchor.address() as AddressInfo).port,
    localAddress: "127.0.0.1",
    localPort: port,
  });
  socket.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("error", (err) => void release().then(() => reject(err)));
  });
  return { release };
}
