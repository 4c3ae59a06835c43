import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";

/** JSON-RPC calls by method; eth_getLogs split into by-range and by-block-hash. */
export type Counts = Record<string, number>;

export interface CounterSnapshot {
  counts: Counts;
  /** Running total of the PostgreSQL backends' CPU (ms), when tracked and readable. */
  serverCpuMs: number | undefined;
}

/** What the proxy process and this side say to each other over the IPC channel. */
export type CounterRequest = { type: "snapshot"; id: number };
export type CounterMessage =
  | { type: "ready"; url: string }
  | ({ type: "snapshot"; id: number } & CounterSnapshot);

/** Where the proxy process reads the PostgreSQL server to track, when there is one. */
export const SERVER_URL_ENV = "BENCH_CHILD_SERVER_URL";
export const APP_NAME_ENV = "BENCH_CHILD_APP_NAME";

export interface RpcCounter {
  /** The proxy's URL: give it to the gateway instead of anvil's. */
  url: string;
  snapshot(): Promise<CounterSnapshot>;
  stop(): Promise<void>;
}

/**
 * Starts the counting JSON-RPC proxy in front of `target` (rpc-proxy-process.ts). Its own
 * process: the proxy's CPU must not count as the gateway's. With `server`, it also tracks the CPU
 * of the PostgreSQL backends of the gateway's pool.
 */
export async function startRpcCounter(
  target: string,
  server: { url: string; appName: string } | undefined,
): Promise<RpcCounter> {
  // The database URL goes by environment, not argv, where any password would show in `ps`.
  const child: ChildProcess = fork(
    fileURLToPath(new URL("./rpc-proxy-process.ts", import.meta.url)),
    [target],
    {
      execArgv: process.execArgv,
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      env: {
        ...process.env,
        ...(server ? { [SERVER_URL_ENV]: server.url, [APP_NAME_ENV]: server.appName } : {}),
      },
    },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let nextId = 0;
  const waiting = new Map<number, (snapshot: CounterSnapshot) => void>();
  const url = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`RPC proxy exited during startup (${code})`)));
    child.on("message", (m: CounterMessage) => {
      if (m.type === "ready") resolve(m.url);
      if (m.type === "snapshot")
        waiting.get(m.id)?.({ counts: m.counts, serverCpuMs: m.serverCpuMs });
    });
  });
  return {
    url,
    snapshot() {
      const id = nextId++;
      return new Promise<CounterSnapshot>((resolve) => {
        waiting.set(id, (snapshot) => {
          waiting.delete(id);
          resolve(snapshot);
        });
        child.send({ type: "snapshot", id } satisfies CounterRequest);
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.disconnect();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The calls made between two snapshots, methods not called left out. */
export function diffCounts(before: Counts, after: Counts): Counts {
  const out: Counts = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d > 0) out[k] = d;
  }
  return out;
}
