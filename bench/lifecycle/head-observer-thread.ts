/**
 * The head observer's worker thread: asks anvil for eth_blockNumber every `intervalMs` and posts
 * each new block number with the time it was first seen. On a thread of its own, the main
 * thread's delays (the gateway, the bench's polling) do not move those times.
 */
import { performance } from "node:perf_hooks";
import { setTimeout as delay } from "node:timers/promises";
import { parentPort, workerData } from "node:worker_threads";
import { now } from "./clock.ts";
import { headNumber } from "./json-rpc.ts";

export interface HeadObserverData {
  rpcUrl: string;
  intervalMs: number;
}

export type HeadMessage = { type: "ready" } | { type: "block"; n: number; at: number };

const port = parentPort;
if (!port)
  throw new Error("head-observer-thread.ts runs in a worker thread (see head-observer.ts)");
const { rpcUrl, intervalMs } = workerData as HeadObserverData;
const post = (message: HeadMessage) => port.postMessage(message);
let last = -1;
let stopped = false;
port.on("message", () => {
  stopped = true;
});
while (!stopped) {
  const started = performance.now();
  try {
    const n = await headNumber(rpcUrl);
    const at = now();
    if (last < 0) {
      last = n;
      post({ type: "ready" });
    } else if (n > last) {
      for (let b = last + 1; b <= n; b++) post({ type: "block", n: b, at });
      last = n;
    }
  } catch {}
  const wait = intervalMs - (performance.now() - started);
  if (wait > 0) await delay(wait);
}
port.close();
