/**
 * Payment lifecycle against real anvil and the real gateway (its own chain watcher, ingest and
 * lifecycle services, HTTP API). Two parts, see docs/benchmarks.md:
 *
 * 1. Detection latency (latency-part.ts): intents created through the API, each paid exactly by
 *    an ERC-20 transfer on anvil (1 s blocks, 1 confirmation, a few payments per block), timed
 *    from the moment the block holding the payment was first observable to the moment GET shows
 *    `success`. Once per watcher polling interval in BENCH_POLL_MS.
 * 2. Cost per block with many open intents (scale-part.ts): pending intents seeded in bulk
 *    (1,000, 10,000, 100,000), the gateway's watcher reading anvil through a counting JSON-RPC
 *    proxy in a child process, a few seeded intents paid during the window. Reports RPC calls,
 *    gateway-process CPU and SQL statement time per processed block.
 *
 *   npm run bench:lifecycle                                   (PGlite in a temp dir)
 *   DATABASE_URL=postgres://... npm run bench:lifecycle       (PostgreSQL, schema bench_<random>)
 *   BENCH_PAYMENTS=100 BENCH_PER_BLOCK=4 BENCH_POLL_MS=250,100 \
 *   BENCH_SIZES=1000,10000,100000 BENCH_BLOCKS=30 npm run bench:lifecycle
 */
import { loadavg } from "node:os";
import { commandLine, printRunHeader } from "../report.ts";
import { runWithCleanups } from "../run-with-cleanups.ts";
import { runLatencyPart } from "./latency-part.ts";
import { runScalePart } from "./scale-part.ts";
import { setUpBench } from "./set-up-bench.ts";
import { ENV_KEYS, readSettings } from "./settings.ts";

const settings = readSettings();
const cmd = commandLine(ENV_KEYS);
const abort = new AbortController();

// Ctrl-C ends the run and still cleans up (drops the schema, stops anvil); a second one exits.
const onSigint = () => {
  if (abort.signal.aborted) process.exit(130);
  abort.abort(new Error("interrupted"));
};
process.on("SIGINT", onSigint);

const ok = await runWithCleanups(async (addCleanup) => {
  const bench = await setUpBench(settings, abort.signal, addCleanup);
  printRunHeader("Stablegate payment-lifecycle benchmark", cmd, bench.database.label, [
    `chain:       ${bench.anvilVersion}, a block every ${settings.blockTimeSeconds} s, 1 confirmation`,
  ]);
  if (settings.payments > 0) await runLatencyPart(bench);
  if (settings.sizes.length > 0) await runScalePart(bench);
  // The machine is shared: the load at the end says whether the run was disturbed.
  console.log(
    `load average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(", ")}`,
  );
});

process.removeListener("SIGINT", onSigint);
if (abort.signal.aborted) process.exitCode = 130;
else if (!ok) process.exitCode = 1;
