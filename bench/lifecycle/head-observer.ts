import { Worker } from "node:worker_threads";
import type { HeadMessage, HeadObserverData } from "./head-observer-thread.ts";

/** How often the head observer asks anvil for eth_blockNumber. */
export const HEAD_POLL_MS = 10;

export interface HeadObserver {
  /** When each block number was first seen (ms, see `now`). */
  seen: Map<number, number>;
  /** The time the newest block was first seen. */
  lastSeenAt(): number;
  stop(): Promise<void>;
}

/** Starts the observer (head-observer-thread.ts) and resolves once it has read the head. */
export async function startHeadObserver(rpcUrl: string): Promise<HeadObserver> {
  const worker = new Worker(new URL("./ts-worker.mjs", import.meta.url), {
    workerData: {
      module: new URL("./head-observer-thread.ts", import.meta.url).href,
      rpcUrl,
      intervalMs: HEAD_POLL_MS,
    } satisfies HeadObserverData & { module: string },
  });
  const seen = new Map<number, number>();
  let last = 0;
  let failure: Error | undefined;
  const exited = new Promise((resolve) => worker.once("exit", resolve));
  await new Promise<void>((resolve, reject) => {
    worker.on("message", (m: HeadMessage) => {
      if (m.type === "ready") resolve();
      else {
        seen.set(m.n, m.at);
        last = Math.max(last, m.at);
      }
    });
    // Failing later leaves blocks unseen, which stops the latency run; stop() then says why.
    worker.on("error", (err) => {
      failure = err;
      reject(err);
    });
    worker.once("exit", (code) =>
      reject(new Error(`head observer exited during startup (${code})`)),
    );
  });
  let stopping: Promise<void> | undefined;
  return {
    seen,
    lastSeenAt: () => last,
    stop() {
      stopping ??= (async () => {
        worker.postMessage("stop");
        const timer = setTimeout(() => void worker.terminate(), 2000);
        await exited;
        clearTimeout(timer);
        if (failure) throw failure;
      })();
      return stopping;
    },
  };
}
