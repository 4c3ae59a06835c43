import { randomBytes } from "node:crypto";
import { fmt, table } from "../report.ts";
import { now, sleep } from "./clock.ts";
import { measureScale, PAYMENTS_PER_PAYING_BLOCK, type ScaleResult } from "./measure-scale.ts";
import { RPC_CALIBRATION_CALLS, rpcClientCpu } from "./rpc-client-cpu.ts";
import { startRpcCounter } from "./rpc-counter.ts";
import { SEED_BATCH } from "./seed-intents.ts";
import type { LifecycleBench } from "./set-up-bench.ts";
import { SANDBOX_POLL_MS } from "./settings.ts";

/** What a run costs beside the windows, printed with the part-2 table as its references. */
interface References {
  /** CPU ms per second of the process with the gateway stopped, 4 samples of 1 s. */
  idle: number[];
  /** CPU ms of one call of each kind the watcher makes, through viem, alone. */
  perCall: { getBlock: number; getLogs: number };
}

/** Part 2: one window per size in BENCH_SIZES, then the report. */
export async function runScalePart(bench: LifecycleBench): Promise<void> {
  const { settings, chain } = bench;
  const counter = await startRpcCounter(chain.rpcUrl, bench.database.server);
  bench.addCleanup("stop RPC proxy", () => counter.stop());
  const scale: ScaleResult[] = [];
  const paidSeeds = new Set<number>();
  const salt = randomBytes(8).toString("hex");
  let seeded = 0;
  // What the process costs with the gateway stopped (timers, GC of earlier garbage): the
  // floor under the CPU column. Then the client side of the watcher's two kinds of call.
  const idle: number[] = [];
  for (let i = 0; i < 4; i++) {
    const before = process.cpuUsage();
    const started = now();
    await sleep(1000, bench.signal);
    const used = process.cpuUsage(before);
    idle.push((used.user + used.system) / (now() - started));
  }
  const perCall = await rpcClientCpu(chain);
  for (const open of settings.sizes) {
    process.stderr.write(`part 2: ${open} open intents, ${settings.blocks} blocks...\n`);
    scale.push(await measureScale(bench, { counter, open, seededSoFar: seeded, paidSeeds, salt }));
    seeded = Math.max(seeded, open);
  }
  printScale(scale, bench, { idle, perCall });
}

function printScale(scale: ScaleResult[], bench: LifecycleBench, refs: References): void {
  const { settings } = bench;
  const { kind } = bench.database.database;
  console.log(
    `Cost per processed block: watcher polling every ${SANDBOX_POLL_MS} ms through a counting JSON-RPC proxy (child process), ${settings.blocks}-block windows, ${PAYMENTS_PER_PAYING_BLOCK} seeded intents paid every second block`,
  );
  const methods = [...new Set(scale.flatMap((s) => Object.keys(s.calls)))].sort();
  const rows = [
    [
      "open intents",
      "seed s",
      "blocks",
      "RPC/block",
      ...methods.map((m) => m.replace(/^eth_/, "")),
      "CPU ms/block",
      "main thread",
      "GC pauses",
      "tx/block",
      "SQL/block",
      "SQL ms/block",
      "apply ms/block",
      "server CPU ms/block",
      "paid/credited",
    ],
  ];
  for (const s of scale) {
    const per = (n: number, digits = 1) => fmt(s.blocks > 0 ? n / s.blocks : Number.NaN, digits);
    const total = Object.values(s.calls).reduce((a, b) => a + b, 0);
    rows.push([
      s.open.toLocaleString("en-US"),
      fmt(s.seedSeconds, 1),
      `${s.blocks}/${s.blocksMined}`,
      per(total, 2),
      ...methods.map((m) => per(s.calls[m] ?? 0, 2)),
      per(s.cpuMs),
      s.mainThreadMs === undefined ? "n/a" : per(s.mainThreadMs),
      per(s.gcMs),
      per(s.transactions, 2),
      per(s.statements),
      per(s.statementMs),
      per(s.applyMs),
      s.serverCpuMs === undefined ? "n/a" : per(s.serverCpuMs),
      `${s.paid}/${s.credited}`,
    ]);
  }
  console.log(table(rows, 1));
  const { idle, perCall } = refs;
  console.log(
    [
      "blocks:      processed by the watcher in the window (its `block` events applied) / mined",
      "RPC/block:   every JSON-RPC call the gateway made in the window, per processed block",
      "CPU:         process.cpuUsage() of the whole gateway process (all threads): watcher, deadline",
      `             sweep, idle HTTP server${kind === "pglite" ? ", PGlite (runs in this process)" : ""}, and the bench's own timers and`,
      "             eth_sendRawTransaction calls (a few per window); not anvil, not the proxy.",
      "             main thread: the same for the main thread alone (/proc/self/task); GC pauses: the",
      "             main thread's garbage-collection pauses (PerformanceObserver 'gc'), part of it.",
      `             With the gateway stopped the process used ${fmt(Math.min(...idle), 1)}-${fmt(Math.max(...idle), 1)} ms of CPU per second (4 x 1 s).`,
      `             One call through viem as the watcher makes it, alone: eth_getBlockByNumber ${fmt(perCall.getBlock, 2)} ms,`,
      `             eth_getLogs by block hash ${fmt(perCall.getLogs, 2)} ms of CPU (${RPC_CALIBRATION_CALLS} calls each, straight to anvil).`,
      "SQL:         statements sent by the gateway (BEGIN and COMMIT included), and their summed wall",
      "             time from call to result",
      "apply:       wall time of the watcher's ingest.applyAll (one transaction per batch: a block and the finalize it brings); tx/block: those transactions per block",
      kind === "postgres"
        ? "server CPU:  CPU of the PostgreSQL backends serving the gateway's pool (/proc schedstat)"
        : "server CPU:  n/a: PGlite runs inside the gateway process, so it is part of CPU",
      `seeding:     INSERT ... SELECT from generate_series, ${SEED_BATCH.toLocaleString("en-US")} rows per statement, gateway stopped`,
    ].join("\n"),
  );
  const last = scale.at(-1);
  if (last && last.blocks > 0) printBreakdown(last);
}

/** The statements of the last window, per processed block, and their plans. */
function printBreakdown(last: ScaleResult): void {
  const short = (text: string) => (text.length > 72 ? `${text.slice(0, 69)}...` : text);
  console.log("");
  console.log(
    `SQL statements per processed block at ${last.open.toLocaleString("en-US")} open intents, most time first:`,
  );
  const rows = [["statement", "per block", "ms/block", "ms each"]];
  for (const e of last.breakdown) {
    rows.push([
      short(e.text),
      fmt(e.count / last.blocks, 2),
      fmt(e.ms / last.blocks, 2),
      fmt(e.ms / e.count, 2),
    ]);
  }
  console.log(table(rows, 1));
  console.log("");
  console.log("Their plans (EXPLAIN of the same statement with the parameters it last ran with):");
  for (const e of last.breakdown) {
    if (e.plan) console.log(`${short(e.text)}\n  ${e.plan}`);
  }
}
