// Entry of the bench's worker threads: on Node 20 a worker does not inherit the tsx loader the
// main thread runs under (privatenumber/tsx#354), so it registers tsx itself, then imports the
// TypeScript module named in workerData.module.
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
await import(workerData.module);
