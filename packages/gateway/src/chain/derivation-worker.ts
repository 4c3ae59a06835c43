import { parentPort, workerData } from "node:worker_threads";
import { createPublicDerivation, type PublicParent } from "./public-derivation.ts";

// The derivation thread's side (derivation-thread.ts): addresses for the indexes it is sent.
const derive = createPublicDerivation(workerData as PublicParent);
parentPort?.on("message", ({ id, indexes }: { id: number; indexes: number[] }) => {
  parentPort?.postMessage({ id, addresses: indexes.map((i) => derive(i) ?? null) });
});
parentPort?.postMessage("ready");
