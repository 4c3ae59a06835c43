import { Worker } from "node:worker_threads";
import type { Address } from "viem";
import type { PublicParent } from "./public-derivation.ts";

export interface DerivationThread {
  /** The addresses at `indexes`; null where public derivation cannot (BIP-32's invalid child). */
  derive(indexes: number[]): Promise<(Address | null)[]>;
  /** Loaded and taking work (it takes a second or two to start). */
  readonly ready: boolean;
  /** Ended: idle for a minute, closed, or failed (then `failure` says why). */
  readonly ended: boolean;
  readonly failure: Error | undefined;
  close(): Promise<void>;
}

/** A thread with nothing to derive for this long ends; the next busy batch starts another. */
const IDLE_MS = 60_000;

/**
 * Deposit-address derivation on a worker thread (derivation-worker.ts), which is given the
 * extended public key and nothing else. It ends after a minute without work and never keeps the
 * process alive.
 */
export function startDerivationThread(parent: PublicParent): DerivationThread {
  // The gateway runs its TypeScript through tsx (bin/stablegate.js); so does the thread, which
  // registers it before loading its module (a worker's --import does not reach its entry).
  const tsx = import.meta.resolve("tsx/esm/api");
  const entry = new URL("./derivation-worker.ts", import.meta.url).href;
  const worker = new Worker(
    `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`,
    { eval: true, workerData: { key: parent.key, chainCode: parent.chainCode } },
  );
  worker.unref();
  type Waiting = { resolve: (a: (Address | null)[]) => void; reject: (e: Error) => void };
  const waiting = new Map<number, Waiting>();
  let nextId = 0;
  let ready = false;
  let ended = false;
  let closing = false;
  let failure: Error | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  const end = (err: Error) => {
    ended = true;
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  worker.on("message", (m: "ready" | { id: number; addresses: (Address | null)[] }) => {
    if (m === "ready") {
      ready = true;
      return;
    }
    waiting.get(m.id)?.resolve(m.addresses);
    waiting.delete(m.id);
  });
  worker.on("error", (err) => {
    failure ??= err;
    end(err);
  });
  worker.on("exit", (code) => {
    const err = new Error(`derivation thread exited (code ${code})`);
    if (!closing) failure ??= err;
    end(err);
  });
  const close = async () => {
    clearTimeout(idleTimer);
    closing = true;
    await worker.terminate();
  };
  const idleFromNow = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => void close(), IDLE_MS).unref();
  };
  // Started and never asked (the burst that started it ended first): it ends all the same.
  idleFromNow();
  return {
    derive(indexes) {
      if (ended) return Promise.reject(failure ?? new Error("derivation thread ended"));
      idleFromNow();
      const id = nextId++;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        worker.postMessage({ id, indexes });
      });
    },
    get ready() {
      return ready && !ended;
    },
    get ended() {
      return ended;
    },
    get failure() {
      return failure;
    },
    close,
  };
}
