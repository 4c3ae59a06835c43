import { fmt, table } from "../report.ts";
import { waitCaughtUp } from "./gateway-runner.ts";
import { HEAD_POLL_MS, startHeadObserver } from "./head-observer.ts";
import { API_POLL_MS, type LatencyResult, measureLatency } from "./measure-latency.ts";
import type { LifecycleBench } from "./set-up-bench.ts";
import { SANDBOX_POLL_MS } from "./settings.ts";

/** Payments made and thrown away before the first measured row. */
const WARMUP_PAYMENTS = 8;

/** Part 1: one detection-latency row per watcher polling interval, then the report. */
export async function runLatencyPart(bench: LifecycleBench): Promise<void> {
  const { settings, chain, runner, database, signal } = bench;
  const heads = await startHeadObserver(chain.rpcUrl);
  bench.addCleanup("stop head observer", () => heads.stop());
  const latency: LatencyResult[] = [];
  const rows: Array<{ pollMs: number; wsUrl?: string }> = settings.pollMs.map((pollMs) => ({
    pollMs,
  }));
  // anvil serves websockets on its HTTP port.
  if (settings.ws)
    rows.push({ pollMs: SANDBOX_POLL_MS, wsUrl: chain.rpcUrl.replace(/^http/, "ws") });
  for (const { pollMs, wsUrl } of rows) {
    process.stderr.write(
      `part 1: ${settings.payments} payments, watcher ${wsUrl ? "on new heads over websocket" : `polling every ${pollMs} ms`}...\n`,
    );
    const running = await runner.start(chain.rpcUrl, pollMs, wsUrl);
    await waitCaughtUp(database.db, chain.rpcUrl, signal);
    const run = (payments: number) =>
      measureLatency({
        running,
        db: database.db,
        chain,
        payer: bench.payer,
        heads,
        apiKey: bench.apiKey,
        settings,
        pollMs,
        ws: wsUrl !== undefined,
        payments,
        signal,
      });
    // The first payments of the process pay for JIT compilation of the whole path: not counted.
    if (latency.length === 0) await run(WARMUP_PAYMENTS);
    latency.push(await run(settings.payments));
    await runner.stop();
  }
  await heads.stop();
  printLatency(latency, bench);
}

function printLatency(latency: LatencyResult[], { settings }: LifecycleBench): void {
  const blockMs = settings.blockTimeSeconds * 1000;
  console.log(
    `Detection latency: ${settings.payments} exact payments per row, ${settings.perBlock} sent per block interval at random moments, 1 confirmation, a block every ${blockMs} ms (ms)`,
  );
  const rows = [
    [
      "watcher poll",
      "payments",
      "blocks",
      "max/block",
      "seen->GET p50",
      "p90",
      "p99",
      "max",
      "seen->commit p50",
      "p99",
      "sent->GET p50",
      "p99",
      "apply block",
      "apply other",
    ],
  ];
  for (const r of latency) {
    rows.push([
      r.ws ? "websocket" : `${r.pollMs} ms`,
      String(r.payments),
      String(r.blocks),
      String(r.maxPerBlock),
      fmt(r.seenToApi.p50),
      fmt(r.seenToApi.p90),
      fmt(r.seenToApi.p99),
      fmt(r.seenToApi.max),
      fmt(r.seenToCommit.p50),
      fmt(r.seenToCommit.p99),
      fmt(r.sentToApi.p50),
      fmt(r.sentToApi.p99),
      fmt(r.applyMs.block, 1),
      fmt(r.applyMs.other, 1),
    ]);
  }
  console.log(table(rows, 1));
  console.log(
    [
      `seen:   the block holding the payment first answered by eth_blockNumber (polled every ${HEAD_POLL_MS} ms in a worker thread)`,
      `GET:    the first GET /payment/intent/{id} answering success (each paid intent read every ${API_POLL_MS} ms once a block after its payment was seen)`,
      "commit: created_at of the success history row (the gateway's clock as it decided, inside the deciding transaction)",
      "sent:   eth_sendRawTransaction returned; includes the wait to be mined (up to one block interval)",
      "apply:  mean wall time of the watcher's ingest.applyAll per transaction: block = a block and the finalize it brings; other = any other batch",
      `floor:  seen->GET >= the wait for the watcher's next poll (0..poll interval); sent->GET >= the wait for the block (0..${blockMs} ms)`,
    ].join("\n"),
  );
  console.log("");
}
