/**
 * The child process started by `startRpcCounter`: the testing JSON-RPC proxy in front of anvil
 * (argv[2]), counting calls per method, and, for PostgreSQL, the tracker of the gateway pool's
 * backends (its SQL runs there, not in the gateway's process).
 */
import { startJsonRpcProxy } from "../../packages/gateway/src/testing/json-rpc-proxy.ts";
import { createBackendCpuTracker } from "./backend-cpu-tracker.ts";
import {
  APP_NAME_ENV,
  type CounterMessage,
  type CounterRequest,
  type Counts,
  SERVER_URL_ENV,
} from "./rpc-counter.ts";

const counts: Counts = {};
const proxy = await startJsonRpcProxy({
  target: process.argv[2] ?? "",
  handler: (request, forward) => {
    let key = request.method;
    if (key === "eth_getLogs") {
      const filter = (request.params?.[0] ?? {}) as { blockHash?: string };
      key = filter.blockHash === undefined ? "eth_getLogs (range)" : "eth_getLogs (block hash)";
    }
    counts[key] = (counts[key] ?? 0) + 1;
    return forward();
  },
});
const serverUrl = process.env[SERVER_URL_ENV];
const appName = process.env[APP_NAME_ENV];
const tracker = serverUrl && appName ? createBackendCpuTracker(serverUrl, appName) : undefined;
const timer = tracker ? setInterval(() => void tracker.total().catch(() => {}), 500) : undefined;
await tracker?.total();
const send = (message: CounterMessage) => process.send?.(message);
process.on("message", (message: CounterRequest) => {
  if (message.type !== "snapshot") return;
  // Counts first: they are what the window is cut at; the server sample follows at once.
  const snapshot = { ...counts };
  void (tracker ? tracker.total() : Promise.resolve(undefined)).then(
    (serverCpuMs) => send({ type: "snapshot", id: message.id, counts: snapshot, serverCpuMs }),
    () => send({ type: "snapshot", id: message.id, counts: snapshot, serverCpuMs: undefined }),
  );
});
// The parent exiting (or stopping us) closes the channel: nothing else keeps this process.
process.on("disconnect", () => {
  clearInterval(timer);
  void Promise.allSettled([proxy.close(), tracker?.close()]).then(() => process.exit(0));
});
send({ type: "ready", url: proxy.url });
