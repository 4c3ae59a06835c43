import type { Cluster } from "./processes.ts";

/** The API's envelope; `data`'s fields are read as the caller expects them. */
export interface ApiBody {
  code?: number;
  message?: string;
  data?: Record<string, string | number>;
}

export interface ApiAnswer {
  status: number;
  body: ApiBody;
  /** The process that answered. */
  node: string;
}

export interface ApiClient {
  /**
   * Sends a request to a random API process that is up. A connection that fails (the process was
   * killed) or an answer of 429 / 5xx is sent again, to whichever process is up then, until
   * `timeoutMs`; any other answer is returned.
   */
  request(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<ApiAnswer>;
  /** Requests sent again after a lost connection, a 429 or a 5xx. */
  retries: { connection: number; status: Record<number, number> };
}

export function createApiClient(
  cluster: Cluster,
  apiKey: string,
  random: () => number,
  timeoutMs = 300_000,
): ApiClient {
  const retries: ApiClient["retries"] = { connection: 0, status: {} };
  return {
    retries,
    async request(method, path, body, headers = {}) {
      const until = Date.now() + timeoutMs;
      let lastProblem = "no API process up";
      for (let attempt = 0; Date.now() < until; attempt++) {
        const nodes = cluster.apiNodes();
        const node = nodes[Math.floor(random() * nodes.length)];
        if (node) {
          try {
            const res = await fetch(`${node.url}${path}`, {
              method,
              headers: {
                "X-STUDIO-API-KEY": apiKey,
                ...(body === undefined ? {} : { "Content-Type": "application/json" }),
                ...headers,
              },
              body: body === undefined ? undefined : JSON.stringify(body),
              signal: AbortSignal.timeout(60_000),
            });
            const text = await res.text();
            let json: ApiBody;
            try {
              json = JSON.parse(text) as ApiBody;
            } catch {
              json = { message: text };
            }
            if (res.status !== 429 && res.status < 500)
              return { status: res.status, body: json, node: node.name };
            retries.status[res.status] = (retries.status[res.status] ?? 0) + 1;
            lastProblem = `${node.name} answered ${res.status}: ${text.slice(0, 200)}`;
          } catch (error) {
            retries.connection += 1;
            lastProblem = `${node.name}: ${(error as Error).message}`;
          }
        }
        // A backoff between tries, not a wait for an outcome: the loop ends on an answer.
        await new Promise((r) => setTimeout(r, Math.min(2_000, 100 * 2 ** Math.min(attempt, 5))));
      }
      throw new Error(`${method} ${path}: no answer within ${timeoutMs} ms (${lastProblem})`);
    },
  };
}
