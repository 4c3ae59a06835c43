import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { AddCleanup } from "../bench/run-with-cleanups.ts";
import { verifyWebhook } from "../packages/sdk/src/index.ts";

export type Answer = "ok" | "http_500" | "timeout" | "closed";

export interface Delivery {
  eventId: string;
  intentId: string;
  status: string;
  /** ms since the epoch, when the request's body had arrived. */
  at: number;
  answer: Answer;
  /** Why verifyWebhook refused it, or undefined when the signature held. */
  badSignature?: string;
}

export interface Receiver {
  url: string;
  deliveries: Delivery[];
  /** Requests whose answer is still to come (the timeouts hold theirs until the gateway gives up). */
  inFlight(): number;
  setSecret(secret: string): void;
}

/**
 * The merchant's callback server: fails the first attempt of a share of the events (HTTP 500, no
 * answer at all, or the connection closed), answers every later attempt 200, and records each
 * request with its signature checked. Failing only first attempts bounds the wait for the retry
 * schedule (30 s after the first failure) while still making every event's retry path run.
 */
export async function startReceiver(
  options: { failShare: number; random: () => number },
  addCleanup: AddCleanup,
): Promise<Receiver> {
  const deliveries: Delivery[] = [];
  const attempted = new Set<string>();
  const hanging = new Set<ServerResponse>();
  let secret = "";
  let inFlight = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    inFlight += 1;
    res.once("close", () => {
      inFlight -= 1;
      hanging.delete(res);
    });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    let badSignature: string | undefined;
    let payload: { event_id?: string; payment_intent_id?: string; status?: string } = {};
    try {
      payload = verifyWebhook(raw, req.headers["x-stablegate-signature"] as string, secret);
    } catch (error) {
      badSignature = (error as { reason?: string }).reason ?? String(error);
      try {
        payload = JSON.parse(raw);
      } catch {
        // Recorded as it is: the check reports the bad signature.
      }
    }
    const eventId = payload.event_id ?? String(req.headers["x-stablegate-event-id"] ?? "?");
    let answer: Answer = "ok";
    if (!attempted.has(eventId)) {
      attempted.add(eventId);
      const roll = options.random();
      if (roll < options.failShare / 3) answer = "http_500";
      else if (roll < (2 * options.failShare) / 3) answer = "timeout";
      else if (roll < options.failShare) answer = "closed";
    }
    deliveries.push({
      eventId,
      intentId: payload.payment_intent_id ?? "?",
      status: payload.status ?? "?",
      at: Date.now(),
      answer,
      badSignature,
    });
    if (answer === "ok") res.writeHead(200).end("ok");
    else if (answer === "http_500") res.writeHead(500).end("chaos says no");
    else if (answer === "closed") req.socket.destroy();
    else hanging.add(res); // never answered: the gateway's CALLBACK_TIMEOUT_MS ends it
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      console.error("receiver:", error);
      res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  addCleanup("stop callback receiver", async () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/callback`,
    deliveries,
    inFlight: () => inFlight,
    setSecret(s) {
      secret = s;
    },
  };
}
