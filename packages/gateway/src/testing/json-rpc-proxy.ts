import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

export interface JsonRpcRequest {
  jsonrpc: "2.0";
  id: number | string | null;
  method: string;
  params?: unknown[];
}

export interface JsonRpcResponse {
  jsonrpc: "2.0";
  id: number | string | null;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

/** A bare HTTP failure instead of a JSON-RPC answer (e.g. a provider's 500 or 429). */
export interface HttpFailure {
  httpStatus: number;
  body?: string;
}

/**
 * Decides the answer to one request: call `forward()` for the target's answer (and change it if
 * you like), or answer yourself.
 */
export type ProxyHandler = (
  request: JsonRpcRequest,
  forward: () => Promise<JsonRpcResponse>,
) => Promise<JsonRpcResponse | HttpFailure>;

export interface JsonRpcProxy {
  url: string;
  /** Every request seen, in arrival order. */
  requests: JsonRpcRequest[];
  close(): Promise<void>;
}

/**
 * A real HTTP JSON-RPC endpoint in front of another (anvil), for behaviour no local node has:
 * providers' range limits, 5xx answers, rate limits.
 */
export async function startJsonRpcProxy(options: {
  target: string;
  handler?: ProxyHandler;
}): Promise<JsonRpcProxy> {
  const requests: JsonRpcRequest[] = [];
  const handler: ProxyHandler = options.handler ?? ((_, forward) => forward());

  const forwardOne = async (request: JsonRpcRequest): Promise<JsonRpcResponse> => {
    const response = await fetch(options.target, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(request),
    });
    return (await response.json()) as JsonRpcResponse;
  };

  const server = createServer((req, res) => {
    void (async () => {
      try {
        const body = JSON.parse(await readBody(req)) as JsonRpcRequest | JsonRpcRequest[];
        const batch = Array.isArray(body) ? body : [body];
        const answers: JsonRpcResponse[] = [];
        for (const request of batch) {
          requests.push(request);
          const answer = await handler(request, () => forwardOne(request));
          if ("httpStatus" in answer) {
            res.writeHead(answer.httpStatus, { "content-type": "text/plain" });
            res.end(answer.body ?? "proxy failure");
            return;
          }
          answers.push(answer);
        }
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(Array.isArray(body) ? answers : answers[0]));
      } catch (error) {
        res.writeHead(502, { "content-type": "text/plain" });
        res.end(`proxy error: ${(error as Error).message}`);
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
